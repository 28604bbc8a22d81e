// Which onnxruntime backends load a model: native (onnxruntime-node, the check of model-check.ts) and
// wasm (onnxruntime-web, what boxes on runtime.backend wasm run: docs/agent.md "Runtime"). A model
// onnxruntime-web refuses (an operator or type it lacks, a shape it infers more strictly) would otherwise
// pass pack and push and fail on each wasm box at install (docs/decisions/0129-model-backends-checked.md).
// The wasm load runs in a worker thread, ended at a deadline (a load cannot be interrupted otherwise),
// one model at a time after the native session is released, and not at all above a size bound: a big
// model is then never loaded twice at once.
import { open } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import type { ModelBackends, RuntimeBackend } from '@edgefleet/shared';

export type { ModelBackends };

/** The bounds of the wasm load: a model larger than `maxBytes` is not loaded; a load past `timeoutMs` is ended. */
export interface WasmCheckLimits {
  maxBytes?: number;
  timeoutMs?: number;
  /** The onnxruntime-web module to load (tests: one whose load never ends); default the installed one. */
  ort?: string;
}
// onnxruntime-web's peak while loading is ~5.6x the model (1.43 GB for a 256 MiB model, measured), so `model pack`
// loads models up to 256 MiB and the hub, a server, up to 128 MiB at push (~0.7 GB).
export const WASM_CHECK_MAX_BYTES = 256 * 1024 * 1024;
export const HUB_WASM_CHECK_MAX_BYTES = 128 * 1024 * 1024;
export const WASM_CHECK_TIMEOUT_MS = 60_000;

/** The worker: loads each model it is sent once with onnxruntime-web (one WebAssembly thread), releases the session, answers ok or the error. */
const WORKER_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const ready = import(workerData.ort).then((ort) => { ort.env.wasm.numThreads = 1; ort.env.wasm.proxy = false; return ort; });
parentPort.on('message', (m) => {
  ready.then(async (ort) => {
    const s = await ort.InferenceSession.create(m.bytes, { executionProviders: ['wasm'] });
    await s.release();
    parentPort.postMessage({ id: m.id, ok: true });
  }).catch((err) => parentPort.postMessage({ id: m.id, ok: false, error: String((err && err.message) || err) }));
});
`;

/** A model at most this large leaves the worker running for the next check (its WebAssembly heap is never given back, so a larger one ends it). */
const KEEP_WORKER_BYTES = 32 * 1024 * 1024;
/** An idle worker ends after this long. */
const IDLE_MS = 30_000;

type WasmResult = { checked: false; reason: string } | { checked: true; error?: string };

/**
 * One worker, checks one at a time (a second waits: two big models are never in memory at once). Starting
 * onnxruntime-web costs 0.6-0.9 s, so a worker that checked a small model stays for the next one (unref'd:
 * it holds no process open), ended after IDLE_MS, after a model above KEEP_WORKER_BYTES, and at a deadline.
 */
class WasmChecker {
  private worker: Worker | undefined;
  private ort = '';
  private idle: NodeJS.Timeout | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private next = 1;

  check(ort: string, bytes: Uint8Array, timeoutMs: number): Promise<WasmResult> {
    const run = this.queue.then(() => this.run(ort, bytes, timeoutMs));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(ort: string, bytes: Uint8Array, timeoutMs: number): Promise<WasmResult> {
    clearTimeout(this.idle);
    if (this.ort !== ort) await this.close();
    this.ort = ort;
    const w = this.worker ??= new Worker(WORKER_CODE, { eval: true, workerData: { ort } });
    w.unref();
    const id = this.next++;
    let end = bytes.byteLength > KEEP_WORKER_BYTES;
    let timer: NodeJS.Timeout | undefined;
    let onMessage: (m: { id: number; ok: boolean; error?: string }) => void = () => undefined;
    let onGone: (err: unknown) => void = () => undefined;
    try {
      return await new Promise<WasmResult>((resolve) => {
        timer = setTimeout(() => {
          end = true;
          resolve({ checked: false, reason: `onnxruntime-web did not load it within ${timeoutMs} ms` });
        }, timeoutMs);
        onMessage = (m) => { if (m.id === id) resolve(m.ok ? { checked: true } : { checked: true, error: m.error ?? 'unknown error' }); };
        onGone = (err) => {
          end = true;
          resolve({ checked: true, error: err instanceof Error ? err.message : `the loading thread ended (exit code ${String(err)})` });
        };
        w.on('message', onMessage).once('error', onGone).once('exit', onGone);
        w.postMessage({ id, bytes }, [bytes.buffer as ArrayBuffer]);
      });
    } finally {
      clearTimeout(timer);
      w.off('message', onMessage).off('error', onGone).off('exit', onGone);
      if (end) await this.close();
      else this.idle = setTimeout(() => { this.close().catch(() => undefined); }, IDLE_MS).unref();
    }
  }

  async close(): Promise<void> {
    clearTimeout(this.idle);
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }
}

const checker = new WasmChecker();

function ortWebUrl(): string | undefined {
  try {
    return import.meta.resolve('onnxruntime-web');
  } catch {
    return undefined;
  }
}

/**
 * Whether onnxruntime-web loads the model at `modelPath` (`error` says why not), or `{ checked: false,
 * reason }` when it was not tried (onnxruntime-web not installed, the model above `maxBytes`) or did not
 * finish within `timeoutMs`.
 */
export async function wasmLoads(modelPath: string, limits: WasmCheckLimits = {}): Promise<WasmResult> {
  const ort = limits.ort ?? ortWebUrl();
  if (!ort) return { checked: false, reason: 'onnxruntime-web is not installed' };
  const maxBytes = limits.maxBytes ?? WASM_CHECK_MAX_BYTES;
  // Read into an array of its own, handed over to the worker: the model is not held twice on this thread.
  const f = await open(modelPath);
  let bytes: Uint8Array;
  try {
    const size = (await f.stat()).size;
    if (size > maxBytes) return { checked: false, reason: `the model (${size} bytes) is larger than the check's bound of ${maxBytes} bytes` };
    bytes = new Uint8Array(size);
    for (let at = 0; at < size;) {
      const { bytesRead } = await f.read(bytes, at, size - at, at);
      if (bytesRead === 0) throw new Error(`${modelPath} became shorter while it was read`);
      at += bytesRead;
    }
  } finally {
    await f.close();
  }
  return checker.check(ort, bytes, limits.timeoutMs ?? WASM_CHECK_TIMEOUT_MS);
}

/**
 * The backends a model loads on, from the native result (`nativeError` undefined when it loaded) and a
 * wasm check: `loads` lists them, `refused` says why each other one did not, `unchecked` why wasm was not tried.
 */
export async function modelBackends(modelPath: string, nativeError: string | undefined, limits: WasmCheckLimits = {}): Promise<ModelBackends> {
  const loads: RuntimeBackend[] = [];
  const refused: Partial<Record<RuntimeBackend, string>> = {};
  if (nativeError === undefined) loads.push('native');
  else refused.native = nativeError;
  const w = await wasmLoads(modelPath, limits);
  if (!w.checked) return { loads, refused, unchecked: { wasm: w.reason } };
  if (w.error === undefined) loads.push('wasm');
  else refused.wasm = w.error;
  return { loads, refused };
}

/** "loads on native, wasm", or also which backend refused it and why, and which was not checked. */
export function describeBackends(b: ModelBackends): string {
  const parts = [b.loads.length ? `loads on ${b.loads.join(', ')}` : Object.keys(b.refused).length ? 'loads on no backend' : 'not loaded'];
  for (const [k, why] of Object.entries(b.refused)) parts.push(`not on ${k}: ${why}`);
  for (const [k, why] of Object.entries(b.unchecked ?? {})) parts.push(`${k} not checked: ${why}`);
  return parts.join('; ');
}

/** The `model ls` cell: "native, wasm", "native", "not checked" (a model above the hub's bound), or "-" for a version pushed before the check or encrypted. */
export function backendsCell(b: ModelBackends | null | undefined): string {
  if (!b) return '-';
  return b.loads.join(', ') || (Object.keys(b.refused).length ? 'none' : 'not checked');
}

/**
 * The warning pack and push print for a model that loads on some backends only: which ones refuse it, and
 * that boxes running them cannot install it; undefined when none refuses it (or none loads it: refused).
 */
export function backendsWarning(b: ModelBackends, what: string): string | undefined {
  const refused = Object.entries(b.refused);
  if (refused.length === 0 || b.loads.length === 0) return undefined;
  return refused.map(([k, why]) => `warning: ${what} does not load on the ${k} backend (${k === 'wasm' ? 'onnxruntime-web' : 'onnxruntime-node'}): ${why}; `
    + `boxes on runtime.backend ${k} cannot install it (a deploy or rollout to them is refused for those devices)\n`).join('');
}
