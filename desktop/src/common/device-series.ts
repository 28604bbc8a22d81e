// The device view's metrics over time (docs/console.md "Device"): the summary windows a device sent
// (GET /devices/{id}/windows) bucketed into equal steps over the shown range: predictions, the error
// rate (every failed request, of any kind, over all requests: the latency samples, one per request,
// since a window's count is its answered rows only, docs/agent-summaries.md) and p95 latency (the latency sketches
// merged per bucket; a bucket's upper bound, as the hub's metrics). Numbers another machine reported
// are checked before they are summed: a negative or non-finite count is skipped and counted as such.
// The request rate is over the time the version had windows (their lengths, each start once), not the
// whole range: a version installed 15 minutes before the end of a 6-hour range served for 15 minutes.
import { LATENCY_BUCKETS, emptyLatency, latencyCount, latencyQuantile, mergeLatency } from '@edgefleet/shared/browser';
import type { SummaryWindow } from '@edgefleet/shared';

export type SeriesWindow = Pick<SummaryWindow, 'start' | 'lengthSec' | 'count' | 'errors' | 'latency'>;

export interface DeviceSeries {
  /** Bucket starts (ms since the epoch), `stepMs` apart, covering [since, until). */
  starts: number[];
  stepMs: number;
  predictions: number[];
  /** Failed requests over all requests; null in a bucket without requests. */
  errorRate: Array<number | null>;
  /** ms; null without requests, Infinity in the overflow bucket. */
  p95: Array<number | null>;
  windows: number;
  /** Seconds the used windows cover (each start once, its longest length): the time the version served in the range. */
  coveredSec: number;
  /** Requests (answered or failed) per second of `coveredSec`; null without requests. */
  reqPerSec: number | null;
  /** Windows left out: outside the range, or with a latency sketch of another layout, or counts that are not finite non-negative numbers. */
  skipped: number;
}

const okCount = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 0;

export function deviceSeries(windows: readonly SeriesWindow[], since: number, until: number, buckets: number): DeviceSeries {
  if (!(until > since) || !Number.isInteger(buckets) || buckets < 1 || buckets > 1000) {
    throw new RangeError(`device series: expected since < until and 1..1000 buckets, got ${since}..${until} in ${buckets}`);
  }
  const stepMs = (until - since) / buckets;
  const starts = Array.from({ length: buckets }, (_, i) => since + i * stepMs);
  const predictions = new Array<number>(buckets).fill(0);
  const errors = new Array<number>(buckets).fill(0);
  const latency = starts.map(() => emptyLatency());
  let used = 0;
  let skipped = 0;
  const covered = new Map<number, number>();
  for (const w of windows) {
    const t = Date.parse(w.start);
    const errs = Object.values(w.errors ?? {});
    if (!(t >= since && t < until) || !okCount(w.count) || !errs.every(okCount) || w.latency?.counts?.length !== LATENCY_BUCKETS || !w.latency.counts.every(okCount) || !okCount(w.latency.sumMs) || !(Number.isInteger(w.lengthSec) && w.lengthSec > 0)) { skipped++; continue; }
    const i = Math.min(buckets - 1, Math.floor((t - since) / stepMs));
    predictions[i] = (predictions[i] as number) + w.count;
    errors[i] = (errors[i] as number) + errs.reduce((a, b) => a + b, 0);
    latency[i] = mergeLatency(latency[i] as SummaryWindow['latency'], w.latency);
    covered.set(t, Math.max(covered.get(t) ?? 0, w.lengthSec));
    used++;
  }
  const requests = latency.reduce((a, l) => a + latencyCount(l), 0);
  const coveredSec = [...covered.values()].reduce((a, b) => a + b, 0);
  return {
    starts, stepMs, predictions,
    errorRate: latency.map((l, i) => {
      const requests = latencyCount(l);
      return requests > 0 ? Math.min(1, (errors[i] as number) / requests) : null;
    }),
    p95: latency.map((l) => (latencyCount(l) > 0 ? latencyQuantile(l, 0.95) : null)),
    windows: used, skipped, coveredSec,
    reqPerSec: requests > 0 && coveredSec > 0 ? requests / coveredSec : null,
  };
}
