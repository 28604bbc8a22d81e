// A small Prometheus registry shared by the API and the MQTT side (it satisfies
// mqtt/ports.ts MetricsPort). Series are created on first use; `describe` adds
// HELP/TYPE and histogram buckets. Rendered in the text exposition format 0.0.4.
type Labels = Record<string, string>;
type Kind = 'counter' | 'gauge' | 'histogram';

interface Family {
  kind: Kind;
  help: string;
  buckets: number[];
  series: Map<string, { labels: Labels; value: number; counts: number[]; sum: number; n: number }>;
}

const DEFAULT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Metrics {
  private readonly families = new Map<string, Family>();
  private readonly beforeRender: Array<() => void> = [];

  /** Runs `fn` before each render (a scrape): gauges read when asked, such as the data dir's disk. */
  onRender(fn: () => void): void {
    this.beforeRender.push(fn);
  }

  describe(name: string, kind: Kind, help: string, buckets: number[] = DEFAULT_BUCKETS): void {
    const f = this.families.get(name);
    if (f) {
      f.kind = kind;
      f.help = help;
      f.buckets = buckets;
    } else {
      this.families.set(name, { kind, help, buckets, series: new Map() });
    }
  }

  inc(name: string, labels: Labels = {}, by = 1): void {
    this.series(name, 'counter', labels).value += by;
  }

  set(name: string, value: number, labels: Labels = {}): void {
    this.series(name, 'gauge', labels).value = value;
  }

  observe(name: string, value: number, labels: Labels = {}): void {
    const f = this.family(name, 'histogram');
    const s = this.series(name, 'histogram', labels);
    if (s.counts.length !== f.buckets.length) s.counts = f.buckets.map(() => 0);
    f.buckets.forEach((b, i) => {
      if (value <= b) s.counts[i] = (s.counts[i] ?? 0) + 1;
    });
    s.sum += value;
    s.n += 1;
  }

  /** The current value of a counter or gauge series (for tests and health output). */
  value(name: string, labels: Labels = {}): number {
    return this.families.get(name)?.series.get(key(labels))?.value ?? 0;
  }

  render(): string {
    for (const fn of this.beforeRender) fn();
    let out = '';
    for (const [name, f] of [...this.families].sort(([a], [b]) => a.localeCompare(b))) {
      if (f.help) out += `# HELP ${name} ${f.help}\n`;
      out += `# TYPE ${name} ${f.kind}\n`;
      for (const s of f.series.values()) {
        if (f.kind !== 'histogram') {
          out += `${name}${fmt(s.labels)} ${s.value}\n`;
          continue;
        }
        f.buckets.forEach((b, i) => {
          out += `${name}_bucket${fmt({ ...s.labels, le: String(b) })} ${s.counts[i] ?? 0}\n`;
        });
        out += `${name}_bucket${fmt({ ...s.labels, le: '+Inf' })} ${s.n}\n`;
        out += `${name}_sum${fmt(s.labels)} ${s.sum}\n${name}_count${fmt(s.labels)} ${s.n}\n`;
      }
    }
    return out;
  }

  private family(name: string, kind: Kind): Family {
    let f = this.families.get(name);
    if (!f) {
      f = { kind, help: '', buckets: DEFAULT_BUCKETS, series: new Map() };
      this.families.set(name, f);
    }
    return f;
  }

  private series(name: string, kind: Kind, labels: Labels) {
    const f = this.family(name, kind);
    const k = key(labels);
    let s = f.series.get(k);
    if (!s) {
      s = { labels: { ...labels }, value: 0, counts: f.buckets.map(() => 0), sum: 0, n: 0 };
      f.series.set(k, s);
    }
    return s;
  }
}

function key(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
}

function fmt(labels: Labels): string {
  const e = Object.entries(labels);
  if (e.length === 0) return '';
  return `{${e.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}
