// The built agent started as the product starts it (packaging/systemd/edgefleet-agent.service: its
// ExecStart script and Environment= lines), for the cold start benches: time from spawn to the
// "ready" log line and to the first 200 from GET /v2/health/ready, and idle RSS after 2 s.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentUnit, agentUnitArgs, repoRoot } from '@edgefleet/examples';

export const root = repoRoot();
const cli = join(root, 'agent/dist/cli/main.js');
if (!existsSync(cli)) throw new Error(`${cli} is missing: expected a built agent (run \`npx tsc -b\` or \`npm run bench\`, which builds first)`);

/** How the systemd unit starts the agent: its script (under /opt/edgefleet = this checkout), arguments and environment. */
export const product = agentUnit();

export function runCli(args: string[]): string {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`edgefleet-agent ${args.join(' ')} exited ${r.status}: ${r.stderr || r.stdout} (if dist is stale, run \`npx tsc -b\`)`);
  return r.stdout;
}

export interface Start { readyLogMs: number; healthMs: number; rssMb: number }

/** One start of the built agent on `dataDir`; `model` must be ready once the agent is. */
export async function once(dataDir: string, model = 'vibration-anomaly'): Promise<Start> {
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
    const check = await fetch(`${api}/v2/models/${model}/ready`);
    if (check.status !== 200) throw new Error(`model ${model} is not ready: ${check.status} ${await check.text()}`);
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

