// The WebAssembly backend against the native one (issue 13 section 2), in the same run: two
// in-process agents, identical but for runtime.backend (native: onnxruntime-node; wasm:
// onnxruntime-web in Node, one thread), serving the example vibration model and the small
// benchmark MLP over REST, loaded by the api.bench.ts load generator (8 keep-alive clients,
// alternating phases, medians of per-round ratios). Also the bare session run of one row on each
// backend, in this process. Then the BUILT agent (`agent/bin/edgefleet-agent.js run`, npm run bench
// builds first) on each backend: time to the ready log line and VmRSS after 2 s idle with both
// models loaded. No target: it is what a box without native binaries gives up.
// WASM_BENCH_ROUNDS (default 4) narrows a run.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { buildExampleBundle, bundleFromOnnx, datasetRows, makeKeys, makeTrust, randomMlp, repoRoot } from '@edgefleet/examples';
import { createAgent, type Agent } from '../src/agent.js';
import { AgentConfig } from '../src/config.js';
import { fmt, median, runPhases, type LoadResult } from './lib.js';

const ROUNDS = Number(process.env.WASM_BENCH_ROUNDS ?? 4);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`WASM_BENCH_ROUNDS=${process.env.WASM_BENCH_ROUNDS}: expected a positive integer`);
const CONCURRENCY = 8;

const dir = mkdtempSync(join(tmpdir(), 'ef-bench-wasm-'));
const agents: Agent[] = [];
try {
  const keys = makeKeys(join(dir, 'keys'));
  const trust = makeTrust(dir, keys);
  const example = await buildExampleBundle({ dir: join(dir, 'b'), version: '1.0.0', keys });
  const mlp = randomMlp({ inputDim: 64, hidden: [256, 256], outputDim: 10, seed: 3 });
  const mlpBundle = await bundleFromOnnx({ dir: join(dir, 'b'), onnx: mlp.onnx, name: 'mlp', version: '1.0.0', io: mlp.io, keys });
  const start = async (backend: 'native' | 'wasm') => {
    const a = createAgent(AgentConfig.parse({ dataDir: join(dir, `data-${backend}`), api: { host: '127.0.0.1', port: 0 }, runtime: { backend }, log: { level: 'silent' } }), { logger: pino({ level: 'silent' }), reconcileMs: 0 });
    agents.push(a);
    await a.start();
    a.trust.put(trust.doc, 1);
    await a.manager.install(example.path);
    await a.manager.install(mlpBundle.path);
    if (a.runtime.backendInUse !== backend) throw new Error(`agent asked for ${backend} runs ${a.runtime.backendInUse}`);
    return a;
  };
  const native = await start('native');
  const wasm = await start('wasm');

  const body = (name: string, row: number[]) => JSON.stringify({ inputs: [{ name, datatype: 'FP32', shape: [1, row.length], data: row }] });
  let s = 7;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const cases = [
    { label: 'example vibration-anomaly (12 features)', model: 'vibration-anomaly', bodies: datasetRows(example.model.holdout).slice(0, 64).map((r) => body('features', r)) },
    { label: 'MLP 64->256->256->10', model: 'mlp', bodies: Array.from({ length: 64 }, () => body('input', Array.from({ length: 64 }, rnd))) },
  ];
  const line = (who: string, r: LoadResult) => `  ${who.padEnd(8)} ${fmt(r.reqPerSec).padStart(7)} req/s  p50 ${fmt(r.p50, 2)} ms  p99 ${fmt(r.p99, 2)} ms  cpu ${fmt(r.cpuUsPerReq, 1)} µs/req${r.failed ? `  FAILED ${r.failed} ${JSON.stringify(r.failures)}` : ''}`;
  let failed = 0;
  console.log(`load: ${CONCURRENCY} keep-alive loops in a child process, 300 ms warm-up + 1000 ms measured, ${ROUNDS} alternating rounds, medians`);
  for (const c of cases) {
    const path = `/v2/models/${c.model}/infer`;
    // Same answers from both backends (within float error).
    const ask = async (u: string) => ((await (await fetch(u + path, { method: 'POST', body: c.bodies[0], headers: { 'content-type': 'application/json' } })).json()) as { outputs: { data: number[] }[] }).outputs[0]!.data;
    const [a, b] = await Promise.all([ask(native.url), ask(wasm.url)]);
    const worst = Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));
    if (!(worst <= 1e-4)) throw new Error(`${c.model}: native and wasm disagree by ${worst}`);
    const order = Array.from({ length: ROUNDS }, (_, r) => (r % 2 === 0 ? [native.url, wasm.url] : [wasm.url, native.url])).flat();
    const results = await runPhases({ path, bodies: c.bodies, concurrency: CONCURRENCY, warmupMs: 300, durationMs: 1000, phases: order });
    const ns = results.filter((_, i) => order[i] === native.url);
    const ws = results.filter((_, i) => order[i] === wasm.url);
    failed += results.reduce((n, r) => n + r.failed, 0);
    const med = (rs: LoadResult[], k: 'reqPerSec' | 'p50' | 'p99' | 'cpuUsPerReq') => median(rs.map((r) => r[k]));
    const pick = (rs: LoadResult[]): LoadResult => ({ ...rs[0]!, failed: rs.reduce((n, r) => n + r.failed, 0), reqPerSec: med(rs, 'reqPerSec'), p50: med(rs, 'p50'), p99: med(rs, 'p99'), cpuUsPerReq: med(rs, 'cpuUsPerReq') });
    const tput = median(ws.map((w, i) => w.reqPerSec / ns[i]!.reqPerSec));
    const p99 = median(ws.map((w, i) => w.p99 / ns[i]!.p99));
    console.log(`\n${c.label}:`);
    console.log(line('native', pick(ns)));
    console.log(line('wasm', pick(ws)));
    console.log(`wasm throughput ${c.model}: ${fmt(med(ws, 'reqPerSec'))} req/s vs native ${fmt(med(ns, 'reqPerSec'))} req/s = ${tput.toFixed(2)}x`);
    console.log(`wasm p99 ${c.model}: ${fmt(med(ws, 'p99'), 2)} ms vs native ${fmt(med(ns, 'p99'), 2)} ms = ${p99.toFixed(2)}x`);
  }
  // The bare session run of one row, per backend (what the runtime waits for, without HTTP).
  for (const c of cases) {
    const times: Record<string, number> = {};
    for (const a of [native, wasm]) {
      const v = a.runtime.active(c.model)!;
      const input = (JSON.parse(c.bodies[0]!) as { inputs: Array<{ name: string; shape: number[]; data: number[] }> }).inputs[0]!;
      const feeds = [{ name: input.name, datatype: 'FP32' as const, shape: input.shape, data: Float32Array.from(input.data) }];
      for (let i = 0; i < 200; i++) await a.runtime.infer(a.runtime.pin(c.model, v.version), feeds);
      const n = 2000;
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await a.runtime.infer(a.runtime.pin(c.model, v.version), feeds);
      times[a.runtime.backendInUse!] = ((performance.now() - t0) / n) * 1000;
    }
    console.log(`wasm session run ${c.model}: ${fmt(times.wasm!, 1)} µs vs native ${fmt(times.native!, 1)} µs a row = ${(times.wasm! / times.native!).toFixed(2)}x the time`);
  }
  for (const a of agents.splice(0)) await a.stop();
  const bin = join(repoRoot(), 'agent/bin/edgefleet-agent.js');
  if (!existsSync(join(repoRoot(), 'agent/dist/cli/main.js'))) throw new Error('agent/dist is missing: expected a built agent (npx tsc -b, or npm run bench, which builds first)');
  for (const backend of ['native', 'wasm'] as const) {
    const config = join(dir, `${backend}.json`);
    writeFileSync(config, JSON.stringify({ runtime: { backend } }));
    const t0 = performance.now();
    const child = spawn(process.execPath, [bin, 'run', '--data-dir', join(dir, `data-${backend}`), '--config', config, '--api-port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      const readyMs = await new Promise<number>((resolve, reject) => {
        let buf = '';
        child.stderr.on('data', (c: Buffer) => {
          buf += c.toString();
          if (/"msg":"ready"/.test(buf)) resolve(performance.now() - t0);
        });
        child.once('exit', (code) => reject(new Error(`built agent (${backend}) exited ${code} before ready: ${buf}`)));
        setTimeout(() => reject(new Error(`built agent (${backend}) not ready after 30 s: ${buf}`)), 30_000).unref();
      });
      await new Promise((r) => setTimeout(r, 2000));
      const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]);
      console.log(`built agent on ${backend}: ready in ${fmt(readyMs)} ms, idle RSS ${fmt(kb / 1024, 1)} MB (both models loaded)`);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }
  if (failed > 0) {
    console.error(`${failed} requests failed (see FAILED above)`);
    process.exitCode = 1;
  }
} finally {
  for (const a of agents) await a.stop();
  rmSync(dir, { recursive: true, force: true });
}
