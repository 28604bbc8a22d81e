// How long a closed summary window waits before the hub acknowledges it (issue 16, "a closed window
// should be sent within a second when the link is up"). A real hub in-process (embedded aedes, its
// SQLite store, ingest) and a real agent in-process (createAgent: the recorder, the outbox sender,
// the MQTT link) enrolled with the hub's credentials and running the example model deployed from the
// hub, 1 s windows, steady traffic over its local API. For each window outbox entry: from its
// `created` time (written when the window closed) to the moment its row is gone (deleted on the
// hub's ack), watched through a second, read-only connection to agent.db every 5 ms.
// Before issue 16 a window written while the outbox's resend timer was pending waited for that
// timer (sync.outbox.resendAfterMs, 15 s by default); that figure is printed as the baseline.
// Run: npx tsc -b && node scripts/bench.mjs window-ack
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { CREDENTIALS_SCHEMA } from '@edgefleet/shared';
import { trafficLoop, vibrationRows } from '@edgefleet/examples/fleet';
import { createAgent } from '../../agent/src/agent.js';
import { AgentConfig } from '../../agent/src/config.js';
import { DEFAULT_OUTBOX } from '../../agent/src/sync/outbox.js';
import { fmt, startBenchHub, until } from './fleet-setup.js';

const SAMPLES = Number(process.env.WINDOW_ACK_SAMPLES ?? 20);
const MODEL = 'vibration-anomaly';

const b = await startBenchHub(1);
const dev = b.devices[0]!;
const dataDir = join(b.dir, 'agent');
mkdirSync(dataDir, { recursive: true });
writeFileSync(join(dataDir, 'credentials.json'), JSON.stringify({ schema: CREDENTIALS_SCHEMA, deviceId: dev.id, secret: dev.secret, brokers: [b.addrs.mqtt] }));
writeFileSync(join(dataDir, 'trust.json'), JSON.stringify(b.fx.trustDoc));
const agent = createAgent(
  AgentConfig.parse({ dataDir, api: { port: 0 }, summaries: { windowSec: 1 }, log: { level: 'silent' } }),
  { logger: pino({ level: 'silent' }), reconcileMs: 0 },
);
try {
  await agent.start();
  await b.api('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { devices: [dev.id] }, reason: 'window-ack bench' });
  if (!(await until(() => agent.runtime.active(MODEL)?.version === '1.0.0', 60_000, 50))) throw new Error('the agent did not activate 1.0.0 within 60 s');
  const traffic = trafficLoop([{ url: agent.url }], vibrationRows({ rowsPerRequest: 2 }), 50);
  const watch = new Database(join(dataDir, 'agent.db'), { readonly: true });
  const pending = new Map<number, number>(); // seq -> created (ms)
  const lat: number[] = [];
  try {
    const ok = await until(() => {
      const rows = watch.prepare("SELECT seq, created FROM outbox WHERE kind = 'window'").all() as Array<{ seq: number; created: string }>;
      const present = new Set(rows.map((r) => r.seq));
      for (const r of rows) if (!pending.has(r.seq)) pending.set(r.seq, Date.parse(r.created));
      const now = Date.now();
      for (const [seq, created] of pending) {
        if (present.has(seq)) continue;
        pending.delete(seq);
        lat.push(now - created);
      }
      return lat.length >= SAMPLES;
    }, SAMPLES * 2000 + 30_000, 5);
    if (!ok) throw new Error(`only ${lat.length} of ${SAMPLES} windows acked in time`);
  } finally {
    watch.close();
    await traffic.stop();
  }
  lat.sort((x, y) => x - y);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!;
  const before = DEFAULT_OUTBOX.resendAfterMs;
  console.log(`window close -> hub ack over ${lat.length} windows (1 s windows, 50 req/s): p50 ${fmt(q(0.5))} ms, p95 ${fmt(q(0.95))} ms, max ${fmt(lat[lat.length - 1]!)} ms`);
  console.log(`vs before (a window waited behind the resend timer, up to resendAfterMs ${fmt(before)} ms): p95 ${fmt(q(0.95))} ms = ${(q(0.95) / before).toFixed(3)}x of ${fmt(before)} ms`);
} finally {
  await agent.stop();
  await b.close();
}
