// Months on one agent (docs/agent.md "Database"): an in-process agent with an injected clock advanced
// 30 minutes a request, a real ONNX model (the test MLP), a new version installed and switched to every
// 10 days, no hub reachable (its broker URL refuses), summaries.budgetBytes 1 MiB. Every 30 simulated
// days it prints what the data dir and the process hold: agent.db and its WAL, the data dir, rows of
// the tables that could grow, heap after a full GC (the bench exposes gc itself, so scripts/bench.mjs's
// plain `node --import tsx` start reads it too), rss and open fds; then agent.db's pages by table
// (dbstat). A store that grows shows as a column that keeps rising.
//   node --conditions=source --import tsx agent/bench/months.bench.ts   (MONTHS_BENCH_DAYS, default 180)
// bench-limit-s: 600
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { makeKit, mlpBundle, req, row, startAgent } from '../src/testing.js';

// A context created after the flag is set gets the gc function (the flag alone does not add it to this one).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const DAYS = Number(process.env.MONTHS_BENCH_DAYS ?? 180);
const STEP_MIN = 30;
const kit = makeKit('ef-months-bench-');
const dataDir = join(kit.dir, 'data');
let now = Date.UTC(2026, 0, 1);
const agent = await startAgent(dataDir, { summaries: { windowSec: 60, budgetBytes: 1 << 20 }, sync: { brokerUrl: 'mqtt://127.0.0.1:9', reconnectMs: 1000 } }, { clock: { now: () => now }, retentionIntervalMs: 200 });
agent.trust.put(kit.trust.doc, 1);
await agent.manager.install((await mlpBundle(kit, '1.0.0', { seed: 1 })).path);
await agent.manager.activate('mlp', '1.0.0');

const du = (p: string): number => {
  if (!existsSync(p)) return 0;
  const s = statSync(p);
  return s.isDirectory() ? readdirSync(p).reduce((n, f) => n + du(join(p, f)), 0) : s.size;
};
const count = (table: string) => agent.db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get() as number;
const mb = (n: number) => (n / 1e6).toFixed(2);
function snapshot(day: number): void {
  gc();
  const m = process.memoryUsage();
  console.log(`day ${day}: agent.db ${mb(du(join(dataDir, 'agent.db')))} MB, WAL ${mb(du(join(dataDir, 'agent.db-wal')))} MB, data dir ${mb(du(dataDir))} MB; `
    + `rows: summary_windows ${count('summary_windows')}, outbox ${count('outbox')}, events ${count('events')}, model_versions ${count('model_versions')}, kv ${count('kv')}; `
    + `heap ${mb(m.heapUsed)} MB, rss ${mb(m.rss)} MB, fds ${readdirSync('/proc/self/fd').length}`);
}

let version = 1;
const t0 = performance.now();
for (let day = 0; day < DAYS; day++) {
  for (let s = 0; s < 1440 / STEP_MIN; s++) {
    now += STEP_MIN * 60_000;
    const r = await req(agent.url, 'POST', '/v2/models/mlp/infer', row([s % 7, 1, 2, 3]));
    if (r.status !== 200) throw new Error(`day ${day}: infer answered ${r.status}: ${r.text}`);
  }
  if (day % 10 === 9) {
    version++;
    await agent.manager.install((await mlpBundle(kit, `1.0.${version}`, { seed: version })).path);
    await agent.manager.activate('mlp', `1.0.${version}`);
  }
  if (day % 30 === 0 || day === DAYS - 1) snapshot(day);
}
const pages = agent.db.prepare('SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC LIMIT 6').all() as Array<{ name: string; bytes: number }>;
console.log(`agent.db pages: ${pages.map((p) => `${p.name} ${mb(p.bytes)} MB`).join(', ')}, free ${agent.db.pragma('freelist_count', { simple: true }) as number} pages`);
console.log(`${DAYS} simulated days in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
await agent.stop();
kit.cleanup();
