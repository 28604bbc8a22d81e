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
 * The counters and histogram of one model version, looked up once and kept by
 * the caller: observing through it builds no key and does no map lookup on
 * the success path (the request path is one thread; every µs is throughput).
 */
export class MetricSeries {
  private readonly errors = new Map<string, Counter>();
  private gone: Counter | undefined;

  /** @internal */
  constructor(private readonly owner: ApiMetrics, private readonly okCount: Counter, private readonly hist: Hist) {}

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
      c = this.owner.counter(this.hist.model, this.hist.version, code);
      this.errors.set(code, c);
    }
    c.n++;
  }

  /** A request whose client went away while it waited for a run slot, taken out of the queue (core.ts abandon()). */
  abandoned(): void {
    (this.gone ??= this.owner.abandonedCounter(this.hist.model, this.hist.version)).n++;
  }
}

export class ApiMetrics {
  private readonly requests = new Map<string, Counter>();
  private readonly abandoned = new Map<string, Counter>();
  private readonly hists = new Map<string, Hist>();
  private readonly series_ = new Map<string, MetricSeries>();

  /** outcome: "ok" or an error code such as INVALID_INPUT. */
  observe(model: string, version: string, outcome: string, seconds: number): void {
    const s = this.series(model, version);
    if (outcome === 'ok') s.ok(seconds);
    else s.error(outcome, seconds);
  }

  /** The series of one model version (created on first use; the same object every time). */
  series(model: string, version: string): MetricSeries {
    const hk = `${model}\u0000${version}`;
    let s = this.series_.get(hk);
    if (!s) {
      // Created empty; render() leaves out counters and histograms nothing was observed in yet.
      const h: Hist = { model, version, counts: new Array<number>(BUCKETS.length).fill(0), sum: 0, count: 0 };
      s = new MetricSeries(this, this.counter(model, version, 'ok'), h);
      this.hists.set(hk, h);
      this.series_.set(hk, s);
    }
    return s;
  }

  /** @internal The request counter of one model, version and outcome. */
  counter(model: string, version: string, outcome: string): Counter {
    const key = `${model}\u0000${version}\u0000${outcome}`;
    let r = this.requests.get(key);
    if (!r) {
      r = { model, version, outcome, n: 0 };
      this.requests.set(key, r);
    }
    return r;
  }

  /** @internal The abandoned-request counter of one model version. */
  abandonedCounter(model: string, version: string): Counter {
    const key = `${model}\u0000${version}`;
    let r = this.abandoned.get(key);
    if (!r) {
      r = { model, version, outcome: '', n: 0 };
      this.abandoned.set(key, r);
    }
    return r;
  }

  render(src: MetricsSources): string {
    const l: string[] = [];
    l.push('# HELP edgefleet_agent_requests_total Inference requests by model, version and outcome (ok or error code).');
    l.push('# TYPE edgefleet_agent_requests_total counter');
    for (const r of this.requests.values()) if (r.n > 0) l.push(`edgefleet_agent_requests_total{${labels({ model: r.model, version: r.version, outcome: r.outcome })}} ${r.n}`);
    l.push('# HELP edgefleet_agent_requests_abandoned_total Requests taken out of their model\'s queue without running: the client went away while they waited for a run slot.');
    l.push('# TYPE edgefleet_agent_requests_abandoned_total counter');
    for (const r of this.abandoned.values()) if (r.n > 0) l.push(`edgefleet_agent_requests_abandoned_total{${labels({ model: r.model, version: r.version })}} ${r.n}`);
    l.push('# HELP edgefleet_agent_request_duration_seconds Latency of successful inference requests.');
    l.push('# TYPE edgefleet_agent_request_duration_seconds histogram');
    for (const h of this.hists.values()) {
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
