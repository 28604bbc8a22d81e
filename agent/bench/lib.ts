// Shared parts of the agent benches (not a bench itself: the runner only runs
// *.bench.ts): the HTTP load generator, run in a child process so that it
// shares neither the event loop nor the process CPU accounting with the server
// under test (the server's CPU time per request is then process.cpuUsage() of
// this process over the measured period); the bare node:http "floor" server
// (JSON parse -> ORT run -> JSON reply); percentiles, medians and formats.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import '@edgefleet/shared/ort-env'; // before onnxruntime-node: no telemetry, nothing written to HOME
import ort from 'onnxruntime-node';

export interface LoadOptions {
  url: string;
  path: string;
  /** JSON request bodies, sent in turn by each loop. */
  bodies: string[];
  concurrency: number;
  warmupMs: number;
  durationMs: number;
}

export interface LoadResult {
  /** 200 responses completed inside the measured period. */
  ok: number;
  /** Non-200 responses and connection errors, over warm-up and measured period both. */
  failed: number;
  failures: Record<string, number>;
  seconds: number;
  reqPerSec: number;
  p50: number;
  p99: number;
  /**
   * CPU time (user + system, all threads) of this process, the server side,
   * per request completed in the measured period, in µs. Less sensitive to a
   * busy machine than throughput: it is what a request costs, not how much
   * of a core the server happened to get.
   */
  cpuUsPerReq: number;
  /**
   * CPU time of the load generator's process per request, in µs, when it reports it: the
   * generator shares the machine's cores with the server, so this bounds what the server can get.
   */
  genCpuUsPerReq?: number;
}

// Plain JS, the part every load-generator child shares (appended to its source; run with node -e):
// for each phase (a URL), N loops from the child's `setup(o, url)` ({ loop(k, st), close? }), a warm-up,
// then the measured period. Each loop sends until `st.stop`, and reports a reply with `st.ok(ms)` (kept
// while measuring) or `st.fail(why)`. Messages to the parent per phase: {t:'on'} when measuring starts,
// {t:'off'} when it ends, then {t:'result'}; the child exits after the last phase.
export const GENERATOR_PHASES = `
async function phase(o, url) {
  const { loop, close } = setup(o, url);
  const lat = [];
  const failures = {};
  let failed = 0, t0 = 0, t1 = 0, c0, genCpu;
  const st = {
    measuring: false, stop: false,
    ok(ms) { if (st.measuring) lat.push(ms); },
    fail(why) { failed++; failures[why] = (failures[why] || 0) + 1; },
  };
  const loops = Array.from({ length: o.concurrency }, (_, k) => loop(k, st));
  setTimeout(() => {
    st.measuring = true; t0 = performance.now(); c0 = process.cpuUsage(); process.send({ t: 'on' });
    setTimeout(() => {
      st.measuring = false; t1 = performance.now(); st.stop = true;
      const c = process.cpuUsage(c0); genCpu = c.user + c.system;
      process.send({ t: 'off' });
    }, o.durationMs);
  }, o.warmupMs);
  await Promise.all(loops);
  if (close) close();
  await new Promise((resolve) => process.send({ t: 'result', lat, failed, failures, seconds: (t1 - t0) / 1000, genCpu }, resolve));
}
process.once('message', async (o) => {
  for (const url of o.phases) await phase(o, url);
  process.disconnect();
});
`;

// The node:http generator: each loop one keep-alive request at a time.
const CHILD = `
const http = require('node:http');
function setup(o, url) {
  const u = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency });
  function one(body) {
    return new Promise((resolve) => {
      const start = performance.now();
      const req = http.request({ host: u.hostname, port: u.port, path: o.path, method: 'POST', agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - start }));
        res.on('error', (e) => resolve({ status: 'error ' + e.message, ms: 0 }));
      });
      req.on('error', (e) => resolve({ status: 'error ' + e.message, ms: 0 }));
      req.end(body);
    });
  }
  async function loop(k, st) {
    let i = k;
    while (!st.stop) {
      const r = await one(o.bodies[i++ % o.bodies.length]);
      if (r.status !== 200) st.fail(r.status);
      else st.ok(r.ms);
    }
  }
  return { loop, close: () => agent.destroy() };
}
${GENERATOR_PHASES}`;

export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs the load generator against url+path in a child process for warm-up + duration. */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  return (await runPhases({ ...o, phases: [o.url] }))[0]!;
}

/**
 * One child process runs the load against each URL of `phases` in turn (each
 * with its warm-up and measured period); one result per phase. Alternating
 * servers in short phases keeps a pair measured under the same outside load.
 */
export function runPhases(o: Omit<LoadOptions, 'url'> & { phases: string[] }, serverCpu?: ServerCpu): Promise<LoadResult[]> {
  return runGenerator(CHILD, o, o.phases.length, undefined, serverCpu);
}

type GenMsg = { t: 'on' } | { t: 'off' } | { t: 'result'; lat: number[]; failed: number; failures: Record<string, number>; seconds: number; genCpu?: number };

/** Reads the CPU usage of the server under test for phase i (default: this process's). */
export type ServerCpu = (phase: number) => Promise<NodeJS.CpuUsage>;
const ownCpu: ServerCpu = () => Promise.resolve(process.cpuUsage());

/**
 * Runs a load-generator script (`-e source`) in a child process, sends it `init`, and collects one
 * result per phase: latencies summarised, and the server's CPU (serverCpu, by default this
 * process's; a server in a child process of its own reports its own) between the child's `on` and `off`.
 */
export function runGenerator(source: string, init: object, phases: number, cwd?: string, serverCpu: ServerCpu = ownCpu): Promise<LoadResult[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', source], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], ...(cwd ? { cwd } : {}) });
    const results: LoadResult[] = [];
    let cpu0: Promise<NodeJS.CpuUsage> | undefined;
    let cpu1: Promise<NodeJS.CpuUsage> | undefined;
    let done = Promise.resolve(); // results in phase order, each once its CPU readings are in
    child.once('error', reject);
    child.on('exit', (code) => {
      void done.then(() => {
        if (results.length < phases) reject(new Error(`load generator exited with code ${code} after ${results.length} of ${phases} phases`));
        else resolve(results);
      }, reject);
    });
    child.on('message', (m: GenMsg) => {
      if (m.t === 'on') cpu0 = serverCpu(results.length);
      else if (m.t === 'off') cpu1 = serverCpu(results.length);
      else {
        const [c0, c1] = [cpu0, cpu1];
        done = done.then(async () => {
          const [a, b] = c0 && c1 ? await Promise.all([c0, c1]) : [undefined, undefined];
          const sorted = Float64Array.from(m.lat).sort();
          const cpuUs = a && b ? b.user - a.user + (b.system - a.system) : Number.NaN;
          results.push({
            ok: sorted.length, failed: m.failed, failures: m.failures, seconds: m.seconds,
            reqPerSec: sorted.length / m.seconds, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99),
            cpuUsPerReq: cpuUs / sorted.length,
            ...(m.genCpu === undefined ? {} : { genCpuUsPerReq: m.genCpu / sorted.length }),
          });
        });
      }
    });
    child.send(init);
  });
}

/** The session options the agent uses by default: 1 intra-op and 1 inter-op thread, spinning off. */
export const AGENT_LIKE_OPTIONS: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  executionProviders: ['cpu'],
  extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
};

/**
 * CPU time of one single-row session run on random input, in µs: the best of 5 rounds of 300
 * runs after 100 warm-up runs, on a session of its own with `options` (the floor's).
 */
export async function runCpuUs(onnx: Uint8Array, inputDim: number, options: ort.InferenceSession.SessionOptions): Promise<number> {
  const session = await ort.InferenceSession.create(onnx, options);
  try {
    const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', Float32Array.from({ length: inputDim }, () => Math.random()), [1, inputDim]) };
    for (let i = 0; i < 100; i++) await session.run(feeds);
    let best = Infinity;
    for (let k = 0; k < 5; k++) {
      const c0 = process.cpuUsage();
      for (let i = 0; i < 300; i++) await session.run(feeds);
      const c = process.cpuUsage(c0);
      best = Math.min(best, (c.user + c.system) / 300);
    }
    return best;
  } finally {
    await session.release();
  }
}

export interface Floor {
  url: string;
  close(): Promise<void>;
}

/**
 * The floor: a bare node:http server doing JSON parse -> one FP32 input tensor
 * -> ORT run -> JSON reply in the OIP v2 shape, nothing else (no validation,
 * routing, limits, metrics or summaries).
 */
export async function startFloor(onnx: Uint8Array, name: string, options: ort.InferenceSession.SessionOptions): Promise<Floor> {
  const session = await ort.InferenceSession.create(onnx, options);
  const server: Server = createServer({ keepAliveTimeout: 5000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { inputs: { name: string; shape: number[]; data: number[] }[] };
      const t = body.inputs[0]!;
      const feeds = { [t.name]: new ort.Tensor('float32', Float32Array.from(t.data), t.shape) };
      session.run(feeds).then((out) => {
        const outputs = session.outputNames.map((n) => {
          const o = out[n]!;
          return { name: n, datatype: 'FP32', shape: o.dims, data: Array.from(o.data as Float32Array) };
        });
        const json = JSON.stringify({ model_name: name, outputs });
        // Content-Length, as the agent sends: the floor must not pay for chunked encoding the agent avoids.
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
        res.end(json);
      }, (err: Error) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: err.message }));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await session.release();
    },
  };
}

export const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
