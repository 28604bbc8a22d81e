// Hourly and daily rollups per (model version, device) in hub.db (docs/decisions/0023-rollups.md).
// applyWindows runs inside the transaction that stores the windows (store/telemetry-repo.ts), so a
// window and its rollups commit together and a resend (already stored) adds nothing. Each row holds
// the flat vectors of rollups/values.ts as blobs; a query reads only the blobs it needs. The tables'
// migrations: rollups-migrations.ts.
import { z } from 'zod';
import { Feature, Reference, Task, TensorSpec } from '@edgefleet/shared';
import type { Db } from './db.js';
import { extendedLayout, layoutOf, type RollupLayout } from '../rollups/layout.js';
import { addStored, emptyValues, type StoredRollup } from '../rollups/values.js';
import { encodeDist, encodeLat, encodeMom, encodePerf } from '../rollups/blobs.js';
import { RollupWriter, SPAN_COLUMNS, spanIn, spanOut } from './rollups-writer.js';
import { missingVersion } from './models-repo.js';
import { readHorizon, type RollupHorizon } from '../rollups/expiry.js';
import type { SummaryWindow } from '@edgefleet/shared';

export const HOUR_SEC = 3600;
export const DAY_SEC = 86_400;

/** The part of a stored (already verified) manifest a layout needs (io: absent in test rows). */
const ManifestLayout = z.object({ features: z.array(Feature).optional(), reference: Reference.optional(), task: Task.optional(), io: z.object({ outputs: z.array(TensorSpec) }).optional() });

export interface Series {
  id: number;
  model: string;
  version: string;
  layout: RollupLayout;
}

/** A stored rollup as a query reads it: blobs not asked for are null. */
export interface RollupRow extends StoredRollup {
  deviceId: string;
  start: number;
}

export interface ScanRange {
  grain: number;
  /** ms since the epoch, inclusive */
  from: number;
  /** ms since the epoch, exclusive */
  to: number;
}

const ALL_BLOBS = { dist: true, mom: true, lat: true };

/** Cached series (one per model version in the registry that reported windows). */
const MAX_CACHED_SERIES = 4096;
/**
 * A cached series is checked against the table this often: a version deleted from the registry
 * (store/model-delete.ts) and pushed again with other features gets a new series, and another hub of a
 * cluster must not keep writing under the old one for longer than this.
 */
const SERIES_CHECK_MS = 60_000;

export class RollupsRepo {
  private readonly series = new Map<string, Series & { checkedAt: number }>();
  private readonly writer: RollupWriter;

  constructor(private readonly db: Db) {
    this.writer = new RollupWriter(db, (model, version) => this.seriesFor(model, version));
  }

  /** The series of a model version, created from its manifest on first use; null if the registry lacks it. */
  seriesFor(model: string, version: string): Series | null {
    const key = `${model}@${version}`;
    const hit = this.series.get(key);
    const now = Date.now();
    if (hit && now - hit.checkedAt < SERIES_CHECK_MS) return hit;
    let row = this.db.prepare('SELECT id, layout FROM rollup_series WHERE model = ? AND version = ?').get(model, version) as { id: number; layout: string } | undefined;
    if (hit && row && Number(row.id) === hit.id) {
      hit.checkedAt = now; // the same object: the writer's scratch is keyed by its layout
      return hit;
    }
    const mv = this.db.prepare('SELECT manifest FROM model_versions WHERE name = ? AND version = ?').get(model, version) as { manifest: string } | undefined;
    const parsed = mv ? ManifestLayout.safeParse(JSON.parse(mv.manifest)) : null;
    // A manifest this code cannot read leaves a stored layout as it is (below), and makes none.
    const fresh = parsed?.success ? layoutOf(parsed.data) : null;
    if (!row) {
      if (!parsed) {
        this.series.delete(key);
        return null;
      }
      if (!fresh) throw parsed.error as Error;
      const r = this.db.prepare('INSERT INTO rollup_series (model, version, layout) VALUES (?, ?, ?)').run(model, version, JSON.stringify(fresh));
      row = { id: Number(r.lastInsertRowid), layout: JSON.stringify(fresh) };
    }
    let layout = JSON.parse(row.layout) as RollupLayout;
    // A layout stored before io outputs without reference edges had moments slots gains them, in place: its
    // rollups read as before (docs/decisions/0171-outputs-without-reference-keep-their-mean.md).
    const wider = fresh ? extendedLayout(layout, fresh) : null;
    if (wider) {
      layout = wider;
      this.db.prepare('UPDATE rollup_series SET layout = ? WHERE id = ?').run(JSON.stringify(wider), Number(row.id));
    }
    const s = { id: Number(row.id), model, version, layout, checkedAt: now };
    if (this.series.size >= MAX_CACHED_SERIES) this.series.clear();
    this.series.set(key, s);
    return s;
  }

  /**
   * Adds windows a device just stored (call inside the storing transaction, with only the windows
   * actually inserted). Windows are grouped by (version, hour) first, so a batch costs one row
   * read and write per hour and day it touches. A window counts in the hour (and day) of its start.
   * `unfleeted`: fleet rows already deleted in this transaction (keys `series|grain|start`), shared by
   * the devices of one ingest tick (docs/decisions/0042-ingest-throughput.md) so each is deleted once.
   */
  applyWindows(deviceId: string, windows: readonly SummaryWindow[], unfleeted: Set<string> = new Set()): void {
    this.writer.apply(deviceId, windows, unfleeted);
  }

  /** Rollups of a series in the given ranges (optionally only some devices), reading only the blobs asked for. */
  *scan(seriesId: number, ranges: readonly ScanRange[], opts: { devices?: readonly string[]; dist?: boolean; mom?: boolean; lat?: boolean; errors?: boolean } = {}): Generator<RollupRow> {
    const cols = `device_id, start, windows, count, err_model, err_input, err_load, ${opts.errors === false ? "'{}'" : 'errors'}, ${opts.dist ? 'dist' : 'NULL'}, ${opts.mom ? 'mom' : 'NULL'}, ${opts.lat ? 'lat' : 'NULL'}, perf, ${SPAN_COLUMNS}`;
    // A device filter is `IN (?, ...)` in chunks, not json_each: the same SQL on SQLite and PostgreSQL (docs/decisions/0040-postgresql.md).
    const chunks: Array<readonly string[] | null> = [];
    if (!opts.devices) chunks.push(null);
    else for (let i = 0; i < opts.devices.length; i += 500) chunks.push(opts.devices.slice(i, i + 500));
    const base = `SELECT ${cols} FROM rollups WHERE series = ? AND grain = ? AND start >= ? AND start < ?`;
    for (const r of ranges) {
      if (r.to <= r.from) continue;
      for (const chunk of chunks) {
        const stmt = this.db.prepare(chunk ? `${base} AND device_id IN (${chunk.map(() => '?').join(', ')})` : base).raw(true);
        const args: unknown[] = [seriesId, r.grain, r.from, r.to, ...(chunk ?? [])];
        for (const row of stmt.iterate(...args) as Iterable<unknown[]>) {
          yield {
            deviceId: row[0] as string, start: row[1] as number, windows: row[2] as number, count: row[3] as number,
            errModel: row[4] as number, errInput: row[5] as number, errLoad: row[6] as number, errors: row[7] as string,
            dist: row[8] as Uint8Array | null, mom: row[9] as Uint8Array | null, lat: row[10] as Uint8Array | null, perf: row[11] as Uint8Array | null,
            firstMs: spanIn(row[12]), lastMs: spanIn(row[13]), activeMs: spanIn(row[14]),
          };
        }
      }
    }
  }

  /**
   * The fleet's rollup of each hour (day) in `ranges` (one row per start, deviceId ""), from the
   * fleet table or, where absent, summed from the device rows and stored for the next query. Always
   * carries every blob. Exact: ingest deletes the fleet row of every hour and day it changes.
   */
  *fleet(s: Series, ranges: readonly ScanRange[]): Generator<RollupRow> {
    const get = this.db.prepare(`SELECT start, windows, count, err_model, err_input, err_load, errors, dist, mom, lat, perf, ${SPAN_COLUMNS} FROM rollup_fleet WHERE series = ? AND grain = ? AND start >= ? AND start < ?`).raw(true);
    const put = this.db.prepare('INSERT INTO rollup_fleet (series, grain, start, windows, count, err_model, err_input, err_load, errors, dist, mom, lat, perf, first_ms, last_ms, active_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    const starts = this.db.prepare('SELECT start FROM rollup_fleet WHERE series = ? AND grain = ? AND start >= ? AND start < ?').pluck(true);
    for (const r of ranges) {
      if (r.to <= r.from) continue;
      const step = r.grain * 1000;
      const have = new Set(starts.all(s.id, r.grain, r.from, r.to) as number[]);
      for (let t = r.from; t < r.to; t += step) {
        if (have.has(t)) continue;
        const v = emptyValues(s.layout);
        for (const row of this.scan(s.id, [{ grain: r.grain, from: t, to: t + step }], ALL_BLOBS)) addStored(v, row, ALL_BLOBS);
        put.run(s.id, r.grain, t, v.windows, v.count, v.errModel, v.errInput, v.errLoad, JSON.stringify(v.errors), encodeDist(v.dist), encodeMom(v.mom), encodeLat(v.lat), encodePerf(v.perf), spanOut(v.firstMs), spanOut(v.lastMs), v.activeMs);
      }
      for (const row of get.iterate(s.id, r.grain, r.from, r.to) as Iterable<unknown[]>) {
        yield {
          deviceId: '', start: row[0] as number, windows: row[1] as number, count: row[2] as number, errModel: row[3] as number, errInput: row[4] as number,
          errLoad: row[5] as number, errors: row[6] as string, dist: row[7] as Uint8Array, mom: row[8] as Uint8Array, lat: row[9] as Uint8Array, perf: row[10] as Uint8Array | null,
          firstMs: spanIn(row[11]), lastMs: spanIn(row[12]), activeMs: spanIn(row[13]),
        };
      }
    }
  }

  /** Distinct devices with rollups of a series in the given ranges (an index-only count). */
  deviceCount(seriesId: number, ranges: readonly ScanRange[]): number {
    if (ranges.length === 0) return 0;
    const where = ranges.map(() => '(grain = ? AND start >= ? AND start < ?)').join(' OR ');
    const args = ranges.flatMap((r) => [r.grain, r.from, r.to]);
    return this.db.prepare(`SELECT COUNT(DISTINCT device_id) FROM rollups WHERE series = ? AND (${where})`).pluck(true).get(seriesId, ...args) as number;
  }

  /** Whether the fleet row of an hour (day) is stored (ingest deletes it when the hour changes). */
  fleetHas(seriesId: number, grain: number, start: number): boolean {
    return this.db.prepare('SELECT 1 FROM rollup_fleet WHERE series = ? AND grain = ? AND start = ?').get(seriesId, grain, start) !== undefined;
  }

  /** Whether any device has a rollup of the series for this hour (day) (an index probe). */
  hasRows(seriesId: number, grain: number, start: number): boolean {
    return this.db.prepare('SELECT 1 FROM rollups WHERE series = ? AND grain = ? AND start = ? LIMIT 1').get(seriesId, grain, start) !== undefined;
  }

  /** Rollup rows per device of a series in the given ranges (read from the index alone). */
  rowsPerDevice(seriesId: number, ranges: readonly ScanRange[]): Map<string, number> {
    const out = new Map<string, number>();
    const stmt = this.db.prepare('SELECT device_id, COUNT(*) FROM rollups WHERE series = ? AND grain = ? AND start >= ? AND start < ? GROUP BY device_id').raw(true);
    for (const r of ranges) {
      if (r.to <= r.from) continue;
      for (const [id, n] of stmt.iterate(seriesId, r.grain, r.from, r.to) as Iterable<[string, number]>) out.set(id, (out.get(id) ?? 0) + n);
    }
    return out;
  }

  /** Every (model, version) with rollups. */
  allSeries(): Array<{ id: number; model: string; version: string }> {
    return this.db.prepare('SELECT id, model, version FROM rollup_series ORDER BY model, version').all() as Array<{ id: number; model: string; version: string }>;
  }

  /** Forgets a cached series (its version was deleted from the registry). */
  forget(model: string, version: string): void {
    this.series.delete(`${model}@${version}`);
  }

  /** From when hourly and daily rollups are whole (rollups/expiry.ts), as recorded now; queries plan against it. */
  horizon(): RollupHorizon {
    return readHorizon(this.db);
  }

  /** Series of a model version or NOT_FOUND naming it. */
  requireSeries(model: string, version: string): Series {
    const s = this.seriesFor(model, version);
    if (!s) throw missingVersion(this.db, model, version);
    return s;
  }
}
