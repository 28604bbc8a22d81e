// Prometheus metrics of the local API in text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/). Counters and
// histograms are plain arrays updated in O(1) on the request path, through a
// MetricSeries the handler keeps per model version.

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

interface Hist { model: string; version: string; counts: number[]; sum: number; count: number }

export interface MetricsSources {
  /** Queue depth per model name. */
  queueDepths(): Array<{ model: string; depth: number }>;
  /** Load time of each live version. */
  loadTimes(): Array<{ model: string; version: string; seconds: number }>;
}

interface Counter { model: string; version: string; outcome: string; n: number }

/**
 * Series of versions no longer live that are kept (rendered or not) before the oldest of them are
 * forgotten: bounds memory on a box nobody scrapes (docs/agent.md "Local API").
 */
export const RETIRED_SERIES_KEEP = 16;

/**
 * The counters and histogram of one model version, looked up once and kept by
 * the caller: observing through it builds no key and does no map lookup on
 * the success path (the request path is one thread; every µs is throughput).
 */
export class MetricSeries {
  /** @internal Request counters by outcome ("ok" first), in the order first seen. */
  readonly counters: Counter[];
  /** @internal */
  readonly hist: Hist;
  /** @internal */
  gone: Counter | undefined;
  /** @internal Rendered once since its version stopped being live: forgotten at the next render. */
  shownRetired = false;
  private readonly okCount: Counter;
  private readonly errors = new Map<string, Counter>();

  /** @internal */
  constructor(model: string, version: string) {
    this.okCount = { model, version, outcome: 'ok', n: 0 };
    this.counters = [this.okCount];
    this.hist = { model, version, counts: new Array<number>(BUCKETS.length).fill(0), sum: 0, count: 0 };
  }

  ok(seconds: number): void {
    this.okCount.n++;
    const h = this.hist;
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++;
    if (i < BUCKETS.length) h.counts[i]!++;
    h.sum += seconds;
    h.count++;
  }

  /** code: an error code such as INVALID_INPUT. */
  error(code: string, seconds: number): void {
    void seconds; // only successful requests go into the latency histogram
    let c = this.errors.get(code);
    if (!c) {
      c = { model: this.hist.model, version: this.hist.version, outcome: code, n: 0 };
      this.errors.set(code, c);
      this.counters.push(c);
    }
    c.n++;
  }

  /** A request whose client went away while it waited for a run slot, taken out of the queue (core.ts abandon()). */
  abandoned(): void {
    (this.gone ??= { model: this.hist.model, version: this.hist.version, outcome: '', n: 0 }).n++;
  }
}

/**
 * Counters and histograms per model version. A version's series lives while the version is live in the
 * runtime (active, or released once its last pinned request finished: `isLive`); after that it is
 * rendered by one more scrape, with its final counts, and then forgotten, as it is (oldest first) when
 * more than RETIRED_SERIES_KEEP such series wait for a scrape. A box that gets a new version every day
 * would otherwise list every version it ever served on /metrics.
 */
export class ApiMetrics {
  private readonly series_ = new Map<string, MetricSeries>();

  /** isLive: whether a version can still be observed (default: always, nothing is forgotten). */
  constructor(private readonly isLive: (model: string, version: string) => boolean = () => true) {}

  /** Versions with a series held (tests). */
  get seriesCount(): number {
    return this.series_.size;
  }

  /** outcome: "ok" or an error code such as INVALID_INPUT. */
  observe(model: string, version: string, outcome: string, seconds: number): void {
    const s = this.series(model, version);
    if (outcome === 'ok') s.ok(seconds);
    else s.error(outcome, seconds);
  }

  /** The series of one model version (created on first use; the same object every time while it is held). */
  series(model: string, version: string): MetricSeries {
    const hk = `${model}\u0000${version}`;
    let s = this.series_.get(hk);
    if (!s) {
      // Created empty; render() leaves out counters and histograms nothing was observed in yet.
      s = new MetricSeries(model, version);
      this.series_.set(hk, s);
      this.trimRetired();
    }
    return s;
  }

  /** Forgets the oldest series of versions no longer live past RETIRED_SERIES_KEEP. */
  private trimRetired(): void {
    let retired = 0;
    for (const s of this.series_.values()) if (!this.isLive(s.hist.model, s.hist.version)) retired++;
    for (const [k, s] of this.series_) {
      if (retired <= RETIRED_SERIES_KEEP) return;
      if (this.isLive(s.hist.model, s.hist.version)) continue;
      this.series_.delete(k);
      retired--;
    }
  }

  render(src: MetricsSources): string {
    const all = [...this.series_.values()];
    // A series whose version is no longer live is shown by this scrape for the last time.
    for (const [k, s] of this.series_) {
      if (this.isLive(s.hist.model, s.hist.version)) s.shownRetired = false;
      else if (s.shownRetired) {
        this.series_.delete(k);
        all.splice(all.indexOf(s), 1);
      } else s.shownRetired = true;
    }
    const l: string[] = [];
    l.push('# HELP edgefleet_agent_requests_total Inference requests by model, version and outcome (ok or error code).');
    l.push('# TYPE edgefleet_agent_requests_total counter');
    for (const s of all) for (const r of s.counters) if (r.n > 0) l.push(`edgefleet_agent_requests_total{${labels({ model: r.model, version: r.version, outcome: r.outcome })}} ${r.n}`);
    l.push('# HELP edgefleet_agent_requests_abandoned_total Requests taken out of their model\'s queue without running: the client went away while they waited for a run slot.');
    l.push('# TYPE edgefleet_agent_requests_abandoned_total counter');
    for (const s of all) if (s.gone && s.gone.n > 0) l.push(`edgefleet_agent_requests_abandoned_total{${labels({ model: s.gone.model, version: s.gone.version })}} ${s.gone.n}`);
    l.push('# HELP edgefleet_agent_request_duration_seconds Latency of successful inference requests.');
    l.push('# TYPE edgefleet_agent_request_duration_seconds histogram');
    for (const { hist: h } of all) {
      if (h.count === 0) continue;
      const base = labels({ model: h.model, version: h.version });
      let acc = 0;
      BUCKETS.forEach((b, i) => {
        acc += h.counts[i]!;
        l.push(`edgefleet_agent_request_duration_seconds_bucket{${base},le="${b}"} ${acc}`);
      });
      l.push(`edgefleet_agent_request_duration_seconds_bucket{${base},le="+Inf"} ${h.count}`);
      l.push(`edgefleet_agent_request_duration_seconds_sum{${base}} ${h.sum}`);
      l.push(`edgefleet_agent_request_duration_seconds_count{${base}} ${h.count}`);
    }
    l.push('# HELP edgefleet_agent_queue_depth Requests waiting for a free inference slot, per model.');
    l.push('# TYPE edgefleet_agent_queue_depth gauge');
    for (const q of src.queueDepths()) l.push(`edgefleet_agent_queue_depth{${labels({ model: q.model })}} ${q.depth}`);
    l.push('# HELP edgefleet_agent_model_load_seconds Time to load and warm up a model version.');
    l.push('# TYPE edgefleet_agent_model_load_seconds gauge');
    for (const t of src.loadTimes()) l.push(`edgefleet_agent_model_load_seconds{${labels({ model: t.model, version: t.version })}} ${t.seconds}`);
    l.push('# HELP edgefleet_agent_process_resident_memory_bytes Resident set size of the agent process.');
    l.push('# TYPE edgefleet_agent_process_resident_memory_bytes gauge');
    l.push(`edgefleet_agent_process_resident_memory_bytes ${process.memoryUsage.rss()}`);
    return `${l.join('\n')}\n`;
  }
}

function labels(o: Record<string, string>): string {
  return Object.entries(o).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',');
}
