// Swap under load (issue 3, "Benchmarks"; target: 0 failed requests): keep-alive
// clients hammer /infer on the example model while the bench activates v2 and
// rolls back to v1 several times (each switch loads and warms the new session
// beside the old one). Prints the failed requests and the throughput during the
// swaps against the same load with no swaps.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { buildExampleBundle, datasetRows, makeKeys, makeTrust } from '@edgefleet/examples';
import { createAgent } from '../src/agent.js';
import { AgentConfig } from '../src/config.js';
import { fmt, runLoad } from './lib.js';

const SWAPS = 6; // activate v2, rollback to v1, three times
const CONCURRENCY = 8;

const dir = mkdtempSync(join(tmpdir(), 'ef-bench-swap-'));
try {
  const keys = makeKeys(join(dir, 'keys'));
  const trust = makeTrust(dir, keys);
  const v1 = await buildExampleBundle({ dir: join(dir, 'bundles'), version: '1.0.0', keys });
  const v2 = await buildExampleBundle({ dir: join(dir, 'bundles'), version: '2.0.0', shift: true, keys });
  const agent = createAgent(AgentConfig.parse({ dataDir: join(dir, 'data'), api: { host: '127.0.0.1', port: 0 }, log: { level: 'silent' } }), { logger: pino({ level: 'silent' }), reconcileMs: 0 });
  await agent.start();
  agent.trust.put(trust.doc, 1);
  await agent.manager.install(v1.path);
  await agent.manager.install(v2.path, { activate: false });
  const name = v1.manifest.name;
  const bodies = datasetRows(v1.model.holdout).slice(0, 64).map((r) => JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, r.length], data: r }] }));
  const load = { url: agent.url, path: `/v2/models/${name}/infer`, bodies, concurrency: CONCURRENCY, warmupMs: 500 };

  const steady = await runLoad({ ...load, durationMs: 2500 });
  // The swaps run on the agent's event loop while the worker thread sends requests.
  const during = runLoad({ ...load, durationMs: 2500 });
  await new Promise((r) => setTimeout(r, 600)); // past the warm-up: the swaps fall in the measured period
  const t0 = performance.now();
  const seen = new Set<string>();
  for (let i = 0; i < SWAPS; i++) {
    if (i % 2 === 0) await agent.manager.activate(name, '2.0.0');
    else await agent.manager.rollback(name);
    seen.add(agent.runtime.active(name)!.version);
    await new Promise((r) => setTimeout(r, 200)); // traffic on the new version before the next switch
  }
  const swapSeconds = (performance.now() - t0) / 1000;
  if (swapSeconds > 2.4) console.log(`  note: the swaps took ${swapSeconds.toFixed(1)} s, longer than the measured load period`);
  const r = await during;
  await agent.stop();
  console.log(`swap under load: ${SWAPS} switches (versions served: ${[...seen].sort().join(', ')}) in ${swapSeconds.toFixed(2)} s, ${CONCURRENCY} keep-alive clients`);
  console.log(`  steady: ${fmt(steady.reqPerSec)} req/s p99 ${fmt(steady.p99, 2)} ms; with swaps (${r.seconds.toFixed(1)} s period, ${swapSeconds.toFixed(1)} s of it switching): ${fmt(r.reqPerSec)} req/s p99 ${fmt(r.p99, 2)} ms = ${(r.reqPerSec / steady.reqPerSec).toFixed(2)}x`);
  const failed = steady.failed + r.failed;
  console.log(`swap failed requests: ${failed} of ${fmt(steady.ok + r.ok + failed)} (target 0) ${failed === 0 ? 'OK' : `MISSED ${JSON.stringify({ ...steady.failures, ...r.failures })}`}`);
  if (failed > 0) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
