// The shadow part of one open summary window (docs/agent-summaries.md "Shadow"): per candidate version,
// what the shadow runner (agent/src/shadow/runner.ts) sampled, dropped, ran and found in agreement.
// Samples are counted in the window of the request they came from; a run that finishes after that
// window was written is not counted (`sealed`), so every window keeps runs + errors <= sampled and
// sampled + dropped <= count, the relations the hub checks (hub/src/ingest/plausibility.ts).
import { LATENCY_BUCKETS } from '@edgefleet/shared/core';
import type { ShadowSummary } from '@edgefleet/shared';
import { latencyIndex } from './acc-kernels.js';

export class ShadowTally {
  sampled = 0;
  dropped = 0;
  runs = 0;
  agree = 0;
  errors = 0;
  /** The window was written: a late result is left out. */
  sealed = false;
  private readonly latency = new Float64Array(LATENCY_BUCKETS);
  private latencySumMs = 0;

  constructor(readonly version: string) {}

  /** A shadow run finished; false when the window was written meanwhile (not counted). */
  ran(latencyMs: number, agreed: boolean): boolean {
    if (this.sealed) return false;
    this.runs++;
    if (agreed) this.agree++;
    const i = latencyIndex(latencyMs);
    this.latency[i] = (this.latency[i] as number) + 1;
    this.latencySumMs += latencyMs;
    return true;
  }

  failed(): boolean {
    if (this.sealed) return false;
    this.errors++;
    return true;
  }

  toWire(): ShadowSummary {
    return {
      version: this.version, sampled: this.sampled, dropped: this.dropped, runs: this.runs, agree: this.agree, errors: this.errors,
      latency: { counts: Array.from(this.latency), sumMs: this.latencySumMs },
    };
  }
}
