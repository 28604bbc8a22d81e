// The replay check on the box (docs/agent.md "Replay check", docs/decisions/0045-config-rollouts-and-replay-gate.md):
// the agent keeps its most recently answered requests of each model in memory (RecentRequests: the
// request's input tensors and the answer its version gave, bounded in entries per model and in bytes in
// all, never written to disk), and when a rollout's staging ring asks for it, replays up to N of them
// through the candidate loaded in shadow, one at a time and yielding to the event loop between runs, and
// compares each result with the recorded answer (the same rules as shadow runs, agreement.ts) and by its
// largest absolute difference. Data capture (decision 0035) seals rows to the operators' key before they
// are stored, so the box cannot read its own captures: this buffer is what it replays instead.
import type { ReplayReport } from '@edgefleet/shared';
import type { LoadedVersion, ModelRuntime } from '../runtime/runtime.js';
import type { RecordedTensor } from '../runtime/recorder.js';
import { outputsAgree, type AgreementRule } from './agreement.js';

export interface RecentLimits {
  /** Requests kept per model (the newest). */
  perModel: number;
  /** Bytes of tensors kept in all (oldest dropped first, per model). */
  bytes: number;
}

export const RECENT_LIMITS: RecentLimits = { perModel: 256, bytes: 4 * 1024 * 1024 };

interface Recent { version: string; feeds: readonly RecordedTensor[]; outputs: readonly RecordedTensor[]; bytes: number }

/**
 * The memory a request's tensors hold, for the byte bounds here and of the shadow queue: a typed array
 * by its byteLength; a plain array (a BYTES tensor's strings, or numbers) 8 bytes an element for the
 * reference plus each string's characters at 2 bytes (V8's two-byte strings: never less than it holds).
 */
export function bytesOf(ts: readonly RecordedTensor[]): number {
  let n = 0;
  for (const t of ts) {
    const d = t.data as ArrayLike<unknown> & { byteLength?: number };
    if (typeof d.byteLength === 'number') {
      n += d.byteLength;
      continue;
    }
    n += d.length * 8;
    for (let i = 0; i < d.length; i++) {
      const x = d[i];
      if (typeof x === 'string') n += x.length * 2;
    }
  }
  return n;
}

/** The newest answered requests per model, in memory (references to the request's own tensors). */
export class RecentRequests {
  private readonly byModel = new Map<string, Recent[]>();
  private total = 0;

  constructor(readonly limits: RecentLimits = RECENT_LIMITS) {}

  /** On the request path: no I/O, no copy. A request larger than the byte bound is not kept. */
  add(model: string, version: string, feeds: readonly RecordedTensor[], outputs: readonly RecordedTensor[]): void {
    if (this.limits.perModel <= 0) return;
    const bytes = bytesOf(feeds) + bytesOf(outputs);
    if (bytes > this.limits.bytes) return;
    let list = this.byModel.get(model);
    if (!list) this.byModel.set(model, (list = []));
    list.push({ version, feeds, outputs, bytes });
    this.total += bytes;
    while (list.length > this.limits.perModel) this.total -= list.shift()!.bytes;
    // Over the byte bound: drop the oldest of the longest list until under it.
    while (this.total > this.limits.bytes) {
      const longest = [...this.byModel.values()].reduce((a, b) => (b.length > a.length ? b : a));
      const old = longest.shift();
      if (!old) break;
      this.total -= old.bytes;
    }
  }

  /** The newest `n` requests of `model` answered by a version other than `except`, oldest first. */
  take(model: string, n: number, except: string): Recent[] {
    return (this.byModel.get(model) ?? []).filter((r) => r.version !== except).slice(-n);
  }

  get bytes(): number {
    return this.total;
  }
}

/** The largest |a - b| over the float outputs both sides have with the same name and length (null: none). */
export function maxAbsDiff(answer: readonly RecordedTensor[], candidate: readonly RecordedTensor[]): number | null {
  let worst: number | null = null;
  for (const a of answer) {
    const b = candidate.find((t) => t.name === a.name);
    if (!b || !a.datatype.startsWith('FP') || typeof a.data === 'string') continue;
    const x = a.data as ArrayLike<number>;
    const y = b.data as ArrayLike<number>;
    if (x.length !== y.length) continue;
    for (let i = 0; i < x.length; i++) {
      const d = Math.abs(Number(x[i]) - Number(y[i]));
      if (Number.isFinite(d)) worst = Math.max(worst ?? 0, d);
    }
  }
  return worst;
}

const yieldToRequests = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Replays `samples` through the candidate `v`, one run at a time after yielding to the event loop (the
 * requests being served come first), until done or `stopped()`; `progress` is called with the report
 * after each run. The answer recorded with each request is the current side of the comparison: the
 * version that gave it is deterministic, so running it again would give the same outputs for twice the CPU.
 */
export async function replay(o: {
  runtime: ModelRuntime; name: string; v: LoadedVersion; samples: readonly Recent[]; rule: AgreementRule;
  stopped: () => boolean; track: (p: Promise<unknown>) => void; progress: (r: ReplayReport) => void; now?: () => Date;
}): Promise<ReplayReport> {
  const now = o.now ?? (() => new Date());
  const rep: ReplayReport = { version: o.v.version, against: [...new Set(o.samples.map((s) => s.version))].sort().slice(0, 8), samples: 0, agree: 0, errors: 0, maxAbsDiff: null, done: false, at: now().toISOString() };
  for (const s of o.samples) {
    await yieldToRequests();
    if (o.stopped()) return rep;
    const wanted = s.outputs.map((t) => t.name);
    const run = o.runtime.runSession(o.v, s.feeds, wanted);
    o.track(run);
    rep.samples++;
    try {
      const out = o.runtime.outputsOf(o.v, await run, wanted);
      const current = o.runtime.manifestFor(o.name, s.version);
      if (current !== undefined && outputsAgree(current, s.outputs, out, o.rule)) rep.agree++;
      const d = maxAbsDiff(s.outputs, out);
      if (d !== null) rep.maxAbsDiff = Math.max(rep.maxAbsDiff ?? 0, d);
    } catch {
      rep.errors++;
    }
    rep.at = now().toISOString();
    o.progress({ ...rep });
  }
  rep.done = true;
  rep.at = now().toISOString();
  o.progress({ ...rep });
  return rep;
}
