// Cold start and idle memory (issue 3, "Benchmarks"; targets <= 1 s and <= 90 MB):
// the BUILT agent started as the product starts it: the command line of ExecStart
// and the Environment= lines (NODE_OPTIONS, MALLOC_ARENA_MAX) of
// packaging/systemd/edgefleet-agent.service, i.e. `node agent/bin/edgefleet-agent.js
// run` (no tsx), with our data dir and API port 0; on a data dir provisioned
// through the built CLI with trust and the example model. Measured from spawn to
// the "ready" log line and to the first 200 from GET /v2/health/ready; then, after
// 2 s idle, VmRSS from /proc/PID/status. Best of a few starts (the box may be
// busy); npm run bench builds dist first.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentUnit, agentUnitArgs, buildExampleBundle, makeKeys, makeTrust, repoRoot } from '@edgefleet/examples';

const STARTS = 3;
const root = repoRoot();
const cli = join(root, 'agent/dist/cli/main.js');
if (!existsSync(cli)) throw new Error(`${cli} is missing: expected a built agent (run \`npx tsc -b\` or \`npm run bench\`, which builds first)`);

/** How the systemd unit starts the agent: its script (under /opt/edgefleet = this checkout) and environment. */
const product = agentUnit();

function runCli(args: string[]): string {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`edgefleet-agent ${args.join(' ')} exited ${r.status}: ${r.stderr || r.stdout} (if dist is stale, run \`npx tsc -b\`)`);
  return r.stdout;
}

interface Start { readyLogMs: number; healthMs: number; rssMb: number }

async function once(dataDir: string): Promise<Start> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [product.script, ...agentUnitArgs(product, dataDir), '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...product.env } });
  let seen = '';
  try {
    const { readyLogMs, api } = await new Promise<{ readyLogMs: number; api: string }>((resolve, reject) => {
      // JSON log lines (pino), on stdout or stderr depending on the logger's destination.
      const watch = (stream: NodeJS.ReadableStream) => {
        let buf = '';
        stream.on('data', (c: Buffer) => {
          buf += c.toString();
          seen += c.toString();
          let nl;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            try {
              const j = JSON.parse(line) as { msg?: string; api?: string };
              if (j.msg === 'ready' && j.api) resolve({ readyLogMs: performance.now() - t0, api: j.api });
            } catch { /* not JSON */ }
          }
        });
      };
      watch(child.stdout);
      watch(child.stderr);
      child.once('exit', (code) => reject(new Error(`agent exited ${code} before ready: ${seen}`)));
      setTimeout(() => reject(new Error(`agent not ready after 30 s: ${seen}`)), 30_000).unref();
    });
    let healthMs = Number.NaN;
    for (;;) {
      const r = await fetch(`${api}/v2/health/ready`).catch(() => undefined);
      if (r?.status === 200) {
        healthMs = performance.now() - t0;
        break;
      }
      await new Promise((res) => setTimeout(res, 5));
    }
    const check = await fetch(`${api}/v2/models/vibration-anomaly/ready`);
    if (check.status !== 200) throw new Error(`the example model is not ready: ${check.status} ${await check.text()}`);
    await new Promise((res) => setTimeout(res, 2000));
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
    return { readyLogMs, healthMs, rssMb: kb / 1024 };
  } finally {
    const exited = new Promise((res) => child.once('exit', res));
    child.kill('SIGTERM');
    await exited;
  }
}

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
