// Prometheus metrics of the local API in text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/). Counters and
// histograms are plain arrays updated in O(1) on the request path.

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

interface Hist { model: string; version: string; counts: number[]; sum: number; count: number }

export interface MetricsSources {
  /** Queue depth per model name. */
  queueDepths(): Array<{ model: string; depth: number }>;
  /** Load time of each live version. */
  loadTimes(): Array<{ model: string; version: string; seconds: number }>;
}

export class ApiMetrics {
  private readonly requests = new Map<string, { model: string; version: string; outcome: string; n: number }>();
  private readonly hists = new Map<string, Hist>();

  /** outcome: "ok" or an error code such as INVALID_INPUT. */
  observe(model: string, version: string, outcome: string, seconds: number): void {
    const key = `${model}\u0000${version}\u0000${outcome}`;
    const r = this.requests.get(key);
    if (r) r.n++;
    else this.requests.set(key, { model, version, outcome, n: 1 });
    if (outcome !== 'ok') return;
    const hk = `${model}\u0000${version}`;
    let h = this.hists.get(hk);
    if (!h) {
      h = { model, version, counts: new Array<number>(BUCKETS.length).fill(0), sum: 0, count: 0 };
      this.hists.set(hk, h);
    }
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++;
    if (i < BUCKETS.length) h.counts[i]!++;
    h.sum += seconds;
    h.count++;
  }

  render(src: MetricsSources): string {
    const l: string[] = [];
    l.push('# HELP edgefleet_agent_requests_total Inference requests by model, version and outcome (ok or error code).');
    l.push('# TYPE edgefleet_agent_requests_total counter');
    for (const r of this.requests.values()) l.push(`edgefleet_agent_requests_total{${labels({ model: r.model, version: r.version, outcome: r.outcome })}} ${r.n}`);
    l.push('# HELP edgefleet_agent_request_duration_seconds Latency of successful inference requests.');
    l.push('# TYPE edgefleet_agent_request_duration_seconds histogram');
    for (const h of this.hists.values()) {
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
