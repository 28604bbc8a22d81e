// Cold start and idle memory (issue 3, "Benchmarks"; targets <= 1 s and <= 90 MB):
// the BUILT agent started as the product starts it: the command line of ExecStart
// and the Environment= lines (NODE_OPTIONS, MALLOC_ARENA_MAX) of
// packaging/systemd/edgefleet-agent.service, i.e. `node agent/bin/edgefleet-agent.js
// run` (no tsx), with our data dir and API port 0; on a data dir provisioned
// through the built CLI with trust and the example model. Measured from spawn to
// the "ready" log line and to the first 200 from GET /v2/health/ready; then, after
// 2 s idle, VmRSS from /proc/PID/status. Best of a few starts (the box may be
// busy); npm run bench builds dist first.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildExampleBundle, makeKeys, makeTrust } from '@edgefleet/examples';
import { once, product, root, runCli, type Start } from './start-lib.js';

const STARTS = 3;

const dir = mkdtempSync(join(tmpdir(), 'ef-bench-cold-'));
try {
  const keys = makeKeys(join(dir, 'keys'));
  const trust = makeTrust(dir, keys);
  const bundle = await buildExampleBundle({ dir: join(dir, 'bundles'), version: '1.0.0', keys });
  const data = join(dir, 'data');
  runCli(['trust', 'set', trust.path, '--data-dir', data]);
  runCli(['install', bundle.path, '--data-dir', data]);
  // Node itself, for scale: an empty process's time to exit and its RSS.
  const n0 = performance.now();
  const bare = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.memoryUsage().rss))'], { encoding: 'utf8' });
  const nodeMs = performance.now() - n0;
  const nodeRss = Number(bare.stdout) / 1024 / 1024;
  const starts: Start[] = [];
  for (let i = 0; i < STARTS; i++) starts.push(await once(data));
  const best = starts.reduce((a, b) => (b.healthMs < a.healthMs ? b : a));
  const rss = Math.max(...starts.map((s) => s.rssMb));
  console.log(`started as packaging/systemd/edgefleet-agent.service does: node ${product.script.slice(root.length)} run, ${Object.entries(product.env).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  console.log(`cold start (built agent, example model, ${STARTS} starts): ${starts.map((s) => `${s.healthMs.toFixed(0)} ms`).join(', ')}`);
  console.log(`cold start to ready: ${best.readyLogMs.toFixed(0)} ms to the ready log line, ${best.healthMs.toFixed(0)} ms to /v2/health/ready 200 (target <= 1000 ms) ${best.healthMs <= 1000 ? 'OK' : 'MISSED'}; bare node start+exit ${nodeMs.toFixed(0)} ms`);
  console.log(`idle RSS after 2 s with the example model: ${rss.toFixed(1)} MB (highest of ${STARTS}: ${starts.map((s) => s.rssMb.toFixed(1)).join(", ")}; target <= 90 MB) ${rss <= 90 ? 'OK' : 'MISSED'}; bare node ${nodeRss.toFixed(1)} MB`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
