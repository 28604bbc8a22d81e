// Gate numbers from the hourly rollups (docs/rollouts.md "Gates", docs/decisions/0030-gates-from-rollups-and-staging-rings.md):
// the whole hours of [from, to) are merged from the rollups of the group's devices (hub/src/rollups/), and
// only a partial hour at an edge reads raw windows — and only when the hour holds windows outside the
// range; otherwise its rollup is the same sum. So the numbers equal WindowGateData's (gate-data.ts) on the
// same data, without parsing every window of a 24 h wave. Where retention already deleted an edge
// hour's raw windows, that hour's rollup is used whole (it may then include windows that started up
// to an hour before `from`): gates keep working after the raw windows expire. Likewise a range reaching
// back past the hourly rollups' horizon (rollups/expiry.ts) is read in whole days.
import { createHash } from 'node:crypto';
import { LATENCY_BUCKETS, type SummaryWindow } from '@edgefleet/shared';
import type { Db } from '../store/db.js';
import type { RollupsRepo, ScanRange, Series } from '../store/rollups-repo.js';
import { HOUR_SEC } from '../store/rollups-repo.js';
import { collect, planRanges, type Group } from '../rollups/query.js';
import { addValues, emptyValues, type RollupValues } from '../rollups/values.js';
import { addStats, addVolume, addWindow, emptyStats, WindowGateData, type GateData, type GroupQuery, type GroupStats } from './gate-data.js';
import type { DeviceVolume } from './device-share.js';

const HOUR_MS = HOUR_SEC * 1000;
/** Merged edge hours kept (a few per running rollout: wave and control, two edges). */
const MAX_CACHED_EDGES = 64;

/** An edge's raw windows merged (`n` of the version's windows in its range when merged). */
interface Edge {
  n: number;
  s: GroupStats;
  v: Map<string, DeviceVolume>;
}

export interface RollupGateOptions {
  /**
   * Raw windows that started before this time (ms) may have been deleted by retention
   * (hub/src/rollups/retention.ts); every window that started at or after it is still stored.
   * Default: nothing deleted.
   */
  rawFrom?: () => number;
}

/** How the rollup part of a query was merged, for tests and the bench. */
export interface MergeTrace {
  /** Device rows merged directly, or the fleet rows minus the rows of the devices outside the group. */
  via: 'devices' | 'fleet-minus-others' | 'none';
  /** Raw windows parsed at the edges (0 when the edges came from the cache). */
  rawWindows: number;
}

export class RollupGateData implements GateData {
  private readonly windows: WindowGateData;
  /** The last query's trace. */
  lastTrace: MergeTrace = { via: 'none', rawWindows: 0 };
  private readonly edges = new Map<string, Edge>();

  constructor(private readonly deps: { db: Db; rollups: RollupsRepo }, private readonly opts: RollupGateOptions = {}) {
    this.windows = new WindowGateData(deps.db);
  }

  stats(q: GroupQuery): GroupStats {
    this.lastTrace = { via: 'none', rawWindows: 0 };
    const from = Date.parse(q.from);
    const to = Date.parse(q.to);
    if (q.devices.size === 0 || !(to > from)) return emptyStats();
    // A shadow stage's numbers are not rolled up: its windows (a few devices over its bake) are merged.
    if (q.shadowOf !== undefined) return this.windows.stats(q);
    // Ingest refuses versions the registry lacks (decision 0014), so every stored window has a series;
    // without one there is nothing rolled up to read.
    const series = this.deps.rollups.seriesFor(q.model, q.version);
    if (!series) return this.windows.stats(q);
    const p = this.split(q, from, to);
    if (p.whole) return this.merged(series, q.devices, p.hoursFrom, p.hoursTo);
    const s = p.hoursTo > p.hoursFrom ? this.merged(series, q.devices, p.hoursFrom, p.hoursTo) : emptyStats();
    for (const [a, b] of p.raw) addStats(s, this.edge(q, a, b).s);
    return s;
  }

  /**
   * Which part of [from, to) is read from the rollups (whole hours [hoursFrom, hoursTo)) and which edges
   * from raw windows (`raw`); `whole`: the range reaches before the hourly horizon (rollups/expiry.ts) and
   * is read in whole days there, from the rollups alone (raw edges inside days read whole would be counted twice).
   */
  private split(q: GroupQuery, from: number, to: number): { hoursFrom: number; hoursTo: number; raw: Array<[number, number]>; whole: boolean } {
    const rawFrom = this.opts.rawFrom?.() ?? -Infinity;
    const first = Math.floor(from / HOUR_MS) * HOUR_MS;
    const last = Math.floor((to - 1) / HOUR_MS) * HOUR_MS; // the hour holding the range's last instant
    if (first < this.deps.rollups.horizon().hourlyFrom) return { hoursFrom: first, hoursTo: last + HOUR_MS, raw: [], whole: true };
    // An edge hour is read from its rollup when no window of the hour lies outside the range (or when
    // the raw windows inside the range may be gone), else from the raw windows inside the range. Before
    // `rawFrom` a probe cannot see the deleted windows, so a partly expired first hour is read raw.
    const outside = (a: number, b: number) => b > a && (a < rawFrom || this.anyRaw(q, a, b));
    let hoursFrom = first;
    let hoursTo = last + HOUR_MS;
    const raw: Array<[number, number]> = [];
    if (first === last) {
      if (from >= rawFrom && (outside(first, from) || outside(to, first + HOUR_MS))) {
        raw.push([from, to]);
        hoursTo = hoursFrom;
      }
    } else {
      if (from >= rawFrom && outside(first, from)) {
        raw.push([from, first + HOUR_MS]);
        hoursFrom = first + HOUR_MS;
      }
      if (last >= rawFrom && outside(to, last + HOUR_MS)) {
        raw.push([last, to]);
        hoursTo = last;
      }
    }
    return { hoursFrom, hoursTo, raw, whole: false };
  }

  /**
   * Each device's predictions, requests and binned output values in [from, to) (the share a device holds
   * of a group: device-share.ts), split as stats() splits the range: the whole hours from its own rollup
   * rows, an edge hour holding windows outside the range from its raw windows inside it. A device of an
   * earlier wave was otherwise counted with what it reported before this wave began in the same hour, and
   * left out of a later wave's numbers for it.
   */
  volumes(q: GroupQuery): Map<string, DeviceVolume> {
    const out = new Map<string, DeviceVolume>();
    const from = Date.parse(q.from);
    const to = Date.parse(q.to);
    if (q.devices.size === 0 || !(to > from)) return out;
    const series = this.deps.rollups.seriesFor(q.model, q.version);
    if (!series) return this.windows.volumes(q);
    const p = this.split(q, from, to);
    if (p.hoursTo > p.hoursFrom) {
      const plan = planRanges(p.hoursFrom, p.hoursTo, this.deps.rollups.horizon());
      const groups = collect(this.deps.rollups, series, plan, { lat: true, dist: true, errors: false, devices: [...q.devices], keyOf: (row) => row.deviceId });
      for (const [id, g] of groups) {
        let requests = 0;
        for (let i = 0; i < LATENCY_BUCKETS; i++) requests += Math.max(0, g.values.lat[2 + i] as number);
        // The binned output values output_shift reads (toStats), as WindowGateData.volumes sums them.
        let values = 0;
        for (const o of series.layout.outputs) if (o.edges) for (let i = 0; i < o.bins + 2; i++) values += g.values.dist[o.offset + i] as number;
        out.set(id, { count: g.values.count, requests, values });
      }
    }
    for (const [a, b] of p.raw) {
      for (const [id, v] of this.edge(q, a, b).v) {
        const o = out.get(id) ?? { count: 0, requests: 0, values: 0 };
        out.set(id, { count: o.count + v.count, requests: o.requests + v.requests, values: o.values + v.values });
      }
    }
    return out;
  }

  /** Whether any raw window of the version starts in [a, b) (an index probe). */
  private anyRaw(q: GroupQuery, a: number, b: number): boolean {
    return this.deps.db
      .prepare('SELECT 1 FROM device_windows WHERE model = ? AND version = ? AND start >= ? AND start < ? LIMIT 1')
      .get(q.model, q.version, new Date(a).toISOString(), new Date(b).toISOString()) !== undefined;
  }

  /**
   * The raw windows of the group in [a, b) merged, and each device's volume in them. Kept while the
   * number of the version's windows in [a, b) stays the same (windows are only inserted or expired): a
   * wave's first partial hour is parsed once, not on every step of its evaluation.
   */
  private edge(q: GroupQuery, a: number, b: number): Edge {
    const [from, to] = [new Date(a).toISOString(), new Date(b).toISOString()];
    const n = this.deps.db.prepare('SELECT COUNT(*) FROM device_windows WHERE model = ? AND version = ? AND start >= ? AND start < ?').pluck(true).get(q.model, q.version, from, to) as number;
    const key = `${q.model}\0${q.version}\0${a}\0${b}\0${createHash('sha256').update([...q.devices].sort().join('\0')).digest('hex')}`;
    const hit = this.edges.get(key);
    if (hit?.n === n) return hit;
    const e: Edge = { n, s: emptyStats(), v: new Map() };
    const rows = this.deps.db
      .prepare('SELECT device_id, window FROM device_windows WHERE model = ? AND version = ? AND start >= ? AND start < ?')
      .iterate(q.model, q.version, from, to) as IterableIterator<{ device_id: string; window: string }>;
    for (const r of rows) {
      if (!q.devices.has(r.device_id)) continue;
      const w = JSON.parse(r.window) as SummaryWindow;
      addWindow(e.s, r.device_id, w);
      addVolume(e.v, r.device_id, w);
      this.lastTrace.rawWindows++;
    }
    if (this.edges.size >= MAX_CACHED_EDGES) this.edges.clear();
    this.edges.set(key, e);
    return e;
  }

  /**
   * The group's rollups over whole hours [a, b). When the devices outside the group hold fewer rows than
   * the group (a control of most of the fleet), the fleet rows minus theirs: the same integer counts.
   * The newest hour (or day) without a fleet row — ingest deletes it with every batch into it — is read
   * from the group's device rows instead of building a fleet row that the next batch deletes again.
   */
  private merged(s: Series, devices: ReadonlySet<string>, a: number, b: number): GroupStats {
    const { rollups } = this.deps;
    const plan = planRanges(a, b, rollups.horizon());
    const rows = rollups.rowsPerDevice(s.id, plan.ranges);
    let inside = 0;
    let outsideRows = 0;
    const reporting = new Set<string>();
    const others: string[] = [];
    for (const [id, n] of rows) {
      if (devices.has(id)) {
        inside += n;
        reporting.add(id);
      } else {
        outsideRows += n;
        others.push(id);
      }
    }
    if (inside === 0) return emptyStats();
    const want = { dist: true, lat: true, mom: false, errors: false };
    const fleetRows = plan.ranges.reduce((n, r) => n + Math.ceil((r.to - r.from) / (r.grain * 1000)), 0);
    let v: RollupValues;
    if (fleetRows + outsideRows < inside) {
      this.lastTrace.via = 'fleet-minus-others';
      const newest = plan.ranges.findLast((r) => r.to > r.from) as ScanRange;
      const start = newest.to - newest.grain * 1000;
      const open = rollups.fleetHas(s.id, newest.grain, start) ? null : { ...plan, ranges: [{ grain: newest.grain, from: start, to: newest.to }] };
      const closed = open ? { ...plan, ranges: plan.ranges.map((r) => (r === newest ? { ...r, to: start } : r)) } : plan;
      v = valuesOf(s, collect(rollups, s, closed, { ...want, fleet: true, countDevices: false }).get(''));
      if (others.length) subtract(v, valuesOf(s, collect(rollups, s, closed, { ...want, devices: others }).get('')));
      if (open) addValues(v, valuesOf(s, collect(rollups, s, open, { ...want, devices: [...reporting] }).get('')));
    } else {
      this.lastTrace.via = 'devices';
      v = valuesOf(s, collect(rollups, s, plan, { ...want, devices: [...reporting] }).get(''));
    }
    return toStats(s, v, reporting);
  }
}

function valuesOf(s: Series, g: Group | undefined): RollupValues {
  return g?.values ?? emptyValues(s.layout);
}

/** a -= b for the fields the gates read (counts are integers: exact; latency sums are floats). */
function subtract(a: RollupValues, b: RollupValues): void {
  a.windows -= b.windows;
  a.count -= b.count;
  a.errModel -= b.errModel;
  a.errInput -= b.errInput;
  a.errLoad -= b.errLoad;
  for (let i = 0; i < a.dist.length; i++) a.dist[i] = (a.dist[i] as number) - (b.dist[i] as number);
  for (let i = 0; i < a.lat.length; i++) a.lat[i] = (a.lat[i] as number) - (b.lat[i] as number);
}

/** The gate numbers of merged rollup values, in the shapes WindowGateData builds from windows. */
function toStats(s: Series, v: RollupValues, reporting: Set<string>): GroupStats {
  const out = emptyStats();
  if (v.windows <= 0) return out;
  out.windows = v.windows;
  out.reportingDevices = reporting;
  out.count = v.count;
  out.modelErrors = v.errModel;
  out.inputErrors = v.errInput;
  const lat = v.lat;
  for (let i = 0; i < LATENCY_BUCKETS; i++) out.requests += Math.max(0, lat[2 + i] as number);
  out.answered = {
    counts: Array.from({ length: LATENCY_BUCKETS }, (_, i) => Math.max(0, (lat[2 + i] as number) - (lat[2 + LATENCY_BUCKETS + i] as number))),
    sumMs: Math.max(0, (lat[0] as number) - (lat[1] as number)),
  };
  const slice = (offset: number, bins: number) => Array.from(v.dist.subarray(offset, offset + bins + 2));
  for (const o of s.layout.outputs) if (o.edges) out.outputs.set(o.name, slice(o.offset, o.bins));
  for (const f of s.layout.features) if (f.kind === 'numeric' && f.edges) out.features.set(f.name, slice(f.offset, f.bins));
  return out;
}
