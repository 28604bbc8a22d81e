// Watches a freshly activated version against its manifest policy (error rate, p95 latency) for the
// observation window; on a breach it calls back so the box rolls back locally (policy/guard.ts) — enrolled
// or standalone, online or offline. It sees every prediction as a PredictionRecorder, in memory only.
// Only the model's own failures count against it (docs/agent-summaries.md "Error kinds"): a
// caller's invalid input and load shed with 503 are counted apart and never judged, and p95 latency
// is over answered requests only (a refused request's few microseconds would hide a slow model).
import { addLatency, emptyLatency, errorKind, latencyQuantile } from '@edgefleet/shared/core';
import type { LatencySketch, Policy } from '@edgefleet/shared';
import type { PredictionRecorder, RecordedTensor } from '../runtime/recorder.js';

/**
 * The p95 a latency policy is judged on is over requests of at most this many rows (the first
 * dimension of the first input): a request carrying more is slow by its size, not by the model.
 */
export const MAX_LATENCY_ROWS = 64;

/**
 * The longest one timer of a watch waits. Node fires a setTimeout of more than 2^31 - 1 ms (24.8 days)
 * after 1 ms instead: a manifest's 30-day observationWindowSec ended its watch at once, unjudged. A
 * longer window is waited for in steps of at most this (docs/agent.md "Policy and local rollback").
 */
export const MAX_WATCH_TIMER_MS = 86_400_000;

export interface Breach {
  model: string;
  version: string;
  /** Judged requests: answered plus model failures. */
  requests: number;
  /** Model failures. */
  errors: number;
  /** Not judged: requests refused for invalid input, and load shed (reported beside the breach). */
  invalidInput: number;
  shed: number;
  /** Answered requests of more than MAX_LATENCY_ROWS rows: in the error rate, not in the p95. */
  large: number;
  errorRate: number;
  p95Ms: number;
  policy: Policy;
  reason: string;
}

interface Watch {
  version: string;
  policy: Policy;
  until: number;
  requests: number;
  errors: number;
  invalidInput: number;
  shed: number;
  large: number;
  latency: LatencySketch;
  timer: NodeJS.Timeout | undefined;
}

export class PolicyWatcher implements PredictionRecorder {
  private readonly watches = new Map<string, Watch>();

  constructor(
    private readonly onBreach: (b: Breach) => void,
    private readonly now: () => number = Date.now,
    private readonly maxTimerMs = MAX_WATCH_TIMER_MS,
  ) {}

  /** Watches `version` for `windowMs` (default the policy's window; less when resuming after a restart). */
  watch(model: string, version: string, policy: Policy, windowMs = policy.observationWindowSec * 1000): void {
    this.clear(model);
    const w: Watch = {
      version,
      policy,
      until: this.now() + windowMs,
      requests: 0,
      errors: 0,
      invalidInput: 0,
      shed: 0,
      large: 0,
      latency: emptyLatency(),
      timer: undefined,
    };
    this.watches.set(model, w);
    this.arm(model, w, windowMs);
  }

  /** Ends the watch after `leftMs` (by the process's timers, not the wall clock), in steps of at most maxTimerMs. */
  private arm(model: string, w: Watch, leftMs: number): void {
    const step = Math.min(leftMs, this.maxTimerMs);
    w.timer = setTimeout(() => {
      if (this.watches.get(model) !== w) return;
      if (leftMs > step) this.arm(model, w, leftMs - step);
      else this.evaluate(model, true);
    }, step);
    w.timer.unref();
  }

  watching(model: string): string | undefined {
    return this.watches.get(model)?.version;
  }

  clear(model: string): void {
    const w = this.watches.get(model);
    if (w) clearTimeout(w.timer);
    this.watches.delete(model);
  }

  stop(): void {
    for (const m of [...this.watches.keys()]) this.clear(m);
  }

  record(model: string, version: string, feeds: readonly RecordedTensor[], _o: readonly RecordedTensor[], latencyMs: number, waitMs = 0): void {
    const w = this.watches.get(model);
    if (!w || w.version !== version) return;
    w.requests++;
    // The model's time: from its run's start (waiting for a slot or a batch is load), and only for
    // requests of the size a latency policy is written for (a 100,000-row request is slow by its size).
    if ((feeds[0]?.shape[0] ?? 1) > MAX_LATENCY_ROWS) w.large++;
    else addLatency(w.latency, Math.max(0, latencyMs - waitMs));
    if (w.requests >= w.policy.minRequests && w.requests % 10 === 0) this.evaluate(model, false);
  }

  recordError(model: string, version: string, code: string, _latencyMs: number): void {
    const w = this.watches.get(model);
    if (!w || w.version !== version) return;
    const kind = errorKind(code);
    if (kind === 'input') {
      w.invalidInput++;
      return;
    }
    if (kind === 'load') {
      w.shed++;
      return;
    }
    w.requests++;
    w.errors++;
    if (w.requests >= w.policy.minRequests) this.evaluate(model, false);
  }

  /** Checks the watch; at the end of the window a version that passed is no longer watched. */
  evaluate(model: string, final: boolean): Breach | undefined {
    const w = this.watches.get(model);
    if (!w) return undefined;
    if (w.requests >= w.policy.minRequests) {
      const errorRate = w.errors / w.requests;
      // Over answered requests (0 when every judged request failed: then the error rate speaks).
      const p95Ms = latencyQuantile(w.latency, 0.95) ?? 0;
      const reasons: string[] = [];
      if (errorRate > w.policy.maxErrorRate) reasons.push(`error rate ${(errorRate * 100).toFixed(1)}% > ${(w.policy.maxErrorRate * 100).toFixed(1)}%`);
      if (p95Ms > w.policy.maxP95LatencyMs) reasons.push(`p95 latency ${p95Ms.toFixed(1)} ms > ${w.policy.maxP95LatencyMs} ms`);
      if (reasons.length) {
        this.clear(model);
        const b: Breach = { model, version: w.version, requests: w.requests, errors: w.errors, invalidInput: w.invalidInput, shed: w.shed, large: w.large, errorRate, p95Ms, policy: w.policy, reason: `policy breached after ${w.requests} requests: ${reasons.join('; ')}${notJudged(w)}` };
        this.onBreach(b);
        return b;
      }
    }
    if (final || this.now() >= w.until) this.clear(model);
    return undefined;
  }
}

/** What was seen but not held against the model, for the breach's reason. */
function notJudged(w: Watch): string {
  const parts = [
    ...(w.invalidInput || w.shed ? [`${w.invalidInput} invalid input, ${w.shed} shed`] : []),
    ...(w.large ? [`the latency of ${w.large} requests of more than ${MAX_LATENCY_ROWS} rows`] : []),
  ];
  return parts.length ? ` (not judged: ${parts.join('; ')})` : '';
}

/** Sends every prediction to several recorders (summaries and the policy watcher). */
export function teeRecorder(...rs: PredictionRecorder[]): PredictionRecorder {
  return {
    record(m, v, f, o, l, wait) {
      for (const r of rs) r.record(m, v, f, o, l, wait);
    },
    recordError(m, v, c, l) {
      for (const r of rs) r.recordError(m, v, c, l);
    },
  };
}
