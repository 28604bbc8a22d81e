// Devices: identity (id + salted secret hash), tags, facts, revocation,
// presence and what each device reports running. Also the DeviceAuthPort the
// MQTT part uses at CONNECT, which rewrites hashes of an older scheme on the
// first successful connect (docs/decisions/0008-device-secret-verification.md).
import { AppError, type DeviceFacts, type DeviceInfo, type ReportedState, type Tags } from '@edgefleet/shared';
import type { HubStatement } from './hub-db.js';
import type { Db } from './db.js';
import { hashSecret, verifySecret } from './secrets.js';
import type { Migration } from './migrations.js';
import type { AuthResult, DeviceAuthPort, PresenceMark } from '../mqtt/ports.js';


interface Row {
  id: string;
  secret_hash: string;
  tags: string;
  facts: string | null;
  revoked_at: string | null;
  created_at: string;
  last_seen: string | null;
  online: number;
  reported: string | null;
  /** Hub.db migration 4 (hub/src/ingest/clock-offset.ts); absent in a store opened without it. */
  clock_offset_ms?: number | null;
  clock_offset_at?: string | null;
  clock_shifted_windows?: number;
}

type Stmt = HubStatement;

/**
 * Every registry model version a device ever reported installed (docs/hub.md "What the hub accepts from
 * devices"): `device_models` is what it holds now, and a box that removed a version (its old versions
 * are pruned after installs, agent/src/install/prune.ts) may still have windows of it to send from
 * weeks offline; those stay acceptable.
 */
export const DEVICE_VERSIONS_SEEN_MIGRATION: Migration = {
  version: 8,
  name: 'model versions each device ever reported',
  sql: `
    CREATE TABLE device_versions_seen (
      device_id TEXT NOT NULL,
      name TEXT NOT NULL,
      version TEXT NOT NULL,
      PRIMARY KEY (device_id, name, version)
    );
    INSERT INTO device_versions_seen (device_id, name, version) SELECT device_id, name, version FROM device_models;
  `,
};

/** How far back a box's clock may have stepped before its older-looking state is taken anyway. */
const STALE_WINDOW_MS = 10 * 60_000;

/**
 * Records that a device may report `name`@`version` (device_versions_seen): args (device, name, version,
 * name, version). Registry versions only; a second time adds nothing.
 */
export const SEEN_INSERT = 'INSERT INTO device_versions_seen (device_id, name, version) SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM model_versions WHERE name = ? AND version = ?) ON CONFLICT DO NOTHING';

export class DevicesRepo implements DeviceAuthPort {
  // Statements on the per-message paths (presence, state reports), prepared once on first use.
  private seenStmt: Stmt | null = null;
  private seenManyStmt: Stmt | null = null;
  private seenManyTx: ((marks: readonly PresenceMark[]) => void) | null = null;
  private touchStmt: Stmt | null = null;
  private authStmt: Stmt | null = null;
  private rehashStmt: Stmt | null = null;
  private reportedStmts: { update: Stmt; clear: Stmt; insert: Stmt; seen: Stmt } | null = null;
  private readonly reportTx: (id: string, state: ReportedState, newerOnly: boolean) => boolean;

  constructor(private readonly db: Db) {
    this.reportTx = db.transaction((id: string, state: ReportedState, newerOnly: boolean) => {
      if (newerOnly && this.isStale(id, state)) return false;
      const st = (this.reportedStmts ??= {
        update: db.prepare('UPDATE devices SET reported = ? WHERE id = ?'),
        clear: db.prepare('DELETE FROM device_models WHERE device_id = ?'),
        insert: db.prepare('INSERT OR REPLACE INTO device_models (device_id, name, version, status) VALUES (?, ?, ?, ?)'),
        // Registry versions only (the two readers join model_versions): a box reporting made-up versions
        // in every state report would otherwise grow the table without bound. ModelsRepo.insert adds the
        // rows of a version the box reported before it was uploaded, while the box still holds it.
        seen: db.prepare(SEEN_INSERT),
      });
      st.update.run(JSON.stringify(state), id);
      st.clear.run(id);
      for (const m of state.models) {
        if (m.active) st.insert.run(id, m.name, m.active, m.status === 'active' ? 'active' : m.status);
        for (const v of m.installed) if (v !== m.active) st.insert.run(id, m.name, v, 'installed');
        for (const v of new Set([...(m.active ? [m.active] : []), ...m.installed])) st.seen.run(id, m.name, v, m.name, v);
      }
      return true;
    });
  }

  /**
   * Several hubs apply every reported state, each with its own lag, so an older state can arrive after
   * a newer one (docs/hub.md "Several hubs"): it is stale when the stored one was made later by the
   * box's clock, by less than STALE_WINDOW_MS (a box whose clock stepped back further is believed).
   */
  private isStale(id: string, state: ReportedState): boolean {
    const stored = this.reportedState(id)?.['at'];
    const ahead = typeof stored === 'string' ? Date.parse(stored) - Date.parse(state.at) : NaN;
    return ahead > 0 && ahead < STALE_WINDOW_MS;
  }

  create(id: string, secret: string, tags: Tags, facts: DeviceFacts | null, at: Date): void {
    if (this.row(id)) throw new AppError('CONFLICT', `device "${id}" already exists: choose another id or rotate its secret`);
    this.db
      .prepare('INSERT INTO devices (id, secret_hash, tags, facts, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(id, hashSecret(secret), JSON.stringify(tags), facts ? JSON.stringify(facts) : null, at.toISOString());
  }

  exists(id: string): boolean {
    return this.row(id) !== undefined;
  }

  get(id: string): DeviceInfo {
    const r = this.row(id);
    if (!r) throw new AppError('NOT_FOUND', `no device "${id}"`);
    return this.toInfo(r);
  }

  list(): DeviceInfo[] {
    return (this.db.prepare('SELECT * FROM devices ORDER BY id').all() as Row[]).map((r) => this.toInfo(r));
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
      | Pick<Row, 'secret_hash' | 'revoked_at'>
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
    this.db.prepare('UPDATE devices SET tags = ? WHERE id = ?').run(JSON.stringify(tags), id);
  }

  /**
   * The device's last reported state as stored (parsed here rather than with SQLite's json_extract: the
   * same SQL on SQLite and PostgreSQL, docs/decisions/0040-postgresql.md), or null.
   */
  reportedState(id: string): Record<string, unknown> | null {
    const r = this.db.prepare('SELECT reported FROM devices WHERE id = ?').get(id) as { reported: string | null } | undefined;
    return r?.reported ? (JSON.parse(r.reported) as Record<string, unknown>) : null;
  }

  /** The last desired-document seq the device reported applying (0 when it never reported). */
  reportedSeq(id: string): number {
    const r = this.db.prepare('SELECT reported FROM devices WHERE id = ?').get(id) as { reported: string | null } | undefined;
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

  runningVersion(name: string, version: string): Array<{ id: string; status: string }> {
    return this.db
      .prepare('SELECT device_id AS id, status FROM device_models WHERE name = ? AND version = ? ORDER BY device_id')
      .all(name, version) as Array<{ id: string; status: string }>;
  }

  private row(id: string): Row | undefined {
    return this.db.prepare('SELECT * FROM devices WHERE id = ?').get(id) as Row | undefined;
  }

  private mustRow(id: string): Row {
    const r = this.row(id);
    if (!r) throw new AppError('NOT_FOUND', `no device "${id}"`);
    return r;
  }

  private toInfo(r: Row): DeviceInfo {
    const models = this.db
      .prepare('SELECT name, version, status FROM device_models WHERE device_id = ? ORDER BY name, version')
      .all(r.id) as DeviceInfo['models'];
    return {
      id: r.id,
      tags: JSON.parse(r.tags) as Tags,
      facts: r.facts ? (JSON.parse(r.facts) as DeviceFacts) : null,
      revoked: r.revoked_at !== null,
      revokedAt: r.revoked_at,
      online: r.online === 1,
      lastSeen: r.last_seen,
      created: r.created_at,
      models: withPreflight(models, r.reported),
      reported: reportedSummary(r.reported),
      clock: r.clock_offset_ms != null && r.clock_offset_at ? { offsetMs: r.clock_offset_ms, measuredAt: r.clock_offset_at, shiftedWindows: r.clock_shifted_windows ?? 0 } : null,
    };
  }
}

/** Adds each version's preflight sample latency, the model's last replay check and the active version's previous one, from the device's last reported state. */
function withPreflight(models: DeviceInfo['models'], json: string | null): DeviceInfo['models'] {
  const st = json ? (JSON.parse(json) as ReportedState) : undefined;
  return models.map((m) => {
    const rm = st?.models.find((x) => x.name === m.name);
    const pf = rm?.preflight?.find((p) => p.version === m.version);
    const previous = rm?.active === m.version && rm.previous ? { previous: rm.previous } : {};
    const withReplay = { ...m, ...previous, ...(rm?.replay ? { replay: rm.replay } : {}) };
    if (!pf) return withReplay;
    const { version: _v, ...rest } = pf;
    return { ...withReplay, preflight: rest };
  });
}

function reportedSummary(json: string | null): DeviceInfo['reported'] {
  if (!json) return null;
  const st = JSON.parse(json) as ReportedState;
  return { at: st.at, agentVersion: st.agentVersion, lastAppliedSeq: st.lastAppliedSeq, ...(typeof st.trustVersion === 'number' ? { trustVersion: st.trustVersion } : {}), refusal: st.refusal ?? null, ...(st.trust ? { trust: st.trust } : {}), ...(st.config ? { config: st.config } : {}), ...(st.outbox ? { outbox: st.outbox } : {}), ...(st.disk ? { disk: st.disk } : {}), ...(st.clock ? { clock: st.clock } : {}) };
}
