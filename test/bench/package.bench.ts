// The agent's linux tarball (issue 13): its size (compressed, unpacked, the biggest packages inside) and
// its cold start when run from the unpacked tarball vs from the checkout (the baseline, same run,
// starts interleaved): spawn to the "ready" log line and to the example model's /v2/models/NAME/ready
// 200, with the environment of packaging/systemd/edgefleet-agent.service, on a data dir provisioned
// with the package's own CLI (trust set, install). Best and median of STARTS each; `npm run bench`
// builds dist first.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildExampleBundle, makeKeys, makeTrust, repoRoot } from '@edgefleet/examples';
import { startAgent } from '@edgefleet/examples/fleet';

const STARTS = 5;
const root = repoRoot();
const MB = 1024 * 1024;

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

function bytesUnder(p: string): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.size;
  return readdirSync(p).reduce((n, name) => n + bytesUnder(join(p, name)), 0);
}

/** The systemd unit's Environment= lines (what the product starts the agent with). */
function unitEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of readFileSync(join(root, 'packaging/systemd/edgefleet-agent.service'), 'utf8').matchAll(/^Environment=(.*)$/gm)) {
    const a = m[1]!.trim().replace(/^"(.*)"$/, '$1');
    env[a.slice(0, a.indexOf('='))] = a.slice(a.indexOf('=') + 1);
  }
  return env;
}

async function coldStart(entry: string, dataDir: string, env: Record<string, string>): Promise<{ readyMs: number; modelMs: number }> {
  const t0 = performance.now();
  const a = await startAgent({ entry, dataDir, env, readyTimeoutMs: 30_000 });
  const readyMs = performance.now() - t0;
  try {
    for (;;) {
      const r = await fetch(`${a.url}/v2/models/vibration-anomaly/ready`).catch(() => undefined);
      if (r?.status === 200) return { readyMs, modelMs: performance.now() - t0 };
      if (performance.now() - t0 > 30_000) throw new Error(`${entry}: the example model not ready after 30 s`);
      await new Promise((res) => setTimeout(res, 5));
    }
  } finally {
    await a.stop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = mkdtempSync(join(tmpdir(), 'ef-bench-package-'));
try {
  const t0 = performance.now();
  const line = run(process.execPath, [join(root, 'scripts/package-agent.mjs'), '--out', join(dir, 'out')]);
  const buildS = (performance.now() - t0) / 1000;
  const tarball = /^(\S+\.tar\.gz):/.exec(line)![1]!;
  mkdirSync(join(dir, 'unpacked'));
  run('tar', ['-xzf', tarball, '-C', join(dir, 'unpacked')]);
  const tree = join(dir, 'unpacked', readdirSync(join(dir, 'unpacked'))[0]!);
  const nm = join(tree, 'node_modules');
  const parts = readdirSync(nm).flatMap((n) => (n.startsWith('@') ? readdirSync(join(nm, n)).map((s) => `${n}/${s}`) : [n]))
    .map((n) => ({ n, b: bytesUnder(join(nm, n)) })).sort((a, b) => b.b - a.b);
  const unpacked = bytesUnder(tree);
  console.log(`agent tarball ${tarball.slice(tarball.lastIndexOf('/') + 1)}: ${(statSync(tarball).size / MB).toFixed(1)} MB compressed, ${(unpacked / MB).toFixed(1)} MB unpacked, ${parts.length} packages; built in ${buildS.toFixed(1)} s`);
  console.log(`  biggest: ${parts.slice(0, 5).map((p) => `${p.n} ${(p.b / MB).toFixed(1)} MB (${((100 * p.b) / unpacked).toFixed(0)}%)`).join(', ')}; the program itself ${(bytesUnder(join(tree, 'agent')) / MB).toFixed(1)} MB`);

  // One data dir with trust and the example model, provisioned by the package's CLI.
  const pkgEntry = join(tree, 'agent/bin/edgefleet-agent.js');
  const keys = makeKeys(join(dir, 'keys'));
  const trust = makeTrust(dir, keys);
  const bundle = await buildExampleBundle({ dir: join(dir, 'bundles'), version: '1.0.0', keys });
  const data = join(dir, 'data');
  run(process.execPath, [pkgEntry, 'trust', 'set', trust.path, '--data-dir', data]);
  run(process.execPath, [pkgEntry, 'install', bundle.path, '--data-dir', data]);

  const env = unitEnv();
  const checkoutEntry = join(root, 'agent/bin/edgefleet-agent.js');
  const from = { package: [] as Array<{ readyMs: number; modelMs: number }>, checkout: [] as Array<{ readyMs: number; modelMs: number }> };
  for (let i = 0; i < STARTS; i++) {
    from.package.push(await coldStart(pkgEntry, data, env));
    from.checkout.push(await coldStart(checkoutEntry, data, env));
  }
  for (const [name, xs] of Object.entries(from)) {
    console.log(`cold start from the ${name} (${STARTS} starts, interleaved): ready log best ${Math.min(...xs.map((x) => x.readyMs)).toFixed(0)} ms, median ${median(xs.map((x) => x.readyMs)).toFixed(0)} ms; model ready best ${Math.min(...xs.map((x) => x.modelMs)).toFixed(0)} ms, median ${median(xs.map((x) => x.modelMs)).toFixed(0)} ms`);
  }
  const ratio = median(from.package.map((x) => x.modelMs)) / median(from.checkout.map((x) => x.modelMs));
  console.log(`cold start to model ready, package vs checkout (same run, medians): ${ratio.toFixed(2)}x`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
