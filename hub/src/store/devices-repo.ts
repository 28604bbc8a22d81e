// Devices: identity (id + salted secret hash), tags (also as rows for the tag filter: device-tags.ts, and in the search text: device-search.ts), facts, revocation, presence and what each
// device reports running (recorded and read through device-reports.ts; a row as DeviceInfo: device-info.ts). Also the DeviceAuthPort the
// MQTT part uses at CONNECT, which rewrites hashes of an older scheme on the first successful connect
// (docs/decisions/0008-device-secret-verification.md).
import { AppError, notFound, type DeviceFacts, type DeviceInfo, type DeviceList, type FleetSummary, type ReportedState, type Tags } from '@edgefleet/shared';
import { dialectOf, type HubStatement } from './hub-db.js';
import type { Db } from './db.js';
import { hashSecret, verifySecret } from './secrets.js';
import { pageOf } from './history-page.js';
import { deviceFilterSql, type DeviceFilter, type FilterSql } from './device-filter.js';
import { writeDeviceTags } from './device-tags.js';
import { countSearch, denseSearch, refuseUnboundedSearch, writeDeviceSearch } from './device-search.js';
import { reportTransaction } from './device-reports.js';
import { deviceInfo, deviceInfos, type DeviceRow } from './device-info.js';
import type { AuthResult, DeviceAuthPort, PresenceMark } from '../mqtt/ports.js';

type Stmt = HubStatement;
/** A page of devices by id (GET /devices, /config/devices): at most `limit`, after the id `after`, matching the filter. */
export interface DevicePageQuery extends DeviceFilter { limit: number; after?: string | undefined }

export class DevicesRepo implements DeviceAuthPort {
  // Statements on the per-message paths (presence, CONNECT), prepared once on first use (state reports: device-reports.ts).
  private seenStmt: Stmt | null = null;
  private seenManyStmt: Stmt | null = null;
  private seenManyTx: ((marks: readonly PresenceMark[]) => void) | null = null;
  private touchStmt: Stmt | null = null;
  private authStmt: Stmt | null = null;
  private rehashStmt: Stmt | null = null;
  private reportedSeqStmt: Stmt | null = null; // once per desired document signed
  private readonly reportTx: (id: string, state: ReportedState, newerOnly: boolean) => boolean;

  constructor(private readonly db: Db) {
    this.reportTx = reportTransaction(db, (id) => this.reportedState(id));
  }

  create(id: string, secret: string, tags: Tags, facts: DeviceFacts | null, at: Date): void {
    if (this.row(id)) throw new AppError('CONFLICT', `device "${id}" already exists: choose another id or rotate its secret`);
    this.db.transaction(() => {
      this.db
        .prepare('INSERT INTO devices (id, secret_hash, tags, facts, created_at) VALUES (?, ?, ?, ?, ?)')
        .run(id, hashSecret(secret), JSON.stringify(tags), facts ? JSON.stringify(facts) : null, at.toISOString());
      writeDeviceTags(this.db, id, tags);
      writeDeviceSearch(this.db, id, { tagsJson: JSON.stringify(tags), held: [] });
    })();
  }

  exists(id: string): boolean {
    return this.row(id) !== undefined;
  }

  get(id: string): DeviceInfo {
    const r = this.row(id);
    if (!r) throw notFound('device', id, `no device "${id}"`);
    return deviceInfo(this.db, r);
  }

  list(): DeviceInfo[] {
    return (this.db.prepare('SELECT * FROM devices ORDER BY id').all() as DeviceRow[]).map((r) => deviceInfo(this.db, r));
  }

  /**
   * A page of devices by id (GET /devices, docs/hub.md "REST API"): `limit` after the id `after` (keyset,
   * so each device is listed once whatever is added in between) among those matching the filter, `next`,
   * the page's last id when more follow, and `total`, how many match (docs/decisions/0089-fleet-view-filtered-by-the-hub.md),
   * at least that many when not `totalExact` (a search, alone or with filters: docs/decisions/0123-device-search-count-capped.md).
   */
  page(q: DevicePageQuery): DeviceList {
    const dialect = dialectOf(this.db);
    if (q.q !== undefined) refuseUnboundedSearch(this.db, q.q);
    const f = deviceFilterSql(q, dialect);
    // A search is counted up to a cap (alone: in its own table), a tag alone in device_tags (its index only); a page of a
    // search most devices match, or more than the count's cap, is read in id order (device-search.ts).
    const sql = f.count ?? `SELECT COUNT(*) AS n FROM devices${f.where.length ? ` WHERE ${f.where.join(' AND ')}` : ''}`;
    const count = f.search ? countSearch(this.db, f, f.search)
      : { total: Number((this.db.prepare(sql).get(...f.params) as { n: number | string }).n), totalExact: true };
    const byId = f.search && (!count.totalExact || denseSearch(this.db, count.total, q.limit));
    const p = this.pageRows<DeviceRow>('*', byId ? deviceFilterSql(q, dialect, 'each') : f, q);
    return { devices: deviceInfos(this.db, p.rows), next: p.next, ...count };
  }

  /** A page of targetable() (GET /config/devices): devices not revoked by id, as page(). */
  targetablePage(q: DevicePageQuery): { rows: Array<{ id: string; tags: Tags }>; next: string | null } {
    const p = this.pageRows<{ id: string; tags: string }>('id, tags', { where: ['revoked_at IS NULL'], params: [] }, q);
    return { rows: p.rows.map((r) => ({ id: r.id, tags: JSON.parse(r.tags) as Tags })), next: p.next };
  }

  /** `limit` rows by id after `q.after` (keyset) matching `f`, and `next`, the last id when more follow. */
  private pageRows<R extends { id: string }>(cols: string, f: FilterSql, q: DevicePageQuery): { rows: R[]; next: string | null } {
    const conds = [...f.where, ...(q.after === undefined ? [] : ['id > ?'])];
    const params = [...f.params, ...(q.after === undefined ? [] : [q.after])];
    const rows = this.db.prepare(`SELECT ${cols} FROM devices${conds.length ? ` WHERE ${conds.join(' AND ')}` : ''} ORDER BY id LIMIT ?`)
      .all(...params, q.limit + 1) as R[];
    return pageOf(rows, q.limit, (r) => r.id);
  }

  /** GET /fleet: devices by status, and the versions devices not revoked report, most devices first (at most `versions`). */
  summary(versions: number): FleetSummary {
    const by = 'CASE WHEN revoked_at IS NULL THEN online ELSE 2 END';
    const counts = [0, 0, 0];
    for (const r of this.db.prepare(`SELECT ${by} AS s, COUNT(*) AS n FROM devices GROUP BY ${by}`).all() as Array<{ s: number | string; n: number | string }>) counts[Number(r.s)] = Number(r.n);
    const v = this.db.prepare(`SELECT m.name AS model, m.version AS version, COUNT(*) AS n FROM device_models m JOIN devices d ON d.id = m.device_id
      WHERE d.revoked_at IS NULL GROUP BY m.name, m.version ORDER BY n DESC, m.name, m.version`).all() as Array<{ model: string; version: string; n: number | string }>;
    return {
      online: counts[1] ?? 0, offline: counts[0] ?? 0, revoked: counts[2] ?? 0,
      versions: v.slice(0, versions).map((r) => ({ model: r.model, version: r.version, devices: Number(r.n) })), versionsTotal: v.length,
    };
  }

  /** Every device not revoked with its tags only (what target matching needs; one query). */
  targetable(): Array<{ id: string; tags: Tags }> {
    return (this.db.prepare('SELECT id, tags FROM devices WHERE revoked_at IS NULL ORDER BY id').all() as Array<{ id: string; tags: string }>)
      .map((r) => ({ id: r.id, tags: JSON.parse(r.tags) as Tags }));
  }

  /**
   * Devices not revoked that are connected now or were seen since `since` (ISO): after a hub restart,
   * devices that were connected a moment ago count before they have reconnected.
   */
  seenSince(since: string): Set<string> {
    return new Set((this.db.prepare('SELECT id FROM devices WHERE revoked_at IS NULL AND (online = 1 OR last_seen >= ?)').all(since) as Array<{ id: string }>).map((r) => r.id));
  }

  async authenticate(id: string, secret: string): Promise<AuthResult> {
    const r = (this.authStmt ??= this.db.prepare('SELECT secret_hash, revoked_at FROM devices WHERE id = ?')).get(id) as
      | Pick<DeviceRow, 'secret_hash' | 'revoked_at'>
      | undefined;
    if (!r) return 'unknown';
    if (r.revoked_at) return 'revoked';
    const check = await verifySecret(secret, r.secret_hash);
    if (check === 'bad') return 'bad_secret';
    if (check === 'ok_rehash') {
      // Only if the row is as it was read: a rotation or revocation during the (slow, async) old-scheme
      // check wins, and the attempt is judged again against the current row.
      const res = (this.rehashStmt ??= this.db.prepare('UPDATE devices SET secret_hash = ? WHERE id = ? AND secret_hash = ? AND revoked_at IS NULL'))
        .run(hashSecret(secret), id, r.secret_hash);
      if (res.changes === 0) return this.authenticate(id, secret);
    }
    return 'ok';
  }

  /** Presence from the broker; never throws (a closed database only loses a last-seen time). */
  markSeen(id: string, online: boolean, at: Date): void {
    try {
      (this.seenStmt ??= this.db.prepare('UPDATE devices SET online = ?, last_seen = ? WHERE id = ?')).run(online ? 1 : 0, at.toISOString(), id);
    } catch {
      // the store is closing; presence is refreshed on the next connect
    }
  }

  /**
   * Presence marks batched by the broker (hub/src/mqtt/presence-writer.ts), one transaction: online as
   * marked, last seen moved forward only (a mark that waited is never newer than a message's touch()).
   * Never throws, like markSeen.
   */
  markSeenMany(marks: readonly PresenceMark[]): void {
    try {
      this.seenManyTx ??= this.db.transaction((ms: readonly PresenceMark[]) => {
        const st = (this.seenManyStmt ??= this.db.prepare('UPDATE devices SET online = ?, last_seen = CASE WHEN last_seen IS NULL OR last_seen < ? THEN ? ELSE last_seen END WHERE id = ?'));
        for (const m of ms) {
          const iso = m.at.toISOString();
          st.run(m.online ? 1 : 0, iso, iso, m.id);
        }
      });
      this.seenManyTx(marks);
    } catch {
      // the store is closing; presence is refreshed on the next connect
    }
  }

  /**
   * Every device offline: a hub with its embedded broker starts with no device connected, and a hub
   * that was killed (SIGKILL, power cut) left the ones connected then marked online (docs/hub.md, GET /devices).
   * Last seen stays as it was. Returns how many were marked.
   */
  markAllOffline(): number {
    return this.db.prepare('UPDATE devices SET online = 0 WHERE online = 1').run().changes;
  }

  /**
   * A message arrived from the device (telemetry, events, state): last seen moves forward (never back),
   * without changing online, which presence owns. Never throws, like markSeen.
   */
  touch(id: string, at: Date): void {
    const iso = at.toISOString();
    try {
      (this.touchStmt ??= this.db.prepare('UPDATE devices SET last_seen = ? WHERE id = ? AND (last_seen IS NULL OR last_seen < ?)')).run(iso, id, iso);
    } catch {
      // the store is closing; the next message moves it
    }
  }

  revoke(id: string, at: Date): void {
    const r = this.mustRow(id);
    if (r.revoked_at) throw new AppError('CONFLICT', `device "${id}" was already revoked at ${r.revoked_at}`);
    this.db.prepare('UPDATE devices SET revoked_at = ?, online = 0 WHERE id = ?').run(at.toISOString(), id);
  }

  rotateSecret(id: string, secret: string): void {
    const r = this.mustRow(id);
    if (r.revoked_at) throw new AppError('CONFLICT', `device "${id}" is revoked; add it again under a new id instead`);
    this.db.prepare('UPDATE devices SET secret_hash = ? WHERE id = ?').run(hashSecret(secret), id);
  }

  setTags(id: string, tags: Tags): void {
    this.mustRow(id);
    this.db.transaction(() => {
      this.db.prepare('UPDATE devices SET tags = ? WHERE id = ?').run(JSON.stringify(tags), id);
      writeDeviceTags(this.db, id, tags);
      writeDeviceSearch(this.db, id, { tagsJson: JSON.stringify(tags) });
    })();
  }

  /**
   * The device's last reported state as stored (parsed here rather than with SQLite's json_extract: the
   * same SQL on SQLite and PostgreSQL, docs/decisions/0040-postgresql.md), or null.
   */
  reportedState(id: string): Record<string, unknown> | null {
    const r = (this.reportedSeqStmt ??= this.db.prepare('SELECT reported FROM devices WHERE id = ?')).get(id) as { reported: string | null } | undefined;
    return r?.reported ? (JSON.parse(r.reported) as Record<string, unknown>) : null;
  }

  /** The last desired-document seq the device reported applying (0 when it never reported). */
  reportedSeq(id: string): number {
    const r = (this.reportedSeqStmt ??= this.db.prepare('SELECT reported FROM devices WHERE id = ?')).get(id) as { reported: string | null } | undefined;
    const s = r?.reported ? (JSON.parse(r.reported) as { lastAppliedSeq?: unknown }).lastAppliedSeq : undefined;
    return typeof s === 'number' && Number.isSafeInteger(s) && s > 0 ? s : 0;
  }

  /**
   * Records what a device reports (the MQTT state topic) so the registry can say which devices run a
   * version. `newerOnly` (several hubs): a state older than the stored one is not applied; returns
   * whether it was.
   */
  setReported(id: string, state: ReportedState, opts: { newerOnly?: boolean } = {}): boolean {
    return this.reportTx(id, state, opts.newerOnly ?? false);
  }

  /** The devices running a model version, by id (the first `limit` when given). */
  runningVersion(name: string, version: string, limit?: number): Array<{ id: string; status: string }> {
    return this.db
      .prepare(`SELECT device_id AS id, status FROM device_models WHERE name = ? AND version = ? ORDER BY device_id${limit === undefined ? '' : ' LIMIT ?'}`)
      .all(name, version, ...(limit === undefined ? [] : [limit])) as Array<{ id: string; status: string }>;
  }

  /** How many devices run a model version. */
  countRunningVersion(name: string, version: string): number {
    const row = this.db.prepare('SELECT COUNT(*) AS n FROM device_models WHERE name = ? AND version = ?').get(name, version) as { n: number | string };
    return Number(row.n);
  }

  private row(id: string): DeviceRow | undefined {
    return this.db.prepare('SELECT * FROM devices WHERE id = ?').get(id) as DeviceRow | undefined;
  }

  private mustRow(id: string): DeviceRow {
    const r = this.row(id);
    if (!r) throw notFound('device', id, `no device "${id}"`);
    return r;
  }
}
