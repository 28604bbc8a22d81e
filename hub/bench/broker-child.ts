// The broker under test for hub/bench/broker.bench.ts, in its own process so its memory is not
// mixed with the simulated devices': either the hub as it ships (server/hub.ts: the real Store on a
// data dir, device secrets checked by DevicesRepo, ACL, validation, telemetry persisted and acked)
// or a bare aedes broker with no hooks counting telemetry (for the storm, with the hub's retained index),
// or the bare MQTT ingest server of bare-ingest.ts (`ingest`: its `telemetry` counts windows stored). Talks to the bench over IPC: `ready` once
// listening, `stats` (memory after a GC, CPU time, telemetry received, event-loop delay since the last `loop`
// reset), `count` (telemetry only, no GC), `stop` (graceful; the storm phase kills it instead).
// Run by the bench: node --conditions=source --import tsx --expose-gc hub/bench/broker-child.ts KIND [CONFIG_JSON [INTERNALS_JSON]]
import net from 'node:net';
import { once } from 'node:events';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import inspector from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { Aedes } from 'aedes';
import { HubConfig } from '../src/config.js';
import { Hub, type HubInternals } from '../src/server/hub.js';
import { noopLogger } from '../src/mqtt/ports.js';
import { LISTEN_BACKLOG } from '../src/mqtt/embedded.js';
import { indexRetained, type RetainedPersistence } from '../src/mqtt/retained.js';
import { startBareIngest, type BareIngestConfig } from './bare-ingest.js';

export type ChildMsg =
  | { t: 'ready'; mqtt: string; http: string | null; adminToken: string | null; startMs: number }
  | { t: 'stats'; rss: number; heap: number; heapTotal: number; external: number; cpuMs: number; telemetry: number; loopMaxMs: number; loopP99Ms: number; loopMaxCpuMs: number }
  | { t: 'count'; telemetry: number }
  | { t: 'stopped' };
export type ParentMsg = { t: 'stats' } | { t: 'count' } | { t: 'loop' } | { t: 'stop' };

const kind = process.argv[2];
const t0 = performance.now();
const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();
/**
 * The most CPU the process spent between two turns of a 5 ms timer: the longest stall in CPU time, which
 * a loaded box does not stretch as it does the wall time (a process waiting for a core is not running).
 */
let loopMaxCpuMs = 0;
let lastCpu = process.cpuUsage();
setInterval(() => {
  const d = process.cpuUsage(lastCpu);
  lastCpu = process.cpuUsage();
  loopMaxCpuMs = Math.max(loopMaxCpuMs, (d.user + d.system) / 1000);
}, 5).unref();
let telemetry = 0;
/** What `stats` and `count` report as telemetry: messages received (bare), windows stored (ingest). */
let counted = () => telemetry;
let snapshots = 0;
let spaceReads = 0;
let stop: () => Promise<void>;
let ready: Omit<Extract<ChildMsg, { t: 'ready' }>, 't' | 'startMs'>;

if (kind === 'hub') {
  const cfg = HubConfig.parse(JSON.parse(process.argv[3] ?? '{}'));
  // INTERNALS_JSON (optional): the hub's bench switches (server/hub.ts HubInternals), e.g. {"rollups": false}.
  const hub = new Hub(cfg, noopLogger, { now: () => new Date() }, JSON.parse(process.argv[4] ?? '{}') as HubInternals);
  const addrs = await hub.start();
  stop = () => hub.stop();
  ready = { mqtt: addrs.mqtt, http: addrs.http, adminToken: hub.newAdminToken };
} else if (kind === 'bare') {
  const b = await Aedes.createBroker();
  const bareCfg = JSON.parse(process.argv[3] ?? '{}') as { mqttPort?: number; indexRetained?: boolean };
  // {"indexRetained": true}: retained messages looked up by exact topic, as the hub's broker does (retained.ts),
  // so a storm baseline is not dominated by aedes scanning every retained message per SUBSCRIBE.
  if (bareCfg.indexRetained) indexRetained((b as unknown as { persistence: RetainedPersistence }).persistence);
  const server = net.createServer(b.handle);
  // The storm restarts it on the port it had (CONFIG_JSON {"mqttPort": n}); the backlog is the hub's (embedded.ts).
  server.listen({ port: bareCfg.mqttPort ?? 0, host: '127.0.0.1', backlog: LISTEN_BACKLOG });
  await once(server, 'listening');
  await new Promise<void>((r) => b.subscribe('ef/v1/d/+/telemetry', (_p, cb) => { telemetry++; cb(); }, r));
  stop = async () => {
    await new Promise<void>((r) => b.close(() => r()));
    await new Promise<void>((r) => server.close(() => r()));
  };
  ready = { mqtt: `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`, http: null, adminToken: null };
} else if (kind === 'ingest') {
  // CONFIG_JSON: BareIngestConfig (the model version the windows are about and its manifest).
  const ingest = await startBareIngest(JSON.parse(process.argv[3] ?? '{}') as BareIngestConfig);
  counted = () => ingest.windows();
  stop = () => ingest.stop();
  ready = { mqtt: ingest.url, http: null, adminToken: null };
} else {
  throw new Error(`broker-child: expected "hub", "bare" or "ingest", got ${String(kind)}`);
}

const send = (m: ChildMsg) => process.send?.(m);
// BROKER_BENCH_ALLOC_PROF=DIR (analysis only): V8's sampling heap profiler, garbage included, from the
// first stats read to the third (a measure phase's before and after the connects), written as DIR/KIND-PID.heapprofile.
const session = process.env.BROKER_BENCH_ALLOC_PROF ? new inspector.Session() : null;
let statsReads = 0;
function allocProfile(): void {
  if (!session) return;
  statsReads++;
  if (statsReads === 1) {
    session.connect();
    session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  } else if (statsReads === 3) {
    session.post('HeapProfiler.stopSampling', (err, r) => {
      if (!err) writeFileSync(join(process.env.BROKER_BENCH_ALLOC_PROF as string, `${kind}-${process.pid}.heapprofile`), JSON.stringify(r.profile));
    });
  }
}
process.on('message', (m: ParentMsg) => {
  if (m.t === 'loop') {
    loop.reset();
    loopMaxCpuMs = 0;
  } else if (m.t === 'count') {
    send({ t: 'count', telemetry: counted() });
  } else if (m.t === 'stats') {
    allocProfile();
    const cpu = process.cpuUsage(); // before the GC below, which is the bench's doing
    (globalThis as { gc?: () => void }).gc?.();
    // BROKER_BENCH_HEAP_SNAPSHOT=DIR: a heap snapshot after each stats GC (analysis only; slow at 10,000 devices).
    if (process.env.BROKER_BENCH_HEAP_SNAPSHOT) writeHeapSnapshot(join(process.env.BROKER_BENCH_HEAP_SNAPSHOT, `${kind}-${process.pid}-${++snapshots}.heapsnapshot`));
    const mem = process.memoryUsage();
    // BROKER_BENCH_HEAP_SPACES=1: each V8 heap space's used and committed bytes on stderr after each stats GC (analysis only).
    if (process.env.BROKER_BENCH_HEAP_SPACES) process.stderr.write(`${kind} ${++spaceReads} rss=${mem.rss} ${getHeapSpaceStatistics().filter((x) => x.space_size > 0).map((x) => `${x.space_name}=${x.space_used_size}/${x.space_size}`).join(' ')}\n`);
    send({ t: 'stats', rss: mem.rss, heap: mem.heapUsed, heapTotal: mem.heapTotal, external: mem.external, cpuMs: (cpu.user + cpu.system) / 1000, telemetry: counted(), loopMaxMs: loop.max / 1e6, loopP99Ms: loop.percentile(99) / 1e6, loopMaxCpuMs });
  } else if (m.t === 'stop') {
    const deadline = setTimeout(() => process.exit(1), 10_000);
    stop().then(() => { clearTimeout(deadline); send({ t: 'stopped' }); process.exit(0); }, () => process.exit(1));
  }
});
process.on('disconnect', () => process.exit(0));
send({ t: 'ready', ...ready, startMs: performance.now() - t0 });
