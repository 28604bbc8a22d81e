// One rollup's values in the flat form of layout.ts, with the operations ingest and queries need:
// add a summary window (ingest), add another rollup (merge); the blobs stored in hub.db
// (store/rollups-repo.ts) are encoded by blobs.ts. Counts add exactly; moments merge with Chan's formula.
import { LATENCY_BUCKETS, countedErrorCode, errorKind, type SummaryWindow } from '@edgefleet/shared';
import { addLatBlob, decodeDist, decodeMom } from './blobs.js';
import { MOMENT_FIELDS, PERF_FIELDS, type CategoricalSlot, type NumericSlot, type OutputSlot, type RollupLayout } from './layout.js';

/** lat vector: [sumMs, errorSumMs, counts (LATENCY_BUCKETS), errorCounts (LATENCY_BUCKETS)]. */
export const LAT_LENGTH = 2 + 2 * LATENCY_BUCKETS;

export interface RollupValues {
  windows: number;
  count: number;
  errModel: number;
  errInput: number;
  errLoad: number;
  /** Errors by code (usually empty). */
  errors: Record<string, number>;
  dist: Float64Array;
  mom: Float64Array;
  lat: Float64Array;
  /** Labels and CBPE (layout.ts PERF_FIELDS, then the confusion counts); all zero when none came. */
  perf: Float64Array;
  /**
   * The first window's start and the last window's end (ms since the epoch; Infinity and -Infinity
   * without windows): the span the version reported in, which its request rate is over (summary.ts).
   */
  firstMs: number;
  lastMs: number;
  /**
   * The sum of the windows' lengths (ms): the time the version's devices served, a gap between windows
   * (a box offline or idle sends none) left out (docs/decisions/0117-rate-over-reported-span.md, addendum).
   */
  activeMs: number;
}

export function perfLength(layout: RollupLayout): number {
  const k = layout.classes?.length ?? 0;
  return PERF_FIELDS + k * k;
}

export function emptyValues(layout: RollupLayout): RollupValues {
  const mom = new Float64Array(layout.momentsCount * MOMENT_FIELDS);
  for (let i = 0; i < layout.momentsCount; i++) {
    mom[i * MOMENT_FIELDS + 3] = Number.NaN; // min
    mom[i * MOMENT_FIELDS + 4] = Number.NaN; // max
  }
  return { windows: 0, count: 0, errModel: 0, errInput: 0, errLoad: 0, errors: {}, dist: new Float64Array(layout.distLength), mom, lat: new Float64Array(LAT_LENGTH), perf: new Float64Array(perfLength(layout)), firstMs: Infinity, lastMs: -Infinity, activeMs: 0 };
}

function addOwn(rec: Record<string, number>, key: string, by: number): void {
  if (Object.hasOwn(rec, key)) rec[key] = (rec[key] as number) + by;
  else Object.defineProperty(rec, key, { value: by, writable: true, enumerable: true, configurable: true });
}

/** Chan's parallel merge of moments (n, mean, m2, min, max) at slot `j` of `into` with `n, mean, m2, min, max`. */
function mergeMomentAt(into: Float64Array, j: number, n: number, mean: number, m2: number, min: number, max: number): void {
  if (n === 0) return;
  const b = j * MOMENT_FIELDS;
  const an = into[b] as number;
  if (an === 0) {
    into[b] = n; into[b + 1] = mean; into[b + 2] = m2; into[b + 3] = min; into[b + 4] = max;
    return;
  }
  const tn = an + n;
  const delta = mean - (into[b + 1] as number);
  into[b + 1] = (into[b + 1] as number) + delta * (n / tn);
  into[b + 2] = (into[b + 2] as number) + m2 + delta * delta * ((an * n) / tn);
  into[b] = tn;
  if (!(min >= (into[b + 3] as number))) into[b + 3] = min;
  if (!(max <= (into[b + 4] as number))) into[b + 4] = max;
}

interface SlotIndex {
  features: Map<string, NumericSlot | CategoricalSlot>;
  outputs: Map<string, OutputSlot>;
  vocab: Map<CategoricalSlot, Map<string, number>>;
}
const indexes = new WeakMap<RollupLayout, SlotIndex>();
function indexOf(layout: RollupLayout): SlotIndex {
  let ix = indexes.get(layout);
  if (!ix) {
    const vocab = new Map<CategoricalSlot, Map<string, number>>();
    for (const f of layout.features) if (f.kind === 'categorical') vocab.set(f, new Map(f.vocabulary.map((v, i) => [v, i])));
    ix = { features: new Map(layout.features.map((f) => [f.name, f])), outputs: new Map(layout.outputs.map((o) => [o.name, o])), vocab };
    indexes.set(layout, ix);
  }
  return ix;
}

/**
 * Bins of another count than the version's edges have (a window not recorded on this manifest): the
 * feature or output adds nothing, its moments neither, so its mean stays that of its bins (docs/drift.md "Rollups", docs/decisions/0149-values-binned-elsewhere-add-nothing.md).
 */
function otherBins(slot: { edges: readonly number[] | null; bins: number }, h: { counts: number[] } | undefined): boolean {
  return slot.edges !== null && h !== undefined && h.counts.length !== slot.bins;
}

function addHist(dist: Float64Array, offset: number, bins: number, h: { counts: number[]; under: number; over: number } | undefined): void {
  if (!h) return;
  dist[offset] = (dist[offset] as number) + h.under;
  for (let i = 0; i < bins; i++) dist[offset + 1 + i] = (dist[offset + 1 + i] as number) + (h.counts[i] as number);
  dist[offset + bins + 1] = (dist[offset + bins + 1] as number) + h.over;
}

/** Adds one window (already checked by the ingest guard) to `v`. Features or outputs the layout lacks are left out. */
export function addWindow(v: RollupValues, layout: RollupLayout, w: SummaryWindow): void {
  const ix = indexOf(layout);
  v.windows++;
  const t = Date.parse(w.start);
  addSpan(v, t, t + w.lengthSec * 1000);
  v.activeMs += w.lengthSec * 1000;
  v.count += w.count;
  for (const code in w.errors) {
    if (!Object.hasOwn(w.errors, code)) continue;
    const n = w.errors[code] as number;
    addOwn(v.errors, countedErrorCode(code), n);
    const kind = errorKind(code);
    if (kind === 'model') v.errModel += n;
    else if (kind === 'input') v.errInput += n;
    else v.errLoad += n;
  }
  const lat = v.lat;
  lat[0] = (lat[0] as number) + w.latency.sumMs;
  const lc = w.latency.counts;
  for (let i = 0; i < lc.length && i < LATENCY_BUCKETS; i++) lat[2 + i] = (lat[2 + i] as number) + (lc[i] as number);
  if (w.errorLatency) {
    lat[1] = (lat[1] as number) + w.errorLatency.sumMs;
    const ec = w.errorLatency.counts;
    for (let i = 0; i < ec.length && i < LATENCY_BUCKETS; i++) lat[2 + LATENCY_BUCKETS + i] = (lat[2 + LATENCY_BUCKETS + i] as number) + (ec[i] as number);
  }
  const dist = v.dist;
  const slots = layout.features;
  for (let k = 0; k < w.features.length; k++) {
    const f = w.features[k] as SummaryWindow['features'][number];
    // Windows list features in the manifest's order as a rule: the slot at the same place first.
    const at = slots[k];
    const slot = at?.name === f.name ? at : ix.features.get(f.name);
    if (!slot || slot.kind !== f.kind) continue;
    if (slot.kind === 'numeric' && f.kind === 'numeric') {
      if (otherBins(slot, f.hist)) continue;
      const tail = slot.offset + (slot.edges ? slot.bins + 2 : 0);
      if (slot.edges) addHist(dist, slot.offset, slot.bins, f.hist);
      dist[tail] = (dist[tail] as number) + f.nulls;
      dist[tail + 1] = (dist[tail + 1] as number) + f.nans;
      const m = f.moments;
      mergeMomentAt(v.mom, slot.moments, m.n, m.mean, m.m2, m.min ?? Number.NaN, m.max ?? Number.NaN);
    } else if (slot.kind === 'categorical' && f.kind === 'categorical') {
      const vocab = ix.vocab.get(slot) as Map<string, number>;
      const other = slot.offset + slot.vocabulary.length;
      for (const key in f.cat.counts) {
        if (!Object.hasOwn(f.cat.counts, key)) continue;
        const i = vocab.get(key);
        const at = i === undefined ? other : slot.offset + i;
        dist[at] = (dist[at] as number) + (f.cat.counts[key] as number);
      }
      dist[other] = (dist[other] as number) + f.cat.other;
      dist[other + 1] = (dist[other + 1] as number) + f.nulls;
    }
  }
  for (const o of w.outputs) {
    const slot = ix.outputs.get(o.name);
    if (!slot || otherBins(slot, o.hist)) continue;
    if (slot.edges) addHist(dist, slot.offset, slot.bins, o.hist);
    const m = o.moments;
    mergeMomentAt(v.mom, slot.moments, m.n, m.mean, m.m2, m.min ?? Number.NaN, m.max ?? Number.NaN);
  }
  if (w.feedback !== undefined || w.confidence !== undefined) addPerf(v.perf, w);
}

/** Labels and confidence sums of a window (checked by ingest); a confusion matrix of other classes is left out. */
function addPerf(p: Float64Array, w: SummaryWindow): void {
  const f = w.feedback;
  if (f) {
    p[0] = (p[0] as number) + f.labelled;
    p[1] = (p[1] as number) + f.correct;
    p[2] = (p[2] as number) + (f.absErrorSum ?? 0);
    p[3] = (p[3] as number) + (f.sqErrorSum ?? 0);
    const c = f.confusion;
    if (c && c.length === p.length - PERF_FIELDS) for (let i = 0; i < c.length; i++) p[PERF_FIELDS + i] = (p[PERF_FIELDS + i] as number) + (c[i] as number);
  }
  if (w.confidence) {
    p[4] = (p[4] as number) + w.confidence.n;
    p[5] = (p[5] as number) + w.confidence.sum;
  }
}

/** Adds every count of `b` to `a` (mutating a); moments merge. Same layout required. */
export function addValues(a: RollupValues, b: RollupValues): void {
  a.windows += b.windows;
  a.count += b.count;
  a.errModel += b.errModel;
  a.errInput += b.errInput;
  a.errLoad += b.errLoad;
  for (const k in b.errors) if (Object.hasOwn(b.errors, k)) addOwn(a.errors, k, b.errors[k] as number);
  addVector(a.dist, b.dist);
  addVector(a.lat, b.lat);
  addMoments(a.mom, b.mom);
  addVector(a.perf, b.perf);
  addSpan(a, b.firstMs, b.lastMs);
  a.activeMs += b.activeMs;
}

/** Widens the reported span of `v` to take in [firstMs, lastMs). */
export function addSpan(v: Pick<RollupValues, 'firstMs' | 'lastMs'>, firstMs: number, lastMs: number): void {
  if (firstMs < v.firstMs) v.firstMs = firstMs;
  if (lastMs > v.lastMs) v.lastMs = lastMs;
}

export function addVector(into: Float64Array, from: ArrayLike<number>, sign: 1 | -1 = 1): void {
  const n = Math.min(into.length, from.length);
  if (sign > 0) for (let i = 0; i < n; i++) into[i] = (into[i] as number) + (from[i] as number);
  else for (let i = 0; i < n; i++) into[i] = (into[i] as number) - (from[i] as number);
}

export function addMoments(into: Float64Array, from: ArrayLike<number>): void {
  const k = Math.min(into.length, from.length) / MOMENT_FIELDS;
  for (let j = 0; j < k; j++) {
    const b = j * MOMENT_FIELDS;
    mergeMomentAt(into, j, from[b] as number, from[b + 1] as number, from[b + 2] as number, from[b + 3] as number, from[b + 4] as number);
  }
}

/** A stored rollup's fields as a query reads them (blobs not read are null). */
export interface StoredRollup {
  windows: number;
  count: number;
  errModel: number;
  errInput: number;
  errLoad: number;
  errors: string;
  dist: Uint8Array | null;
  mom: Uint8Array | null;
  lat: Uint8Array | null;
  /** Labels and CBPE (encodePerf); null when the rollup has none. */
  perf: Uint8Array | null;
  /**
   * The first window's start and the last window's end; a row written before they were stored reads
   * its own start and end instead (store/rollups-repo.ts). Absent: the row adds no span.
   */
  firstMs?: number | undefined;
  lastMs?: number | undefined;
  /** The windows' summed lengths (ms); a row written before they were stored reads its span instead. */
  activeMs?: number | undefined;
}

/**
 * Adds a stored rollup to `v`: the counts, and each blob that was read and is asked for. `sign` -1
 * takes a rollup out again (rollups/day-minus-hours.ts): exact for counts and sums only, so not with
 * moments, latency or errors by code.
 */
export function addStored(v: RollupValues, row: StoredRollup, want: { dist?: boolean | undefined; mom?: boolean | undefined; lat?: boolean | undefined; errors?: boolean | undefined }, sign: 1 | -1 = 1): void {
  if (sign < 0 && (want.mom || want.lat || want.errors !== false)) throw new Error('addStored: only counts can be subtracted (not moments, latency or errors by code)');
  v.windows += sign * row.windows;
  v.count += sign * row.count;
  v.errModel += sign * row.errModel;
  v.errInput += sign * row.errInput;
  v.errLoad += sign * row.errLoad;
  if (want.errors !== false) addErrorsJson(v.errors, row.errors);
  if (row.dist && want.dist) addVector(v.dist, decodeDist(row.dist, v.dist.length), sign);
  if (row.mom && want.mom) addMoments(v.mom, decodeMom(row.mom));
  if (row.lat && want.lat) addLatBlob(v.lat, row.lat);
  if (row.perf) addVector(v.perf, decodeMom(row.perf), sign);
  if (sign > 0 && row.firstMs !== undefined && row.lastMs !== undefined) addSpan(v, row.firstMs, row.lastMs);
  if (row.activeMs !== undefined) v.activeMs += sign * row.activeMs;
}

/** Adds a stored errors object (JSON, errors by code) to `into`. */
export function addErrorsJson(into: Record<string, number>, json: string): void {
  if (json === '{}') return;
  const e = JSON.parse(json) as Record<string, number>;
  for (const k in e) if (Object.hasOwn(e, k)) addOwn(into, k, e[k] as number);
}
