// Shared parts of the agent benches (not a bench itself: the runner only runs
// *.bench.ts): the HTTP load generator, run in a worker thread so that it does
// not share the event loop with the server under test; the bare node:http
// "floor" server (JSON parse -> ORT run -> JSON reply); percentiles and formats.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
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
}

// Plain JS (eval'd in the worker): N loops, each one keep-alive request at a time.
const WORKER = `
const { parentPort, workerData: o } = require('node:worker_threads');
const http = require('node:http');
const u = new URL(o.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency });
const lat = [];
const failures = {};
let failed = 0, measuring = false, stop = false, t0 = 0, t1 = 0;
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
async function loop(k) {
  let i = k;
  while (!stop) {
    const r = await one(o.bodies[i++ % o.bodies.length]);
    if (r.status !== 200) { failed++; failures[r.status] = (failures[r.status] || 0) + 1; }
    else if (measuring) lat.push(r.ms);
  }
}
const loops = Array.from({ length: o.concurrency }, (_, k) => loop(k));
setTimeout(() => {
  measuring = true; t0 = performance.now();
  setTimeout(() => { measuring = false; t1 = performance.now(); stop = true; }, o.durationMs);
}, o.warmupMs);
Promise.all(loops).then(() => {
  agent.destroy();
  parentPort.postMessage({ lat: Float64Array.from(lat), failed, failures, seconds: (t1 - t0) / 1000 });
});
`;

export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

/** Runs the load generator against url+path in a worker thread for warm-up + duration. */
export function runLoad(o: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { eval: true, workerData: o });
    w.once('error', reject);
    w.once('message', (m: { lat: Float64Array; failed: number; failures: Record<string, number>; seconds: number }) => {
      const sorted = m.lat.sort();
      resolve({
        ok: sorted.length, failed: m.failed, failures: m.failures, seconds: m.seconds,
        reqPerSec: sorted.length / m.seconds, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99),
      });
      void w.terminate();
    });
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
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ model_name: name, outputs }));
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
