// Ingest bench (issue 5, redone for issue 13): summary windows from simulated devices persisted and
// acked by the hub, for 100 and 1,000 devices. Each telemetry batch carries k = 10 windows (--batch K) shaped like
// the agent's example model (12 numeric features × 10 bins, latency histogram, one output); devices
// send R rounds (each round: every device one batch, all PUBACKed, at most 100 batches in flight) and
// keep unacked windows in an outbox that is resent after the agent's default 15 s (--resend-ms N:
// 2,000 makes duplicates reach the hub under load; their work then counts against the hub). The hub runs as it ships in a process of its own (hub-proc.ts) and the devices in two more
// (hub/bench/sims.ts), so the hub's CPU is read apart from theirs; windows/s counts from the first
// publish to the last window acked. Then the same with a second hub whose rollups update is off
// (server/hub.ts HubInternals, a bench switch): issue 11's rollups-on/off ratio of the whole path, by
// windows/s and by the hub process's CPU per window (--pairs N: N such pairs, alternating; with N > 1
// the mean of the pairs' ratios and its 95 % confidence interval, pair-stats.ts; the same for the CPU ratio to bare inserts).
// Baseline in the same run, in this process after each pair of hubs stopped: the hub's own TelemetryRepo storing
// the same windows (built beforehand) one device batch per transaction (putWindows, INSERT OR IGNORE,
// the same model version registered so rollups are updated as the hub updates them, same SQLite
// settings), no MQTT, no validation; and the same without rollups, the repository's rollups-on/off
// ratio. Exactly-once: device_windows rows afterwards must equal the windows sent; the hub with rollups
// off must have stored no rollup rows. The floor (docs/decisions/0055-the-floor-under-ingest.md): the
// least MQTT + JSON ingest (hub/bench/bare-ingest.ts) through the same phases in three stages (store,
// parse, receive), and the repository with the hub's grouping; each run prints the most any JSON over
// aedes ingest reaches against the bare repository: bare ÷ (the wire alone + grouped inserts).
// --external: also the hub as it ships behind a real Mosquitto (hub-cluster.ts), its CPU and Mosquitto's.
// Run: node --conditions=source --import tsx test/bench/ingest.bench.ts [--feedback] [--only 100|1000] [--resend-ms N] [--pairs N] [--batch K] [--features N] [--external]
// (HUB_BENCH_CPU_PROF=DIR writes the hub process's CPU profile there.)
import { loadavg } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Feature, Manifest, Reference, SeqWindow } from '@edgefleet/shared';
import { Store } from '../../hub/src/store/index.js';
import { HUB_MIGRATIONS } from '../../hub/src/schema.js';
import { TelemetryRepo } from '../../hub/src/store/telemetry-repo.js';
import { MAX_BATCH } from '../../hub/src/ingest/window-writer.js';
import { registerVersion } from '../../hub/src/rollups/testing.js';
import { Sims } from '../../hub/bench/sims.js';
import { Broker } from '../../hub/bench/broker-proc.js';
import type { BareIngestConfig } from '../../hub/bench/bare-ingest.js';
import { simWindow, type SimModel, type WindowShape } from '../src/sim/index.js';
import { fmt, until } from './fleet-setup.js';
import { HubProc } from './hub-proc.js';
import { HubCluster } from './hub-cluster.js';
import { formatPairStats, pairStats } from './pair-stats.js';

type Stage = NonNullable<BareIngestConfig['stage']>;
/** The floor's stages (bare-ingest.ts): the whole least ingest, then the wire alone with and without the parse. */
const STAGES: Stage[] = ['store', 'parse', 'receive'];

const LIMIT_MS = 120_000;
/** Batches awaiting their PUBACK at once over the fleet (the simulators' processes share it). */
const IN_FLIGHT = 100;
const SIM_PROCS = 2;
/** A numeric flag's value: a positive integer, or the run stops naming the flag and what it expected. */
const opt = (name: string): number | undefined => {
  const i = process.argv.indexOf(name);
  if (i < 0) return undefined;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} ${process.argv[i + 1] ?? '(nothing)'}: expected a positive integer`);
  return v;
};
const RESEND_MS = opt('--resend-ms') ?? 15_000;
/** --features N: numeric features a window (default 12, the example model's). --feedback: windows also carry label and confidence counts (docs/drift.md "Accuracy"), to compare with a run without. */
const SHAPE: WindowShape = { features: opt('--features') ?? 12, bins: 10, ...(process.argv.includes('--feedback') ? { feedback: true } : {}) };
/** --batch K: windows per telemetry message (default 10; the agent puts up to 50 in one, DEFAULT_OUTBOX); rounds scale by 10/K. */
const K = opt('--batch') ?? 10;
const ONLY = opt('--only');
if (ONLY !== undefined && ONLY !== 100 && ONLY !== 1000) throw new Error(`--only ${ONLY}: expected 100 or 1000 (the bench's device counts)`);
/** --pairs N: N hubs with rollups on and N with them off, alternating (default 1). */
const PAIRS = opt('--pairs') ?? 1;
const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

interface Rate { wallUs: number; cpuUs: number }

/**
 * µs of wall and CPU time per window of the hub's repository alone: the same batches, no MQTT, no
 * validation. `group` > 1: that many device batches per transaction (putWindowsMany, as the hub's
 * per-tick writer groups them, window-writer.ts) instead of one.
 */
function baseline(devices: number, rounds: number, model: SimModel, manifest: { features?: Feature[]; reference?: Reference }, rollups: boolean, group = 1): Rate {
  const dir = mkdtempSync(join(tmpdir(), 'ef-bench-ingest-'));
  const store = Store.open(dir, HUB_MIGRATIONS);
  try {
    registerVersion(store.db, model.name, model.version, manifest);
    const repo = new TelemetryRepo(store.db, rollups ? store.rollups : null, store.stored);
    const at = new Date();
    const batches: SeqWindow[][][] = Array.from({ length: rounds }, (_, r) => Array.from({ length: devices }, () => Array.from({ length: K }, (_x, i) => simWindow(r * K + i + 1, at, SHAPE, model))));
    const c0 = cpuMs();
    const t0 = performance.now();
    if (group > 1) {
      const all = batches.flatMap((round) => round.map((windows, d) => ({ deviceId: `dev-${d}`, windows })));
      for (let i = 0; i < all.length; i += group) repo.putWindowsMany(all.slice(i, i + group), at);
    } else {
      batches.forEach((round) => round.forEach((windows, d) => repo.putWindows(`dev-${d}`, windows, at)));
    }
    const n = devices * rounds * K;
    return { wallUs: ((performance.now() - t0) * 1000) / n, cpuUs: ((cpuMs() - c0) * 1000) / n };
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Phase {
  n: number; sent: number; ms: number; rate: number; hubCpuUs: number; resends: number; load: number;
  /** Mosquitto's CPU per window (the hub behind it, --external). */
  brokerCpuUs?: number;
}

/** Figures of one phase whose devices are connected: `cpuMs` is the server process's CPU time so far. */
async function drive(sims: Sims, n: number, rounds: number, cpuMs: () => Promise<number>, brokerMs: () => number = () => 0): Promise<{ phase: Phase; ok: boolean; pending: number }> {
  const load = loadavg()[0] ?? 0;
  const [c0, p0, b0] = [await cpuMs(), await sims.pending(), brokerMs()];
  const t0 = performance.now();
  let sent = 0;
  for (let r = 0; r < rounds; r++) sent += await sims.telemetry(K, SHAPE, IN_FLIGHT);
  const ok = await until(async () => (await sims.pending()).pending === 0, LIMIT_MS);
  const ms = performance.now() - t0;
  const [c1, p1, b1] = [await cpuMs(), await sims.pending(), brokerMs()];
  const phase = { n, sent, ms, rate: sent / (ms / 1000), hubCpuUs: ((c1 - c0) * 1000) / sent, resends: p1.resends - p0.resends, load, brokerCpuUs: ((b1 - b0) * 1000) / sent };
  return { phase, ok, pending: p1.pending };
}

/**
 * One hub (rollups on or off, server/hub.ts HubInternals) and its devices through the phases: every
 * phase's whole-path figures, and the exactly-once and quota checks into `failures`.
 */
async function runHub(rollups: boolean, phases: ReadonlyArray<{ n: number; rounds: number }>, failures: string[], external = false): Promise<{ phases: Phase[]; manifest: Manifest }> {
  // --external: the hub as it ships behind a real Mosquitto (hub-cluster.ts, one hub), Mosquitto's CPU read from /proc.
  const cluster = external ? await HubCluster.start(1000, 1) : null;
  const hub = cluster ? (cluster.hubs[0] as HubProc) : await HubProc.start(1000, { rollups });
  const brokerMs = () => cluster?.broker().cpuMs ?? 0;
  const mqttUrl = cluster ? cluster.mqtt : hub.mqtt;
  const sims = await Sims.start(SIM_PROCS);
  const out: Phase[] = [];
  const tag = external ? ' (hub behind Mosquitto)' : rollups ? '' : ' (hub with rollups off)';
  try {
    const manifest = hub.fx.bundles.v1.manifest;
    // Windows are about a version the hub assigned to every device: it stores nothing else (plausibility.ts).
    const model: SimModel = { name: manifest.name, version: manifest.version };
    await hub.api('POST', '/deployments', { model: model.name, version: model.version, target: { all: true }, reason: 'ingest bench' });
    let connected = 0;
    let total = 0;
    for (const { n, rounds } of phases) {
      const r0 = await sims.connect(mqttUrl, hub.devices.slice(connected, n), 100, { model, resendMs: RESEND_MS });
      if (r0.failed.length) throw new Error(`${r0.failed.length} devices failed to connect, first: ${r0.failed[0]?.id}: ${r0.failed[0]?.error}`);
      connected = n;
      const w0 = hub.windowsStored();
      const { phase, ok, pending } = await drive(sims, n, rounds, async () => (await hub.stats()).cpuMs, brokerMs);
      const [w1, sent] = [hub.windowsStored(), phase.sent];
      total += sent;
      if (!ok) failures.push(`N=${n}${tag}: ${pending} windows still unacked after ${LIMIT_MS / 1000} s`);
      if (w1 - w0 !== sent) failures.push(`N=${n}${tag}: ${w1 - w0} windows stored for ${sent} sent`);
      out.push(phase);
    }
    const stored = hub.windowsStored();
    console.log(`exactly once${tag}: ${fmt(stored)} windows stored for ${fmt(total)} sent (resends included above) — ${stored === total ? 'ok' : 'MISMATCH'}`);
    if (stored !== total) failures.push(`hub${tag} stored ${stored} windows, devices sent ${total}`);
    // The baseline must really have skipped the rollups, and the hub as it ships updated them.
    const rollupRows = hub.rollupRows();
    if (rollups ? rollupRows === 0 : rollupRows !== 0) failures.push(`hub${tag} has ${rollupRows} rollup rows`);
    // Honest devices must stay inside the default per-device MQTT quotas (hub/src/mqtt/quota.ts).
    const quota = (await hub.metrics()).split('\n').filter((l) => l.startsWith('edgefleet_mqtt_quota_exceeded_total{'));
    console.log(`MQTT quotas (defaults)${tag}: ${quota.length ? quota.join(', ') : 'no device throttled or disconnected'}`);
    if (quota.some((l) => l.includes('action="disconnect"'))) failures.push(`an honest simulated device was disconnected by the default MQTT quotas${tag}`);
    await sims.drop();
    return { phases: out, manifest };
  } finally {
    sims.stop();
    await (cluster ? cluster.stop() : hub.stop());
  }
}

/**
 * The floor (hub/bench/bare-ingest.ts): a bare aedes + JSON.parse + the repository's putWindows per
 * message + a QoS 0 ack, in a process of its own, driven by the same simulated devices through the same
 * phases. What any MQTT + JSON ingest of these windows pays on this machine besides the inserts.
 */
async function runBareIngest(stage: Stage, phases: ReadonlyArray<{ n: number; rounds: number }>, manifest: Manifest, failures: string[]): Promise<Phase[]> {
  const model: SimModel = { name: manifest.name, version: manifest.version };
  const broker = await Broker.start('ingest', { model, manifest: { features: manifest.features, reference: manifest.reference }, stage } satisfies BareIngestConfig);
  const sims = await Sims.start(SIM_PROCS);
  const devices = Array.from({ length: Math.max(...phases.map((p) => p.n)) }, (_, i) => ({ id: `dev-${String(i).padStart(5, '0')}`, secret: 'bare' }));
  const out: Phase[] = [];
  try {
    let connected = 0;
    for (const { n, rounds } of phases) {
      const r0 = await sims.connect(broker.ready.mqtt, devices.slice(connected, n), 100, { model, resendMs: RESEND_MS });
      if (r0.failed.length) throw new Error(`${r0.failed.length} devices failed to connect to the bare ingest server, first: ${r0.failed[0]?.id}: ${r0.failed[0]?.error}`);
      connected = n;
      const t0 = await broker.telemetry();
      const { phase, ok, pending } = await drive(sims, n, rounds, async () => (await broker.stats()).cpuMs);
      const taken = (await broker.telemetry()) - t0;
      if (!ok) failures.push(`N=${n} (bare ingest, ${stage}): ${pending} windows still unacked after ${LIMIT_MS / 1000} s`);
      // A resend is taken again (INSERT OR IGNORE stores no second row), so only fewer than sent is wrong.
      if (taken < phase.sent) failures.push(`N=${n} (bare ingest, ${stage}): ${taken} windows taken for ${phase.sent} sent`);
      out.push(phase);
    }
    await sims.drop();
    return out;
  } finally {
    sims.stop();
    await broker.stop();
  }
}

async function main(): Promise<void> {
  const failures: string[] = [];
  const phases = [{ n: 100, rounds: 20 }, { n: 1000, rounds: 4 }].filter((r) => ONLY === undefined || r.n === ONLY).map((p) => ({ ...p, rounds: Math.max(1, Math.round((p.rounds * 10) / K)) }));
  const bytes = JSON.stringify(simWindow(1, new Date(), SHAPE)).length;
  console.log(`ingest bench: the hub in its own process, devices in ${SIM_PROCS} more; batches of ${K} windows (${SHAPE.features} features × ${SHAPE.bins} bins, ~${fmt(bytes)} bytes each), at most ${IN_FLIGHT} batches in flight; the hub as it ships, then a hub with rollups off (the rollups-on/off baseline, docs/performance.md)`);
  // The hubs: as it ships (rollups on), then the baseline without rollups; --pairs N repeats the pair.
  const on: Phase[][] = [];
  const off: Phase[][] = [];
  // The bare repository (rollups on) is measured in this process after each pair, its hubs stopped: each hub as it
  // ships is read against the repository measured next to it, and with --pairs N the CPU ratio's mean and interval.
  const bares: Rate[][] = [];
  let manifest: Manifest | undefined;
  for (let i = 0; i < PAIRS; i++) {
    const r = await runHub(true, phases, failures);
    manifest = r.manifest;
    on.push(r.phases);
    off.push((await runHub(false, phases, failures)).phases);
    const m: SimModel = { name: r.manifest.name, version: r.manifest.version };
    if (i === 0) baseline(50, 2, m, r.manifest, true); // warm-up: statements prepared, JIT (not counted)
    bares.push(phases.map(({ n, rounds }) => baseline(n, rounds, m, r.manifest, true)));
  }
  if (!manifest) return;
  const floors: Phase[][] = [];
  for (const stage of STAGES) floors.push(await runBareIngest(stage, phases, manifest, failures));
  const behind = process.argv.includes('--external') ? (await runHub(true, phases, failures, true)).phases : null;
  // The bare repository in this process (no hub running any more), with and without rollups.
  const v = manifest;
  const model: SimModel = { name: v.name, version: v.version };
  console.log('     N | windows | persisted+acked | windows/s | hub CPU/window | resends | bare repo windows/s | CPU/window | wall ratio | CPU ratio | bare without rollups: CPU/window, rollups on/off');
  phases.forEach(({ n, rounds }, k) => {
    const pairBares = bares.map((b) => b[k] as Rate);
    const bare = [...pairBares].sort((a, b) => a.cpuUs - b.cpuUs)[pairBares.length >> 1] as Rate; // the median, for the lines below the table
    const plain = baseline(n, rounds, model, v, false);
    const grouped = baseline(n, rounds, model, v, true, MAX_BATCH / K);
    for (const [i, p] of on.map((x) => x[k] as Phase).entries()) {
      const own = pairBares[i] as Rate; // the repository measured after this pair
      console.log(
        `${fmt(n).padStart(6)} | ${fmt(p.sent).padStart(7)} | ${`${fmt(p.ms / 1000, 2)} s`.padStart(15)} | ${fmt(p.rate).padStart(9)} | ${`${fmt(p.hubCpuUs, 1)} µs`.padStart(14)} | ${fmt(p.resends).padStart(7)} | ` +
          `${fmt(1e6 / own.wallUs).padStart(19)} | ${`${fmt(own.cpuUs, 1)} µs`.padStart(10)} | ${(p.rate / (1e6 / own.wallUs)).toFixed(2).padStart(10)} | ${(own.cpuUs / p.hubCpuUs).toFixed(2).padStart(9)} | ` +
          `${fmt(plain.cpuUs, 1)} µs, ${(plain.cpuUs / bare.cpuUs).toFixed(2)}x   (load ${p.load.toFixed(1)})`,
      );
    }
    // The floor: the least MQTT + JSON ingest (bare-ingest.ts) against the repository, and the hub against it.
    const hub = on[0]?.[k] as Phase;
    const wire = floors[STAGES.indexOf('parse')]?.[k] as Phase;
    console.log(
      `${fmt(n).padStart(6)} | bare repository, ${MAX_BATCH / K} device batches a transaction as the hub groups them: ${fmt(grouped.cpuUs, 1)} µs CPU/window; ` +
        `so the most any ingest that takes these windows as JSON over aedes reaches here: bare ÷ (wire alone + grouped inserts) = ${fmt(bare.cpuUs, 1)} ÷ (${fmt(wire.hubCpuUs, 1)} + ${fmt(grouped.cpuUs, 1)}) = ${(bare.cpuUs / (wire.hubCpuUs + grouped.cpuUs)).toFixed(2)}x`,
    );
    STAGES.forEach((stage, i) => {
      const f = floors[i]?.[k] as Phase;
      const what = { store: 'aedes + JSON.parse + putWindows per message + ack', parse: 'the wire alone: aedes + JSON.parse + ack, no insert', receive: 'aedes + ack, no parse, no insert' }[stage];
      console.log(
        `${fmt(n).padStart(6)} | bare MQTT ingest, ${stage} (${what}): ${fmt(f.rate)} windows/s, ${fmt(f.hubCpuUs, 1)} µs CPU/window = ${(f.hubCpuUs / bare.cpuUs).toFixed(2)}x the bare repository's CPU; ` +
          `the hub ÷ this: ${(f.hubCpuUs / hub.hubCpuUs).toFixed(2)}x by CPU, ${(hub.rate / f.rate).toFixed(2)}x by windows/s   (load ${f.load.toFixed(1)})`,
      );
    });
    // What the hub does past the network: were aedes, the socket and the ack free, the hub would read this.
    const receive = floors[STAGES.indexOf('receive')]?.[k] as Phase;
    const past = hub.hubCpuUs - receive.hubCpuUs;
    console.log(
      `${fmt(n).padStart(6)} | the hub past the network (its CPU less the receive stage's): ${fmt(past, 1)} µs/window; ` +
        `were the broker, the socket and the ack free, bare ÷ that = ${(bare.cpuUs / past).toFixed(2)}x`,
    );
    const x = behind?.[k];
    if (x) {
      const both = x.hubCpuUs + (x.brokerCpuUs ?? 0);
      console.log(
        `${fmt(n).padStart(6)} | the hub behind Mosquitto (--external): ${fmt(x.rate)} windows/s (${(x.rate / (1e6 / bare.wallUs)).toFixed(2)}x of bare by wall), hub CPU ${fmt(x.hubCpuUs, 1)} µs/window (${(bare.cpuUs / x.hubCpuUs).toFixed(2)}x), ` +
          `Mosquitto ${fmt(x.brokerCpuUs ?? 0, 1)} µs, the two ${fmt(both, 1)} µs (${(bare.cpuUs / both).toFixed(2)}x)   (load ${x.load.toFixed(1)})`,
      );
    }
    // Issue 11: ingest with rollups on >= 0.9x of without, the whole path (hub process) beside the repository's.
    for (let i = 0; i < PAIRS; i++) {
      const [a, b] = [on[i]?.[k] as Phase, off[i]?.[k] as Phase];
      console.log(
        `${fmt(n).padStart(6)} | rollups on/off, whole path: ${fmt(a.rate)} / ${fmt(b.rate)} windows/s = ${(a.rate / b.rate).toFixed(2)}x; hub CPU ${fmt(a.hubCpuUs, 1)} / ${fmt(b.hubCpuUs, 1)} µs per window = ${(b.hubCpuUs / a.hubCpuUs).toFixed(2)}x ` +
          `(rollups ${fmt(a.hubCpuUs - b.hubCpuUs, 1)} µs); repository: ${(plain.cpuUs / bare.cpuUs).toFixed(2)}x by CPU   (load ${a.load.toFixed(1)}, ${b.load.toFixed(1)})`,
      );
    }
  });
  // One pair is inside the noise: issue 11's target is read from the mean over the pairs (pair-stats.ts).
  if (PAIRS > 1) {
    const ratios = (by: 'rate' | 'cpu', k?: number) => phases.flatMap((_p, j) => (k === undefined || j === k ? on.map((x, i) => {
      const [a, b] = [x[j] as Phase, off[i]?.[j] as Phase];
      return by === 'rate' ? a.rate / b.rate : b.hubCpuUs / a.hubCpuUs;
    }) : []));
    const groups = [...phases.map((p, k) => ({ label: fmt(p.n), k })), ...(phases.length > 1 ? [{ label: 'all', k: undefined }] : [])];
    for (const { label, k } of groups) {
      const cpu = phases.flatMap((_p, j) => (k === undefined || j === k ? on.map((x, i) => (bares[i]?.[j] as Rate).cpuUs / (x[j] as Phase).hubCpuUs) : []));
      console.log(`${label.padStart(6)} | CPU ratio over the pairs (each hub against the bare repository measured after it; target >= 0.8x): ${formatPairStats(pairStats(cpu))}`);
      console.log(`${label.padStart(6)} | rollups on/off over the pairs, by windows/s: ${formatPairStats(pairStats(ratios('rate', k)))}; by hub CPU: ${formatPairStats(pairStats(ratios('cpu', k)))}`);
    }
  }
  console.log('wall ratio = hub windows/s ÷ bare windows/s; CPU ratio = bare CPU per window ÷ the hub process\'s CPU per window (target >= 0.8x); rollups on/off = the hub as it ships ÷ the hub with rollups off, by windows/s and by hub CPU per window (target >= 0.9x); the load average is the box\'s (2 cores, shared)');
  if (failures.length) {
    console.error(`ingest bench FAILED:\n  ${failures.join('\n  ')}`);
    process.exitCode = 1;
  }
}

await main();
