// The worker thread the WebAssembly backend runs onnxruntime-web in (wasm.ts). onnxruntime-web computes a
// run on the thread that calls it: on the agent's own thread a 20 s run left SIGTERM, the health probes,
// the API and the MQTT keepalive unanswered for 20 s (docs/decisions/0125-wasm-runs-in-a-worker-thread.md).
// In a worker the agent's thread only waits for the answer. One worker per backend holds every session:
// onnxruntime-web's WebAssembly instance is one per thread, so its runs go one at a time, as they did.
import { Worker } from 'node:worker_threads';

/**
 * The worker's code, evaluated (a string rather than a file: no build step or loader differs between the
 * daemon, the CLI and tests run from source). Requests `{id, op, ...}`, answers `{id, ok, value | error}`; a run's value is its outputs and how long it computed.
 * Model bytes arrive transferred and are zeroed once onnxruntime-web has its copy (sealed models,
 * docs/decisions/0029-sealed-models.md); outputs go back as copies that own their buffers.
 */
const WORKER_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const sessions = new Map();
let next = 1;
const own = (d) => (ArrayBuffer.isView(d) && (d.byteOffset !== 0 || d.byteLength !== d.buffer.byteLength) ? d.slice() : d);
const transferable = (d) => (ArrayBuffer.isView(d) ? [d.buffer] : []);
import(workerData.ort).then((ort) => {
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  const ops = {
    async create(m) {
      try {
        const s = await ort.InferenceSession.create(m.bytes, { executionProviders: ['wasm'], graphOptimizationLevel: m.graphOptimization });
        const id = next++;
        sessions.set(id, s);
        return { value: { id, inputNames: s.inputNames, outputNames: s.outputNames, inputMetadata: s.inputMetadata, outputMetadata: s.outputMetadata } };
      } finally {
        m.bytes.fill(0);
      }
    },
    async run(m) {
      const s = sessions.get(m.session);
      if (!s) throw new Error('the session was released');
      const feeds = {};
      for (const [name, t] of Object.entries(m.feeds)) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
      const t0 = performance.now();
      const out = m.fetches ? await s.run(feeds, m.fetches) : await s.run(feeds);
      const value = { ms: performance.now() - t0, outputs: {} };
      const transfer = [];
      for (const [name, t] of Object.entries(out)) {
        const data = own(t.data);
        value.outputs[name] = { type: t.type, dims: t.dims, data };
        transfer.push(...transferable(data));
      }
      return { value, transfer };
    },
    async release(m) {
      const s = sessions.get(m.session);
      sessions.delete(m.session);
      if (s) await s.release();
      return { value: null };
    },
  };
  parentPort.on('message', (m) => {
    ops[m.op](m).then(
      (r) => parentPort.postMessage({ id: m.id, ok: true, value: r.value }, r.transfer || []),
      (err) => parentPort.postMessage({ id: m.id, ok: false, error: String((err && err.message) || err) }),
    );
  });
  parentPort.postMessage({ id: 0, ok: true, value: ort.env.versions.web || ort.env.versions.common });
}, (err) => parentPort.postMessage({ id: 0, ok: false, error: String((err && err.message) || err) }));
`;

interface Answer { id: number; ok: boolean; value?: unknown; error?: string }

/** The agent's end of the worker: calls by id, each answered or failed; the thread keeps the process alive only while a call waits. */
export class WasmThread {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private next = 1;
  private dead: Error | undefined;
  /** onnxruntime-web's version, once the worker has loaded it. */
  readonly ready: Promise<string>;

  constructor(ortUrl: string) {
    this.worker = new Worker(WORKER_CODE, { eval: true, workerData: { ort: ortUrl } });
    this.ready = new Promise((resolve, reject) => this.waiting.set(0, { resolve: resolve as (v: unknown) => void, reject }));
    this.worker.on('message', (a: Answer) => {
      const w = this.waiting.get(a.id);
      if (!w) return;
      this.waiting.delete(a.id);
      if (this.waiting.size === 0) this.worker.unref();
      if (a.ok) w.resolve(a.value);
      else w.reject(new Error(a.error));
    });
    // A worker that dies (a WebAssembly abort, out of memory) fails what waits and every later call, naming itself.
    const fail = (why: string) => {
      this.dead ??= new Error(`the wasm backend's worker thread stopped (${why}): restart the agent`);
      for (const w of this.waiting.values()) w.reject(this.dead);
      this.waiting.clear();
    };
    this.worker.on('error', (err) => fail(err.message));
    this.worker.on('exit', (code) => fail(`exit code ${code}`));
  }

  /** Sends one request; `transfer`: buffers handed over (not copied). */
  call<T>(op: string, msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.ref();
      this.worker.postMessage({ ...msg, id, op }, transfer);
    });
  }

  /** Ends the thread (and any run in it): the sessions go with it. */
  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
