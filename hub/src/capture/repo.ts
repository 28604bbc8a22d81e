// hub.db tables of data captures (migration 40; docs/decisions/0035-data-capture.md): each capture
// request, each device's part of it (status and counts from what it uploaded), and the sealed chunks
// themselves — ciphertext the hub cannot open, kept by (capture, device, seq) so a resend is a no-op —
// until the capture is purged (migration 41).
import type { Capture, CaptureDevice, CaptureDeviceStatus, CaptureState, DeployTarget, HistoryQuery, SealedRowsWire } from '@edgefleet/shared';
import { notFound, withSecureDelete } from '@edgefleet/shared';
import type { Db } from '../store/db.js';
import { dialectOf } from '../store/hub-db.js';
import type { Migration } from '../store/migrations.js';
import { pageOf } from '../store/history-page.js';

export const CAPTURE_MIGRATION: Migration = {
  version: 40,
  name: 'data capture: requests, per-device progress, sealed chunks',
  sql: `CREATE TABLE captures (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  model TEXT NOT NULL,
  version TEXT,
  target TEXT NOT NULL,
  rate REAL NOT NULL,
  max_rows INTEGER NOT NULL,
  duration_sec INTEGER NOT NULL,
  features TEXT,
  reason TEXT NOT NULL,
  public_key TEXT NOT NULL,
  key_id TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  until TEXT NOT NULL,
  stopped_at TEXT,
  stopped_by TEXT,
  stop_reason TEXT
);
CREATE TABLE capture_devices (
  capture_id INTEGER NOT NULL REFERENCES captures(id),
  device_id TEXT NOT NULL,
  status TEXT NOT NULL,
  rows INTEGER NOT NULL DEFAULT 0,
  chunks INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  reason TEXT,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (capture_id, device_id)
);
CREATE INDEX capture_devices_by_device ON capture_devices (device_id);
CREATE TABLE capture_chunks (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  capture_id INTEGER NOT NULL REFERENCES captures(id),
  device_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  rows INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  sealed TEXT NOT NULL,
  received_at TEXT NOT NULL,
  UNIQUE (capture_id, device_id, seq)
);`,
};

/** Purged captures (docs/hub.md "Data capture"): the chunks go, the capture's record and counts stay. */
export const CAPTURE_PURGE_MIGRATION: Migration = {
  version: 41,
  name: 'data capture: purged sealed chunks',
  sql: `
    ALTER TABLE captures ADD COLUMN purged_at TEXT;
    ALTER TABLE captures ADD COLUMN purged_by TEXT;
    ALTER TABLE captures ADD COLUMN purge_reason TEXT;
    ALTER TABLE captures ADD COLUMN purged_bytes INTEGER;
  `,
};

export interface NewCapture {
  model: string; version: string | null; target: DeployTarget; rate: number; maxRows: number; durationSec: number;
  features: string[] | null; reason: string; publicKey: string; keyId: string; createdBy: string; at: Date; until: Date;
}

interface CaptureRow {
  id: number; model: string; version: string | null; target: string; rate: number; max_rows: number; duration_sec: number; features: string | null;
  reason: string; public_key: string; key_id: string; created_by: string; created_at: string; until: string;
  stopped_at: string | null; stopped_by: string | null; stop_reason: string | null;
  purged_at: string | null; purged_by: string | null; purge_reason: string | null; purged_bytes: number | null;
}

export interface StoredCapture extends Omit<Capture, 'devices' | 'state'> {
  publicKey: string;
  /** Device parts that can still collect rows: pending or capturing, below maxRows. */
  openParts: number;
}

interface Totals { rows: number; bytes: number; open: number }
const NO_TOTALS: Totals = { rows: 0, bytes: 0, open: 0 };

/**
 * What a capture is now (docs/hub.md "Data capture"). Until `until` it is active only while some part can
 * still collect rows: once every part ended (done, budget_full, expired, refused, or its rows reached
 * maxRows: more would be refused) no device is asked for it and none may add to it.
 */
export function captureState(c: Pick<StoredCapture, 'purged' | 'stopped' | 'until' | 'openParts'>, now: Date): CaptureState {
  if (c.purged) return 'purged';
  if (c.stopped) return 'stopped';
  return Date.parse(c.until) <= now.getTime() || c.openParts === 0 ? 'ended' : 'active';
}

function fromRow(r: CaptureRow, totals: Totals): StoredCapture {
  return {
    id: r.id, model: r.model, version: r.version, target: JSON.parse(r.target) as DeployTarget, rate: r.rate, maxRows: r.max_rows,
    durationSec: r.duration_sec, features: r.features ? (JSON.parse(r.features) as string[]) : null, reason: r.reason, keyId: r.key_id,
    createdBy: r.created_by, created: r.created_at, until: r.until,
    stopped: r.stopped_at ? { at: r.stopped_at, by: r.stopped_by ?? '', reason: r.stop_reason ?? '' } : null,
    purged: r.purged_at ? { at: r.purged_at, by: r.purged_by ?? '', reason: r.purge_reason ?? '', bytes: Number(r.purged_bytes ?? 0) } : null,
    rows: Number(totals.rows), bytes: Number(totals.bytes), openParts: Number(totals.open), publicKey: r.public_key,
  };
}

interface DeviceRow { device_id: string; status: CaptureDeviceStatus; rows: number; chunks: number; bytes: number; reason: string | null; updated_at: string }

const toDevice = (r: DeviceRow): CaptureDevice => ({ deviceId: r.device_id, status: r.status, rows: r.rows, chunks: r.chunks, bytes: r.bytes, reason: r.reason, updated: r.updated_at });

export class CaptureRepo {
  // Read for every desired document the hub signs (a deployment to 5,000 devices: 5,000 times), prepared once.
  private activeStmt: ReturnType<Db['prepare']> | null = null;
  constructor(private readonly db: Db) {}

  /** `id`: only for a row rolled back (CaptureService.createStored), so PostgreSQL's identity is not advanced by it. */
  create(c: NewCapture, deviceIds: readonly string[], given?: number): number {
    const [col, arg, ids] = given === undefined ? ['', '', []] : ['id, ', '?, ', [given]];
    const r = this.db.prepare(`INSERT INTO captures (${col}model, version, target, rate, max_rows, duration_sec, features, reason, public_key, key_id, created_by, created_at, until)
      VALUES (${arg}?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
      ...ids, c.model, c.version, JSON.stringify(c.target), c.rate, c.maxRows, c.durationSec, c.features ? JSON.stringify(c.features) : null, c.reason,
      c.publicKey, c.keyId, c.createdBy, c.at.toISOString(), c.until.toISOString(),
    );
    const id = given ?? Number(r.lastInsertRowid);
    const ins = this.db.prepare("INSERT INTO capture_devices (capture_id, device_id, status, updated_at) VALUES (?, ?, 'pending', ?)");
    for (const d of deviceIds) ins.run(id, d, c.at.toISOString());
    return id;
  }

  private totals(r: CaptureRow): Totals {
    return this.db.prepare(`SELECT COALESCE(SUM(rows), 0) AS rows, COALESCE(SUM(bytes), 0) AS bytes,
      COALESCE(SUM(CASE WHEN status IN ('pending', 'capturing') AND rows < ? THEN 1 ELSE 0 END), 0) AS open FROM capture_devices WHERE capture_id = ?`).get(r.max_rows, r.id) as Totals;
  }

  /** `totals: false` skips summing the devices' counts (the chunk path does not need them). */
  find(id: number, totals = true): StoredCapture | undefined {
    const r = this.db.prepare('SELECT * FROM captures WHERE id = ?').get(id) as CaptureRow | undefined;
    return r ? fromRow(r, totals ? this.totals(r) : NO_TOTALS) : undefined;
  }

  get(id: number): StoredCapture {
    const c = this.find(id);
    if (!c) throw notFound('capture', id, `capture ${id} not found (edgefleet capture ls, or GET /captures, lists the captures)`);
    return c;
  }

  /** A page of captures, newest first: `limit` of them older than `before` (a capture id), and `next` (GET /captures). */
  list(q: HistoryQuery): { captures: StoredCapture[]; next: number | null } {
    const rows = this.db.prepare(`SELECT * FROM captures${q.before === undefined ? '' : ' WHERE id < ?'} ORDER BY id DESC LIMIT ?`)
      .all(...(q.before === undefined ? [] : [q.before]), q.limit + 1) as CaptureRow[];
    const page = pageOf(rows, q.limit, (r) => Number(r.id));
    return { captures: page.rows.map((r) => fromRow(r, this.totals(r))), next: page.next };
  }

  devices(id: number): CaptureDevice[] {
    return (this.db.prepare('SELECT device_id, status, rows, chunks, bytes, reason, updated_at FROM capture_devices WHERE capture_id = ? ORDER BY device_id').all(id) as DeviceRow[]).map(toDevice);
  }

  device(id: number, deviceId: string): CaptureDevice | undefined {
    const r = this.db.prepare('SELECT device_id, status, rows, chunks, bytes, reason, updated_at FROM capture_devices WHERE capture_id = ? AND device_id = ?').get(id, deviceId) as DeviceRow | undefined;
    return r ? toDevice(r) : undefined;
  }

  /** Captures a device is asked to take part in now: not stopped, not past `until`, its part not ended. */
  activeFor(deviceId: string, now: Date): StoredCapture[] {
    const rows = (this.activeStmt ??= this.db.prepare(`SELECT c.* FROM captures c JOIN capture_devices d ON d.capture_id = c.id
      WHERE d.device_id = ? AND c.stopped_at IS NULL AND c.until > ? AND d.status IN ('pending', 'capturing') ORDER BY c.id`)).all(deviceId, now.toISOString()) as CaptureRow[];
    return rows.map((r) => fromRow(r, NO_TOTALS));
  }

  stop(id: number, by: string, reason: string, at: Date): string[] {
    this.db.prepare('UPDATE captures SET stopped_at = ?, stopped_by = ?, stop_reason = ? WHERE id = ? AND stopped_at IS NULL').run(at.toISOString(), by, reason, id);
    return (this.db.prepare('SELECT device_id FROM capture_devices WHERE capture_id = ?').all(id) as Array<{ device_id: string }>).map((r) => r.device_id);
  }

  /** Bytes of chunks stored for a device across all captures not purged (the per-device storage bound; `bytes` is each chunk's stored size). */
  storedBytes(deviceId: string): number {
    return Number((this.db.prepare('SELECT COALESCE(SUM(d.bytes), 0) AS n FROM capture_devices d JOIN captures c ON c.id = d.capture_id WHERE d.device_id = ? AND c.purged_at IS NULL')
      .get(deviceId) as { n: number }).n);
  }

  /**
   * Deletes a capture's chunks and marks it purged; returns the bytes deleted, or null when it was
   * purged already (by another hub of a cluster, say). Call in a transaction, then Store.wipeWal(). On
   * SQLite the chunks are deleted with secure_delete: overwritten with zeros, not left in free pages.
   */
  purge(id: number, by: string, reason: string, at: Date): number | null {
    if (this.db.prepare('UPDATE captures SET purged_at = ?, purged_by = ?, purge_reason = ? WHERE id = ? AND purged_at IS NULL').run(at.toISOString(), by, reason, id).changes === 0) return null;
    const bytes = Number((this.db.prepare('SELECT COALESCE(SUM(bytes), 0) AS n FROM capture_chunks WHERE capture_id = ?').get(id) as { n: number }).n);
    const del = () => this.db.prepare('DELETE FROM capture_chunks WHERE capture_id = ?').run(id);
    if (dialectOf(this.db) === 'sqlite') withSecureDelete(this.db, del);
    else del();
    this.db.prepare('UPDATE captures SET purged_bytes = ? WHERE id = ?').run(bytes, id);
    return bytes;
  }

  /** Captures not purged that ended (stopped, or past `until`) before `cutoff`, oldest first. */
  endedBefore(cutoff: Date): number[] {
    return (this.db.prepare(`SELECT id FROM captures WHERE purged_at IS NULL
      AND (CASE WHEN stopped_at IS NOT NULL AND stopped_at < until THEN stopped_at ELSE until END) < ? ORDER BY id`).all(cutoff.toISOString()) as Array<{ id: number }>).map((r) => Number(r.id));
  }

  /**
   * What the hub holds under (capture, device, seq): nothing, the same sealed chunk (a resend), or
   * another one (a box numbering again from an agent.db put back from a backup). Every chunk is sealed
   * with a fresh ephemeral key, so two different chunks never have the same sealed object.
   */
  chunkAt(id: number, deviceId: string, seq: number, sealed: string): 'none' | 'same' | 'other' {
    const r = this.db.prepare('SELECT CASE WHEN sealed = ? THEN 1 ELSE 0 END AS same FROM capture_chunks WHERE capture_id = ? AND device_id = ? AND seq = ?')
      .get(sealed, id, deviceId, seq) as { same: number | string } | undefined;
    if (!r) return 'none';
    return Number(r.same) === 1 ? 'same' : 'other';
  }

  /** The highest chunk seq held of the capture from the device (0 for none). */
  maxSeq(id: number, deviceId: string): number {
    return Number((this.db.prepare('SELECT COALESCE(MAX(seq), 0) AS n FROM capture_chunks WHERE capture_id = ? AND device_id = ?').get(id, deviceId) as { n: number | string }).n);
  }

  /**
   * Stores a chunk (`sealed`: its sealed object's JSON, stored as is) and adds it to the device's
   * counts; `bytes` is the size stored. `end` closes the device's part. A part that has ended stays
   * ended: an earlier chunk stored after the last one (resent, or taken by another hub from a shared
   * subscription) adds its rows without making the part `capturing` again. `reason` (with `end`, from the
   * device: why its part ended) becomes the part's reason.
   */
  addChunk(id: number, deviceId: string, seq: number, rows: number, sealed: string, end: CaptureDeviceStatus | undefined, reason: string | undefined, at: Date): void {
    const bytes = Buffer.byteLength(sealed);
    this.db.prepare('INSERT INTO capture_chunks (capture_id, device_id, seq, rows, bytes, sealed, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(id, deviceId, seq, rows, bytes, sealed, at.toISOString());
    const open = "status IN ('pending', 'capturing')";
    this.db.prepare(`UPDATE capture_devices SET rows = rows + ?, chunks = chunks + 1, bytes = bytes + ?,
      status = CASE WHEN ${open} THEN ? ELSE status END, reason = CASE WHEN ${open} THEN COALESCE(?, reason) ELSE reason END, updated_at = ?
      WHERE capture_id = ? AND device_id = ?`).run(rows, bytes, end ?? 'capturing', end ? (reason ?? null) : null, at.toISOString(), id, deviceId);
  }

  setDeviceStatus(id: number, deviceId: string, status: CaptureDeviceStatus, reason: string | null, at: Date): void {
    this.db.prepare('UPDATE capture_devices SET status = ?, reason = ?, updated_at = ? WHERE capture_id = ? AND device_id = ?').run(status, reason, at.toISOString(), id, deviceId);
  }

  /**
   * Chunks after `after` (a chunk id) in storage order, at most `maxBytes` of them as stored (at least
   * one). The page is cut on the stored text's own size (octet_length, read without the text) before
   * any chunk is read, so neither the page nor the rows read for it pass the bound.
   */
  chunks(id: number, after: number, maxBytes: number): { chunks: Array<{ id: number; deviceId: string; seq: number; rows: number; sealed: SealedRowsWire }>; next: number | null } {
    const sizes = this.db.prepare('SELECT id, octet_length(sealed) AS size FROM capture_chunks WHERE capture_id = ? AND id > ? ORDER BY id LIMIT 1000').all(id, after) as
      Array<{ id: number; size: number }>;
    let bytes = 0;
    let n = 0;
    for (const r of sizes) {
      if (n > 0 && bytes + Number(r.size) > maxBytes) break;
      bytes += Number(r.size);
      n++;
    }
    const last = sizes[n - 1];
    if (!last) return { chunks: [], next: null };
    const rows = this.db.prepare('SELECT id, device_id, seq, rows, sealed FROM capture_chunks WHERE capture_id = ? AND id > ? AND id <= ? ORDER BY id').all(id, after, last.id) as
      Array<{ id: number; device_id: string; seq: number; rows: number; sealed: string }>;
    const more = !!this.db.prepare('SELECT 1 FROM capture_chunks WHERE capture_id = ? AND id > ?').get(id, last.id);
    return { chunks: rows.map((r) => ({ id: r.id, deviceId: r.device_id, seq: r.seq, rows: r.rows, sealed: JSON.parse(r.sealed) as SealedRowsWire })), next: more ? last.id : null };
  }
}
