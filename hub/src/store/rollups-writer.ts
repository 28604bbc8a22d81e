// The incremental rollup update of an ingest transaction (RollupsRepo.applyWindows,
// docs/decisions/0023-rollups.md; its cost: docs/decisions/0047-rollup-update-cost.md). Per hour and
// day a batch touches: one read of the device's row by the unique key (its rowid and blobs), then one
// write by rowid. It stores exactly what summing the windows into fresh values and adding the stored
// row stored before (the same additions in the same order, so the same bytes); what it saves is the
// work around that: the values are reused per layout instead of allocated, the day's values are a
// copy of the hour's instead of a second sum, and a perf blob (labels, CBPE) or errors object no
// window of the batch changes is written back as read instead of decoded and encoded again.
import type { SummaryWindow } from '@edgefleet/shared';
import type { HubStatement } from './hub-db.js';
import type { Db } from './db.js';
import type { RollupLayout } from '../rollups/layout.js';
import { addErrorsJson, addMoments, addSpan, addValues, addVector, addWindow, emptyValues, type RollupValues } from '../rollups/values.js';
import { addLatBlob, BlobScratch, decodeDist, decodeMom } from '../rollups/blobs.js';

/**
 * A row's span as read (`grain` in seconds): a row from before ROLLUPS_SPAN_MIGRATION (rollups-repo.ts)
 * spans its whole hour (day); a row of no windows (a fleet row of an hour no device reported in), none.
 */
export const SPAN_COLUMNS = 'CASE WHEN windows > 0 THEN COALESCE(first_ms, start) END, CASE WHEN windows > 0 THEN COALESCE(last_ms, start + grain * 1000) END, '
  // A row from before ROLLUPS_ACTIVE_MIGRATION reads its span as the time it was active.
  + 'CASE WHEN windows > 0 THEN COALESCE(active_ms, COALESCE(last_ms, start + grain * 1000) - COALESCE(first_ms, start)) END';

/** A span as stored: NULL for none (values without windows). */
export const spanOut = (ms: number): number | null => (Number.isFinite(ms) ? ms : null);
/** A span as read (a number, or a bigint or string from PostgreSQL); undefined for NULL. */
export const spanIn = (x: unknown): number | undefined => (x === null || x === undefined ? undefined : Number(x));

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** The part of a series (rollups-repo.ts Series) the update needs. */
export interface WriterSeries {
  id: number;
  layout: RollupLayout;
}

interface Pending {
  s: WriterSeries;
  grain: number;
  start: number;
  v: RollupValues;
}

/** Values of one layout, reused across updates (they never leave an update: rows get encoded copies). */
interface Scratch {
  free: RollupValues[];
  used: number;
  /** The moments vector of emptyValues (min and max NaN). */
  emptyMom: Float64Array;
}

/** A stored row as `get` reads it (raw): id, then the columns in the order of StoredRollup. */
type RawRow = [id: number, windows: number, count: number, errModel: number, errInput: number, errLoad: number, errors: string, dist: Uint8Array, mom: Uint8Array, lat: Uint8Array, perf: Uint8Array | null, firstMs: number | null, lastMs: number | null, activeMs: number | null];

export class RollupWriter {
  private get: HubStatement | null = null;
  private ins: HubStatement | null = null;
  private upd: HubStatement | null = null;
  private unfleet: HubStatement | null = null;
  private readonly scratch = new Map<RollupLayout, Scratch>();
  /** The blobs of the row being written (each statement runs before the next row is encoded). */
  private readonly blobs = new BlobScratch();

  constructor(private readonly db: Db, private readonly seriesFor: (model: string, version: string) => WriterSeries | null) {}

  /** See RollupsRepo.applyWindows. */
  apply(deviceId: string, windows: readonly SummaryWindow[], unfleeted: Set<string>): void {
    if (windows.length === 0) return;
    for (const sc of this.scratch.values()) sc.used = 0;
    // A batch touches few hours (usually one): a list searched linearly, no keys built.
    const hours: Pending[] = [];
    // A batch is usually of one version: its series looked up once (no key string per window).
    let model: string | null = null;
    let version: string | null = null;
    let s: WriterSeries | null = null;
    for (const w of windows) {
      if (w.model !== model || w.version !== version) {
        model = w.model;
        version = w.version;
        s = this.seriesFor(model, version);
      }
      if (!s) continue;
      const t = Date.parse(w.start);
      const start = t - (t % HOUR_MS);
      let p: Pending | undefined;
      for (const h of hours) if (h.s.id === s.id && h.start === start) p = h;
      if (!p) hours.push((p = { s, grain: HOUR_MS / 1000, start, v: this.take(s.layout) }));
      addWindow(p.v, s.layout, w);
    }
    // Each window is added once; its day gets the hours' sums (a copy when one hour makes the day).
    const days: Pending[] = [];
    for (const h of hours) {
      const start = h.start - (h.start % DAY_MS);
      const d = days.find((x) => x.s.id === h.s.id && x.start === start);
      if (!d) days.push({ s: h.s, grain: DAY_MS / 1000, start, v: this.copy(h.s.layout, h.v) });
      else addValues(d.v, h.v);
    }
    this.write(deviceId, hours, unfleeted);
    this.write(deviceId, days, unfleeted);
  }

  private write(deviceId: string, pending: readonly Pending[], unfleeted: Set<string>): void {
    const get = (this.get ??= this.db.prepare(`SELECT id, windows, count, err_model, err_input, err_load, errors, dist, mom, lat, perf, ${SPAN_COLUMNS} FROM rollups WHERE series = ? AND grain = ? AND start = ? AND device_id = ?`).raw(true));
    const ins = (this.ins ??= this.db.prepare('INSERT INTO rollups (series, grain, start, device_id, windows, count, err_model, err_input, err_load, errors, dist, mom, lat, perf, first_ms, last_ms, active_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'));
    const upd = (this.upd ??= this.db.prepare('UPDATE rollups SET windows = ?, count = ?, err_model = ?, err_input = ?, err_load = ?, errors = ?, dist = ?, mom = ?, lat = ?, perf = ?, first_ms = ?, last_ms = ?, active_ms = ? WHERE id = ?'));
    const unfleet = (this.unfleet ??= this.db.prepare('DELETE FROM rollup_fleet WHERE series = ? AND grain = ? AND start = ?'));
    for (const { s, grain, start, v } of pending) {
      const fleetKey = `${s.id}|${grain}|${start}`;
      if (!unfleeted.has(fleetKey)) {
        unfleeted.add(fleetKey);
        unfleet.run(s.id, grain, start);
      }
      const old = get.get(s.id, grain, start, deviceId) as RawRow | undefined;
      if (!old) {
        const b = this.blobs;
        ins.run(s.id, grain, start, deviceId, v.windows, v.count, v.errModel, v.errInput, v.errLoad, JSON.stringify(v.errors), b.dist(v.dist), b.mom(v.mom), b.lat(v.lat), b.perf(v.perf), spanOut(v.firstMs), spanOut(v.lastMs), v.activeMs);
        continue;
      }
      // What addStored(v, old, all blobs) does, in its order, keeping the blobs no window changed.
      const [id, windows, count, errModel, errInput, errLoad, errors, dist, mom, lat, perf, firstMs, lastMs, activeMs] = old;
      v.windows += windows;
      v.count += count;
      v.errModel += errModel;
      v.errInput += errInput;
      v.errLoad += errLoad;
      if (firstMs !== null && lastMs !== null) addSpan(v, Number(firstMs), Number(lastMs));
      if (activeMs !== null) v.activeMs += Number(activeMs);
      let errorsOut = errors;
      if (hasKeys(v.errors)) {
        addErrorsJson(v.errors, errors);
        errorsOut = JSON.stringify(v.errors);
      }
      addVector(v.dist, decodeDist(dist, v.dist.length));
      addMoments(v.mom, decodeMom(mom));
      addLatBlob(v.lat, lat);
      let perfOut = perf;
      if (!allZero(v.perf)) {
        if (perf) addVector(v.perf, decodeMom(perf));
        perfOut = this.blobs.perf(v.perf);
      }
      const b = this.blobs;
      upd.run(v.windows, v.count, v.errModel, v.errInput, v.errLoad, errorsOut, b.dist(v.dist), b.mom(v.mom), b.lat(v.lat), perfOut, spanOut(v.firstMs), spanOut(v.lastMs), v.activeMs, id);
    }
  }

  /** Empty values of `layout` (emptyValues), reused from earlier updates. */
  private take(layout: RollupLayout): RollupValues {
    let sc = this.scratch.get(layout);
    if (!sc) this.scratch.set(layout, (sc = { free: [], used: 0, emptyMom: emptyValues(layout).mom }));
    const v = sc.free[sc.used];
    sc.used++;
    if (!v) {
      const fresh = emptyValues(layout);
      sc.free.push(fresh);
      return fresh;
    }
    v.windows = 0;
    v.count = 0;
    v.errModel = 0;
    v.errInput = 0;
    v.errLoad = 0;
    if (hasKeys(v.errors)) v.errors = {};
    v.dist.fill(0);
    v.mom.set(sc.emptyMom);
    v.lat.fill(0);
    v.perf.fill(0);
    v.firstMs = Infinity;
    v.lastMs = -Infinity;
    v.activeMs = 0;
    return v;
  }

  /** A copy of `from` (what adding it to empty values gives, bit for bit). */
  private copy(layout: RollupLayout, from: RollupValues): RollupValues {
    const v = this.take(layout);
    v.windows = from.windows;
    v.count = from.count;
    v.errModel = from.errModel;
    v.errInput = from.errInput;
    v.errLoad = from.errLoad;
    if (hasKeys(from.errors)) v.errors = { ...from.errors };
    v.dist.set(from.dist);
    v.mom.set(from.mom);
    v.lat.set(from.lat);
    v.perf.set(from.perf);
    v.firstMs = from.firstMs;
    v.lastMs = from.lastMs;
    v.activeMs = from.activeMs;
    return v;
  }
}

function hasKeys(o: Record<string, number>): boolean {
  for (const k in o) if (Object.hasOwn(o, k)) return true;
  return false;
}

function allZero(a: Float64Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) return false;
  return true;
}
