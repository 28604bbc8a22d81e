// Warm-up and preflight (docs/decisions/0009-model-samples.md), one
// implementation for `edgefleet model pack` (hub CLI) and the agent's install:
// both pass a RunModel over their own onnxruntime session.
import { AppError } from '../errors.js';
import type { InferResponseBody, Manifest } from '../wire/manifest.js';
import { warmupFeeds, type LoadedSample } from './feeds.js';
import { shapeText } from './shape-text.js';
import type { OipTensor, RunModel } from './tensor.js';

/** onnxruntime's messages span lines and end in a newline: one line for ours. */
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();

/**
 * Runs the model once per sample, or once on synthetic input (warmupFeeds) when
 * there are none, so the first real request does not pay for allocation and
 * kernel selection, and a model that cannot run at all is refused before it serves.
 * MODEL_LOAD_FAILED names the input used; for synthetic input it says to add samples.
 */
export async function warmUp(run: RunModel, manifest: Manifest, samples: readonly LoadedSample[]): Promise<void> {
  const what = `model ${manifest.name}@${manifest.version}`;
  if (samples.length === 0) {
    const feeds = warmupFeeds(manifest);
    try {
      await run(feeds);
    } catch (err) {
      throw new AppError('MODEL_LOAD_FAILED',
        `${what} failed its warm-up run on synthetic inputs (free dimensions 1, feature columns at their reference median, everything else 0): ${message(err)}. `
        + 'If the model needs real input values, pack it with a sample request: edgefleet model pack --sample request.json [--expect response.json]', { cause: err });
    }
    return;
  }
  for (const s of samples) {
    try {
      await run(s.inputs);
    } catch (err) {
      throw new AppError('MODEL_LOAD_FAILED', `${what} failed its warm-up run on sample ${s.name}: ${message(err)}`, { cause: err });
    }
  }
}

/** Sample latency measured by preflight, reported in the device state (docs/agent.md). */
export interface PreflightResult {
  samples: number;
  runs: number;
  p50Ms: number;
  p95Ms: number;
}

function flat(x: unknown[], out: unknown[] = []): unknown[] {
  for (const v of x) {
    if (Array.isArray(v)) flat(v, out);
    else out.push(v);
  }
  return out;
}

function valueAt(t: OipTensor, i: number): number | string {
  const d = t.data;
  if (Array.isArray(d)) return d[i]!;
  return Number(d[i]!);
}

/**
 * The first difference between a sample's outputs and its expectation, as a
 * message naming the output, the flat row-major index, the value and the
 * expectation; undefined when they agree within `tolerance`
 * (|actual - expected| <= tolerance * max(1, |expected|)).
 */
export function compareOutputs(actual: readonly OipTensor[], expected: InferResponseBody['outputs'], tolerance: number): string | undefined {
  for (const e of expected) {
    const a = actual.find((t) => t.name === e.name);
    if (!a) return `output "${e.name}" is missing: the model returned ${actual.map((t) => `"${t.name}"`).join(', ') || 'no outputs'}`;
    if (e.datatype !== undefined && e.datatype !== a.datatype) return `output "${e.name}" has datatype ${a.datatype}, expected ${e.datatype}`;
    if (e.shape !== undefined && (e.shape.length !== a.shape.length || e.shape.some((d, i) => d !== a.shape[i]))) {
      return `output "${e.name}" has shape ${shapeText(a.shape)}, expected ${shapeText(e.shape)}`;
    }
    const want = flat(e.data);
    if (want.length !== a.data.length) return `output "${e.name}" has ${a.data.length} values, expected ${want.length}`;
    for (let i = 0; i < want.length; i++) {
      const got = valueAt(a, i);
      const w = want[i];
      if (typeof got === 'string' || typeof w === 'string') {
        if (got !== w) return `output "${e.name}" index ${i} is ${JSON.stringify(got)}, expected ${JSON.stringify(w)}`;
        continue;
      }
      const wn = typeof w === 'boolean' ? (w ? 1 : 0) : w;
      if (typeof wn !== 'number') return `output "${e.name}" index ${i}: the expected value ${JSON.stringify(w)} is not a number, string or boolean`;
      const ok = Number.isNaN(wn) ? Number.isNaN(got) : Math.abs(got - wn) <= tolerance * Math.max(1, Math.abs(wn));
      if (!ok) return `output "${e.name}" index ${i} is ${got}, expected ${wn} (tolerance ${tolerance})`;
    }
  }
  return undefined;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export interface PreflightOptions {
  /** Timed runs per sample (default 5); the first run's outputs are checked. */
  runs?: number;
  /** Milliseconds clock (default performance.now). */
  now?: () => number;
}

/**
 * Runs each sample `runs` times, checks outputs against the expectation where
 * the sample has one (MODEL_PREFLIGHT_FAILED naming sample, output, index, value
 * and expectation) and returns the sample latency p50/p95; undefined without samples.
 */
export async function preflight(run: RunModel, manifest: Manifest, samples: readonly LoadedSample[], opts: PreflightOptions = {}): Promise<PreflightResult | undefined> {
  if (samples.length === 0) return undefined;
  const runs = Math.max(1, opts.runs ?? 5);
  const now = opts.now ?? (() => performance.now());
  const what = `model ${manifest.name}@${manifest.version}`;
  const times: number[] = [];
  for (const s of samples) {
    for (let r = 0; r < runs; r++) {
      const t0 = now();
      let outputs: OipTensor[];
      try {
        outputs = await run(s.inputs);
      } catch (err) {
        throw new AppError('MODEL_PREFLIGHT_FAILED', `${what}: sample ${s.name} failed to run: ${message(err)}`, { cause: err });
      }
      times.push(now() - t0);
      if (r === 0 && s.expected) {
        const diff = compareOutputs(outputs, s.expected, s.tolerance);
        if (diff) throw new AppError('MODEL_PREFLIGHT_FAILED', `${what}: sample ${s.name}: ${diff}`, { details: { sample: s.name, difference: diff } });
      }
    }
  }
  times.sort((a, b) => a - b);
  const round = (x: number): number => Math.round(x * 1000) / 1000;
  return { samples: samples.length, runs: times.length, p50Ms: round(percentile(times, 0.5)), p95Ms: round(percentile(times, 0.95)) };
}
