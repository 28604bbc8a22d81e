// Broker benchmark (issue 4): for N = 1,000 and 5,000 simulated devices, the hub's
// embedded broker (auth + ACL + schema validation) next to a bare aedes broker with
// no hooks, measured in the same run: connect rate (devices/s including auth),
// steady broker memory per connected device, and messages/s ingested (validated).
// The broker runs in a child process so its memory is not mixed with the clients'.
// Run: node --conditions=source --import tsx hub/bench/broker.bench.ts [N...]
import { fork, type ChildProcess } from 'node:child_process';
import { createHash, timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Aedes } from 'aedes';
import { FleetSimulator } from '../../test/src/sim/index.js';
import { createEmbeddedBroker } from '../src/mqtt/embedded.js';
import { noopLogger, noopMetrics, type AuthResult } from '../src/mqtt/ports.js';

type Kind = 'hub' | 'bare';
type Msg = { t: 'ready'; port: number } | { t: 'stats'; rss: number; heap: number; ingested: number };
const devicesFor = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `bench-${i}`, secret: `secret-${i}-abcdefgh` }));

async function child(kind: Kind, n: number): Promise<void> {
  let ingested = 0;
  let port: number;
  if (kind === 'hub') {
    // Secrets held as sha256 and compared in constant time, like the devices repository.
    const hashes = new Map(devicesFor(n).map((d) => [d.id, createHash('sha256').update(d.secret).digest()]));
    const link = createEmbeddedBroker({
      tcpPort: 0, host: '127.0.0.1', maxPayloadBytes: 256 * 1024, connectRateLimit: { perAddressPerMinute: 1_000_000 },
      devices: {
        authenticate: (id, secret): Promise<AuthResult> => {
          const h = hashes.get(id);
          if (!h) return Promise.resolve('unknown');
          return Promise.resolve(timingSafeEqual(h, createHash('sha256').update(secret).digest()) ? 'ok' : 'bad_secret');
        },
        markSeen: () => {},
      },
      metrics: noopMetrics, logger: noopLogger, clock: { now: () => new Date() },
    });
    link.on('telemetry', () => { ingested++; });
    await link.start();
    port = Number(new URL(link.address().mqtt).port);
  } else {
    const b = await Aedes.createBroker();
    const server = net.createServer(b.handle);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    await new Promise<void>((r) => b.subscribe('ef/v1/d/+/telemetry', (_p, cb) => { ingested++; cb(); }, r));
    port = (server.address() as net.AddressInfo).port;
  }
  process.on('message', () => {
    (globalThis as { gc?: () => void }).gc?.();
    const m = process.memoryUsage();
    process.send!({ t: 'stats', rss: m.rss, heap: m.heapUsed, ingested } satisfies Msg);
  });
  process.send!({ t: 'ready', port } satisfies Msg);
}

function ask(c: ChildProcess): Promise<Extract<Msg, { t: 'stats' }>> {
  return new Promise((resolve) => {
    c.once('message', (m: Msg) => resolve(m as Extract<Msg, { t: 'stats' }>));
    c.send('stats');
  });
}

async function measure(kind: Kind, n: number) {
  const c = fork(fileURLToPath(import.meta.url), ['--child', kind, String(n)], { execArgv: ['--conditions=source', '--import', 'tsx', '--expose-gc'] });
  const ready = await new Promise<Extract<Msg, { t: 'ready' }>>((r) => c.once('message', (m: Msg) => r(m as Extract<Msg, { t: 'ready' }>)));
  const before = await ask(c);
  const sim = new FleetSimulator({ url: `mqtt://127.0.0.1:${ready.port}`, devices: devicesFor(n), connectConcurrency: 200 });
  try {
    const conn = await sim.connectAll();
    if (conn.failed.length > 0) throw new Error(`${kind}: ${conn.failed.length} devices failed to connect, first: ${conn.failed[0]?.error}`);
    const after = await ask(c);
    const rounds = 3;
    const t0 = performance.now();
    for (let i = 0; i < rounds; i++) await sim.publishRound('telemetry');
    for (let s = await ask(c); s.ingested < rounds * n; s = await ask(c)) await new Promise((r) => setTimeout(r, 5));
    const ingestMs = performance.now() - t0;
    return {
      connectPerSec: n / (conn.ms / 1000),
      bytesPerDevice: (after.rss - before.rss) / n,
      heapPerDevice: (after.heap - before.heap) / n,
      msgsPerSec: (rounds * n) / (ingestMs / 1000),
    };
  } finally {
    await sim.stop();
    c.kill();
  }
}

async function main(): Promise<void> {
  const ns = process.argv.slice(2).map(Number).filter((x) => x > 0);
  const fmt = (x: number, d = 0) => x.toFixed(d).padStart(9);
  console.log('broker bench: hub embedded (auth + ACL + validation) vs bare aedes, same run');
  console.log('     N | metric                  |       hub |      bare | hub/bare');
  for (const n of ns.length ? ns : [1000, 5000]) {
    const bare = await measure('bare', n);
    const hub = await measure('hub', n);
    const row = (name: string, h: number, b: number, d = 0) => console.log(`${String(n).padStart(6)} | ${name.padEnd(23)} | ${fmt(h, d)} | ${fmt(b, d)} | ${(h / b).toFixed(2).padStart(8)}`);
    row('connect devices/s', hub.connectPerSec, bare.connectPerSec);
    row('rss bytes/device', hub.bytesPerDevice, bare.bytesPerDevice);
    row('heap bytes/device', hub.heapPerDevice, bare.heapPerDevice);
    row('ingest msgs/s', hub.msgsPerSec, bare.msgsPerSec);
  }
}

if (process.argv[2] === '--child') {
  await child(process.argv[3] as Kind, Number(process.argv[4]));
} else {
  await main();
}
