// Where gate numbers come from (docs/rollouts.md "Gates"): merged sketches of one model version over a
// set of devices and a time range. The engine reads the hourly rollups (rollup-gate-data.ts); the
// window-merging implementation here is the reference it is tested against, and reads the edges.
import { errorKindCounts, latencyCount, mergeLatency, type LatencySketch, type SummaryWindow } from '@edgefleet/shared';
import type { Db } from '../store/db.js';
import type { DeviceVolume, LeftOutDevice } from './device-share.js';

export interface GroupQuery {
  model: string;
  version: string;
  /** Only windows of these devices. */
  devices: ReadonlySet<string>;
  /** Window starts in [from, to). */
  from: string;
  to: string;
  /** Also merge what these windows say of this candidate run in shadow (docs/rollouts.md "Shadow stage"). */
  shadowOf?: string;
}

/** A candidate's shadow runs merged over windows of the version it ran beside. */
export interface ShadowStats {
  reportingDevices: Set<string>;
  sampled: number;
  dropped: number;
  runs: number;
  agree: number;
  errors: number;
  latency: LatencySketch | null;
}

/** One group's merged numbers: what the gates compare. */
export interface GroupStats {
  /** Windows merged, and the devices they came from. */
  windows: number;
  reportingDevices: Set<string>;
  /** Predictions: the rows answered (a window's `count`; a request may carry a batch of them). */
  count: number;
  /** Requests answered or failed (the latency samples, one per request): what an error rate is over. */
  requests: number;
  /** Failures of kind `model` (decision 0012: not invalid input, not shed load). */
  modelErrors: number;
  /** Failures of kind `input`: not held against the version, but named when they keep a wave from its predictions. */
  inputErrors: number;
  /** Latency of answered requests (latency minus errorLatency, bucket by bucket). */
  answered: LatencySketch | null;
  /** Per output name: binned counts (under, bins, over). */
  outputs: Map<string, number[]>;
  /** Per numeric feature name: binned counts (under, bins, over). */
  features: Map<string, number[]>;
  /** With `shadowOf` in the query. */
  shadow: ShadowStats;
  /** A device holding more than gates.maxDeviceShare of the group's numbers, left out of them (device-share.ts). */
  leftOut?: LeftOutDevice;
}

export interface GateData {
  stats(q: GroupQuery): GroupStats;
  /** Each reporting device's predictions, requests and binned output values over the query's range (device-share.ts; whole hours may be read). */
  volumes(q: GroupQuery): Map<string, DeviceVolume>;
}

export function emptyStats(): GroupStats {
  return {
    windows: 0, reportingDevices: new Set(), count: 0, requests: 0, modelErrors: 0, inputErrors: 0, answered: null, outputs: new Map(), features: new Map(),
    shadow: { reportingDevices: new Set(), sampled: 0, dropped: 0, runs: 0, agree: 0, errors: 0, latency: null },
  };
}

/** Adds a window's shadow summary of `candidate` (if it has one) to the group's shadow numbers. */
export function addShadow(s: ShadowStats, deviceId: string, w: Pick<SummaryWindow, 'shadow'>, candidate: string): void {
  const x = w.shadow?.find((e) => e.version === candidate);
  if (!x) return;
  s.reportingDevices.add(deviceId);
  s.sampled += x.sampled;
  s.dropped += x.dropped;
  s.runs += x.runs;
  s.agree += x.agree;
  s.errors += x.errors;
  s.latency = s.latency ? mergeLatency(s.latency, x.latency) : { counts: [...x.latency.counts], sumMs: x.latency.sumMs };
}

function addBins(into: Map<string, number[]>, name: string, h: { counts: number[]; under: number; over: number }): void {
  addBinned(into, name, [h.under, ...h.counts, h.over]);
}

/** Adds binned counts (under, bins, over) under `name`; `v` is copied, never kept. */
function addBinned(into: Map<string, number[]>, name: string, v: readonly number[]): void {
  const cur = into.get(name);
  if (!cur) {
    into.set(name, [...v]);
    return;
  }
  if (cur.length !== v.length) return; // another layout (another reference): not comparable, left out
  for (let i = 0; i < v.length; i++) cur[i] = (cur[i] as number) + (v[i] as number);
}

/** Merges one window into a group's stats. */
export function addWindow(s: GroupStats, deviceId: string, w: Pick<SummaryWindow, 'count' | 'errors' | 'latency' | 'errorLatency' | 'outputs' | 'features'>): void {
  s.windows++;
  s.reportingDevices.add(deviceId);
  s.count += w.count;
  s.requests += latencyCount(w.latency);
  const kinds = errorKindCounts(w.errors);
  s.modelErrors += kinds.model;
  s.inputErrors += kinds.input;
  let answered = w.latency;
  if (w.errorLatency) {
    const e = w.errorLatency;
    answered = { counts: w.latency.counts.map((c, i) => Math.max(0, c - (e.counts[i] ?? 0))), sumMs: Math.max(0, w.latency.sumMs - e.sumMs) };
  }
  s.answered = s.answered ? mergeLatency(s.answered, answered) : { counts: [...answered.counts], sumMs: answered.sumMs };
  for (const o of w.outputs) if (o.hist) addBins(s.outputs, o.name, o.hist);
  for (const f of w.features) if (f.kind === 'numeric' && f.hist) addBins(s.features, f.name, f.hist);
}

/** Adds `b`'s numbers to `s` (b unchanged). */
export function addStats(s: GroupStats, b: GroupStats): void {
  s.windows += b.windows;
  for (const id of b.reportingDevices) s.reportingDevices.add(id);
  s.count += b.count;
  s.requests += b.requests;
  s.modelErrors += b.modelErrors;
  s.inputErrors += b.inputErrors;
  if (b.answered) s.answered = s.answered ? mergeLatency(s.answered, b.answered) : { counts: [...b.answered.counts], sumMs: b.answered.sumMs };
  for (const [name, v] of b.outputs) addBinned(s.outputs, name, v);
  for (const [name, v] of b.features) addBinned(s.features, name, v);
}

/** Gate numbers merged from the windows stored in hub.db (store/telemetry-repo.ts). */
export class WindowGateData implements GateData {
  constructor(private readonly db: Db) {}

  stats(q: GroupQuery): GroupStats {
    const s = emptyStats();
    if (q.devices.size === 0) return s;
    for (const [deviceId, w] of this.windowsOf(q)) {
      addWindow(s, deviceId, w);
      if (q.shadowOf !== undefined) addShadow(s.shadow, deviceId, w, q.shadowOf);
    }
    return s;
  }

  volumes(q: GroupQuery): Map<string, DeviceVolume> {
    const out = new Map<string, DeviceVolume>();
    for (const [deviceId, w] of this.windowsOf(q)) addVolume(out, deviceId, w);
    return out;
  }

  /** The stored windows of the query's devices and range, parsed. */
  private *windowsOf(q: GroupQuery): Generator<[string, SummaryWindow]> {
    const rows = this.db
      .prepare('SELECT device_id, window FROM device_windows WHERE model = ? AND version = ? AND start >= ? AND start < ?')
      .iterate(q.model, q.version, q.from, q.to) as IterableIterator<{ device_id: string; window: string }>;
    for (const r of rows) if (q.devices.has(r.device_id)) yield [r.device_id, JSON.parse(r.window) as SummaryWindow];
  }
}

/** Adds a window's predictions, requests and binned output values to its device's volume (device-share.ts). */
export function addVolume(out: Map<string, DeviceVolume>, deviceId: string, w: SummaryWindow): void {
  const v = out.get(deviceId) ?? { count: 0, requests: 0, values: 0 };
  v.count += w.count;
  v.requests += latencyCount(w.latency);
  for (const o of w.outputs) if (o.hist) v.values += o.hist.under + o.hist.over + o.hist.counts.reduce((a, b) => a + b, 0);
  out.set(deviceId, v);
}
