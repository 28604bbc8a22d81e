// The compiled agent in a process of its own, for the benches (not a bench itself): the bench
// itself runs from TypeScript through tsx, whose esbuild output wraps every closure in `__name`
// and source-maps stacks, so an agent created in the bench's process is not the agent that ships.
// startCompiledAgent spawns a plain `node` child (no tsx, no `--conditions=source`, NODE_OPTIONS
// cleared) that imports agent/dist, so @edgefleet/shared resolves to its dist too, as in
// `node agent/dist/cli/main.js run`. Over IPC the child reports its URL, its own process.cpuUsage()
// (the server-side CPU of a phase is read from the child, not the bench) and batch statistics.
// requireFreshDist fails with "run npx tsc -b" when a dist is missing or older than its src.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Newest mtime (ms) of the files under dir whose names end with ext, skipping nothing else. */
function newest(dir: string, ext: string): { ms: number; file: string } {
  let best = { ms: 0, file: '' };
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile() || !e.name.endsWith(ext) || e.name.endsWith('.d.ts')) continue;
    const file = join(e.parentPath, e.name);
    const ms = statSync(file).mtimeMs;
    if (ms > best.ms) best = { ms, file };
  }
  return best;
}

/**
 * Throws unless agent/dist and shared/dist exist and are at least as new as their src: a bench of
 * the compiled agent must not measure yesterday's build. tsc -b rewrites the outputs of a changed
 * file and touches tsconfig.tsbuildinfo, so the newer of the two stands for the build.
 */
export function requireFreshDist(pkgs: readonly string[] = ['shared', 'agent']): void {
  for (const p of pkgs) {
    const dist = join(root, p, 'dist');
    if (!existsSync(join(dist, 'index.js'))) throw new Error(`${p}/dist is missing: run npx tsc -b (npm run bench runs it first)`);
    const src = newest(join(root, p, 'src'), '.ts');
    const info = join(root, p, 'tsconfig.tsbuildinfo');
    const built = Math.max(newest(dist, '.js').ms, existsSync(info) ? statSync(info).mtimeMs : 0);
    if (src.ms > built) throw new Error(`${p}/dist is older than ${src.file.slice(root.length)}: run npx tsc -b (npm run bench runs it first)`);
  }
}

// Plain ESM run with `node --input-type=module -e`: creates the agent from dist, installs the
// bundles, then answers the parent's messages until 'stop'.
const CHILD = `
const [{ createAgent }, { AgentConfig }] = await Promise.all([import(process.env.EF_AGENT_JS), import(process.env.EF_CONFIG_JS)]);
const o = await new Promise((resolve) => process.once('message', resolve));
const a = createAgent(AgentConfig.parse(o.config), { reconcileMs: 0 });
await a.start();
a.trust.put(o.trust, 1);
for (const b of o.bundles) await a.manager.install(b);
process.on('message', async (m) => {
  if (m.t === 'cpu') process.send({ t: 'cpu', id: m.id, cpu: process.cpuUsage() });
  else if (m.t === 'stats') process.send({ t: 'stats', id: m.id, stats: a.runtime.batchStats(m.name) ?? null });
  else if (m.t === 'stop') { await a.stop(); process.disconnect(); }
});
process.send({ t: 'ready', url: a.url });
`;

export interface CompiledAgent {
  url: string;
  /** The child's own process.cpuUsage() (user + system, all its threads). */
  cpuUsage(): Promise<NodeJS.CpuUsage>;
  batchStats(name: string): Promise<{ runs: number; requests: number; retried: number } | null>;
  stop(): Promise<void>;
}

export interface CompiledAgentOptions {
  /** Agent config as YAML would give it (parsed by AgentConfig in the child). */
  config: object;
  /** The trust document to install as version 1. */
  trust: unknown;
  /** Bundle paths to install, in order. */
  bundles: string[];
  /** Extra node flags for the child, e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/x']. */
  nodeArgs?: string[];
}

/** Spawns the compiled agent in a child process; resolves once it serves with the bundles installed. */
export function startCompiledAgent(o: CompiledAgentOptions): Promise<CompiledAgent> {
  const env: NodeJS.ProcessEnv = { ...process.env, EF_AGENT_JS: pathToFileURL(join(root, 'agent/dist/agent.js')).href, EF_CONFIG_JS: pathToFileURL(join(root, 'agent/dist/config.js')).href };
  delete env.NODE_OPTIONS; // no --import tsx / --conditions=source inherited
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), '--input-type=module', '-e', CHILD], { cwd: join(root, 'agent'), env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let next = 0;
  const waiting = new Map<number, (m: { cpu?: NodeJS.CpuUsage; stats?: unknown }) => void>();
  const ask = <T>(msg: object, pick: (m: { cpu?: NodeJS.CpuUsage; stats?: unknown }) => T) =>
    new Promise<T>((resolve) => {
      const id = next++;
      waiting.set(id, (m) => resolve(pick(m)));
      child.send({ ...msg, id });
    });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    exited.then((code) => reject(new Error(`compiled agent child exited with code ${code} before it was ready`)), reject);
    child.on('message', (m: { t: string; id?: number; url?: string; cpu?: NodeJS.CpuUsage; stats?: unknown }) => {
      if (m.t === 'ready') {
        resolve({
          url: m.url!,
          cpuUsage: () => ask({ t: 'cpu' }, (r) => r.cpu!),
          batchStats: (name) => ask({ t: 'stats', name }, (r) => r.stats as { runs: number; requests: number; retried: number } | null),
          async stop() {
            if (child.exitCode !== null) return;
            child.send({ t: 'stop' });
            const timer = setTimeout(() => child.kill('SIGKILL'), 10_000); // the stop path's deadline
            await exited;
            clearTimeout(timer);
          },
        });
      } else if (m.id !== undefined) {
        waiting.get(m.id)?.(m);
        waiting.delete(m.id);
      }
    });
    child.send({ config: o.config, trust: o.trust, bundles: o.bundles });
  });
}
