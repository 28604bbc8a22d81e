// Durable sync state in agent.db: the last applied desired seq and document, the seq floor of each
// hub key (docs/operations.md "A stolen hub key"), the last refusal, partial downloads (resume after
// a kill), versions rolled back locally (not retried until a newer desired document asks), and the
// highest outbox seq ever handed to the link (docs/agent.md "Outbox").
import type { Db } from '../store/db.js';
import type { Logger } from '../log.js';
import type { DownloadRecord, DownloadStore } from './downloader.js';

const KV_SQL = 'CREATE TABLE IF NOT EXISTS sync_kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)';

export const SYNC_SQL = `
${KV_SQL};
CREATE TABLE IF NOT EXISTS downloads (sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, committed INTEGER NOT NULL, updated TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocked_versions (name TEXT NOT NULL, version TEXT NOT NULL, until_seq INTEGER NOT NULL, reason TEXT NOT NULL, PRIMARY KEY (name, version));
`;

/** Agent migration 200 (ids 200-299 are sync's). */
export const syncMigration = { id: 200, name: 'sync state, downloads, blocked versions', up(db: Db): void { db.exec(SYNC_SQL); } };

const FLOORS_SQL = 'CREATE TABLE IF NOT EXISTS seq_floors (key_id TEXT PRIMARY KEY, seq INTEGER NOT NULL)';

/**
 * Agent migration 201: the seq floor per hub key. A database written before it had one floor
 * (sync_kv lastAppliedSeq); it becomes the floor of the keys that signed the applied document.
 */
export const seqFloorsMigration = {
  id: 201,
  name: 'desired seq floor per hub key',
  up(db: Db): void {
    db.exec(SYNC_SQL);
    db.exec(FLOORS_SQL);
    const kv = (key: string) => (db.prepare('SELECT value FROM sync_kv WHERE key = ?').get(key) as { value: string } | undefined)?.value;
    const seq = Number(kv('lastAppliedSeq') ?? 0);
    const doc = kv('desired');
    if (!doc || !(seq > 0)) return;
    const sigs = (JSON.parse(doc) as { signatures?: Array<{ keyId?: unknown }> }).signatures ?? [];
    for (const s of sigs) {
      if (typeof s.keyId === 'string') db.prepare('INSERT OR IGNORE INTO seq_floors (key_id, seq) VALUES (?, ?)').run(s.keyId, seq);
    }
  },
};

const SENT_KEY = 'outboxSentSeq';
/** The device id the box last started as (startIdentity). */
const IDENTITY_KEY = 'deviceId';

/** A box started as another device id than before: the id it was, and the queued items of it dropped. */
export interface IdentityChange { previousId: string; windows: number; events: number }

/** Says what a change of device id reset and dropped (docs/agent.md "CLI", enroll). */
export function logIdentityChange(logger: Pick<Logger, 'info' | 'warn'>, deviceId: string, c: IdentityChange): void {
  logger.info({ deviceId, previousId: c.previousId }, `enrolled again as ${deviceId} (was ${c.previousId}): the desired documents of ${c.previousId} and their seqs no longer apply`);
  if (c.windows + c.events === 0) return;
  logger.warn({ deviceId, previousId: c.previousId, windows: c.windows, events: c.events },
    `dropped ${c.windows} summary windows and ${c.events} events queued as ${c.previousId} and not yet sent: they are ${c.previousId}'s history, not ${deviceId}'s (its sent ones stay on the hub under ${c.previousId})`);
}

/**
 * The highest outbox seq ever handed to the link (0: none, or a database without sync state). Every
 * outbox row at or below it may be stored on the hub although no ack came (acks are QoS 0), whatever
 * restarts and reconnects happened since: retention never merges such a row (docs/agent.md "Outbox").
 */
export function outboxSentSeq(db: Db): number {
  if (!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sync_kv'").get()) return 0;
  return Number((db.prepare('SELECT value FROM sync_kv WHERE key = ?').get(SENT_KEY) as { value: string } | undefined)?.value ?? 0);
}

/**
 * Raises the outbox's sent mark (outboxSentSeq) before rows go out: one write for a batch that holds
 * a seq above it, none for a resend. Durable when it returns (agent.db is synchronous=FULL, store/db.ts).
 */
export class OutboxSentMark {
  /** The mark as stored (read at the first raise: a restarted agent resends below it without a write). */
  private stored: number | undefined;

  constructor(private readonly db: Db) {}

  raise(seq: number): void {
    if (this.stored === undefined) {
      this.db.exec(KV_SQL); // a database opened without the sync migration (tests)
      this.stored = outboxSentSeq(this.db);
    }
    if (seq <= this.stored) return;
    // Never lowered, also by another sender on the same file.
    this.db
      .prepare('INSERT INTO sync_kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value WHERE CAST(excluded.value AS INTEGER) > CAST(sync_kv.value AS INTEGER)')
      .run(SENT_KEY, String(seq));
    this.stored = seq;
  }
}

/** The agent version of the last start (startAgentVersion). */
const AGENT_VERSION_KEY = 'agentVersion';

/**
 * Install failures another agent version may not have: its own version too old for the manifest, a manifest
 * or bundle format it does not know, a model its onnxruntime cannot load. A bundle's own damage (signatures,
 * hashes, io, preflight) and a policy breach stay blocked (decision 0126).
 */
export const UPGRADE_LIFTS = ['AGENT_TOO_OLD', 'UNSUPPORTED_VERSION', 'SCHEMA_INVALID', 'MODEL_LOAD_FAILED'] as const;

export interface Refusal { seq: number; code: string; message: string; at: string }

export class SyncStore implements DownloadStore {
  constructor(private readonly db: Db) {
    db.exec(SYNC_SQL);
    db.exec(FLOORS_SQL);
  }

  private getKv(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM sync_kv WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  private setKv(key: string, value: string): void {
    this.db.prepare('INSERT INTO sync_kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  /** Counts one more start of the agent on this data directory and returns the count (reported as `starts`, decision 0045). */
  countStart(): number {
    const n = Number(this.getKv('starts') ?? 0) + 1;
    this.setKv('starts', String(n));
    return n;
  }

  lastAppliedSeq(): number {
    return Number(this.getKv('lastAppliedSeq') ?? 0);
  }

  /** The highest seq applied under any of `keyIds` (0 for a key that never signed an applied document). */
  floor(keyIds: string[]): number {
    let max = 0;
    for (const k of keyIds) {
      const r = this.db.prepare('SELECT seq FROM seq_floors WHERE key_id = ?').get(k) as { seq: number } | undefined;
      if (r && r.seq > max) max = r.seq;
    }
    return max;
  }

  /** Every key's floor (status and tests). */
  floors(): Record<string, number> {
    const rows = this.db.prepare('SELECT key_id, seq FROM seq_floors ORDER BY key_id').all() as Array<{ key_id: string; seq: number }>;
    return Object.fromEntries(rows.map((r) => [r.key_id, r.seq]));
  }

  /** Records the accepted document, its seq and the floor of the keys that signed it in one transaction. */
  setApplied(seq: number, doc: unknown, signers: string[] = []): void {
    this.db.transaction(() => {
      this.setKv('lastAppliedSeq', String(seq));
      this.setKv('desired', JSON.stringify(doc));
      for (const k of signers) {
        this.db.prepare('INSERT INTO seq_floors (key_id, seq) VALUES (?, ?) ON CONFLICT(key_id) DO UPDATE SET seq = MAX(seq, excluded.seq)').run(k, seq);
      }
    })();
  }

  /**
   * A trust rotation changed the hub keys: a new seq space begins. Blocks of locally rolled-back
   * versions were measured in the old space's seqs (maybe a stolen key's 2^52), so they lift at the
   * next document instead of holding until the new key's seqs catch up.
   */
  newSeqSpace(): void {
    this.db.prepare('UPDATE blocked_versions SET until_seq = 0').run();
  }

  /**
   * Seq floors, the applied document and its refusal belong to the device id the documents were for. A
   * box enrolled again as another device (`enroll --force`) starts a new seq space: the hub numbers the
   * new id's documents from 1, which the old id's floor refused as replayed (DOCUMENT_REPLAYED) until its
   * seqs caught up. A document for another id is refused anyway (DOCUMENT_WRONG_DEVICE), so nothing
   * replayable is let through. The windows and events the old id queued and did not send are dropped,
   * counted: sent under the new id they would be its history, in its drift, latency and the gates of its
   * rollouts, while they are the old id's (docs/decisions/0112-seq-space-per-device-id.md, addendum).
   * The id is kept at each start, so a box that queued as the old id without ever applying a document is
   * seen too. Returns what it reset and dropped when the id changed, else undefined.
   */
  startIdentity(deviceId: string): IdentityChange | undefined {
    const applied = (this.appliedDocument() as { signed?: { deviceId?: unknown } } | undefined)?.signed?.deviceId;
    const previous = this.getKv(IDENTITY_KEY) ?? applied;
    if (typeof previous !== 'string' || previous === deviceId) {
      if (previous === undefined) this.setKv(IDENTITY_KEY, deviceId);
      return undefined;
    }
    return this.db.transaction((): IdentityChange => {
      this.db.prepare("DELETE FROM sync_kv WHERE key IN ('lastAppliedSeq', 'desired', 'refusal')").run();
      this.db.prepare('DELETE FROM seq_floors').run();
      this.newSeqSpace();
      const count = (kind: string) => this.db.prepare('DELETE FROM outbox WHERE kind = ?').run(kind).changes;
      const dropped = { previousId: previous, windows: count('window'), events: count('event') };
      this.setKv(IDENTITY_KEY, deviceId);
      return dropped;
    })();
  }

  appliedDocument(): unknown {
    const d = this.getKv('desired');
    return d ? (JSON.parse(d) as unknown) : undefined;
  }

  refusal(): Refusal | undefined {
    const r = this.getKv('refusal');
    return r ? (JSON.parse(r) as Refusal) : undefined;
  }

  setRefusal(r: Refusal): void {
    this.setKv('refusal', JSON.stringify(r));
  }

  /** `VERSION:CODE` of the last trust document refused (trust-rotation.ts). */
  trustRefused(): string | undefined {
    return this.getKv('trustRefused');
  }

  setTrustRefused(key: string): void {
    this.setKv('trustRefused', key);
  }

  block(name: string, version: string, untilSeq: number, reason: string): void {
    this.db
      .prepare('INSERT INTO blocked_versions (name, version, until_seq, reason) VALUES (?, ?, ?, ?) ON CONFLICT(name, version) DO UPDATE SET until_seq = excluded.until_seq, reason = excluded.reason')
      .run(name, version, untilSeq, reason);
  }

  /**
   * The agent runs as another version than at its last start (an upgrade, a downgrade, or the first start
   * of an agent that records it): the blocks whose cause was the agent itself, not the bundle nor its
   * behaviour (UPGRADE_LIFTS), are lifted, so the applied document, taken again at start, installs those
   * versions now (docs/decisions/0126-an-agent-upgrade-lifts-its-own-blocks.md). Returns what it lifted.
   */
  startAgentVersion(version: string): Array<{ name: string; version: string; reason: string }> {
    if (this.getKv(AGENT_VERSION_KEY) === version) return [];
    return this.db.transaction(() => {
      const rows = this.db.prepare('SELECT name, version, reason FROM blocked_versions ORDER BY name, version').all() as Array<{ name: string; version: string; reason: string }>;
      const lifted = rows.filter((r) => UPGRADE_LIFTS.some((code) => r.reason.startsWith(`${code}: `)));
      for (const r of lifted) this.db.prepare('DELETE FROM blocked_versions WHERE name = ? AND version = ?').run(r.name, r.version);
      this.setKv(AGENT_VERSION_KEY, version);
      return lifted;
    })();
  }

  /** A version rolled back locally stays blocked for documents up to the seq that was current then. */
  blocked(name: string, version: string, seq: number): string | undefined {
    const r = this.db.prepare('SELECT until_seq, reason FROM blocked_versions WHERE name = ? AND version = ?').get(name, version) as { until_seq: number; reason: string } | undefined;
    return r && seq <= r.until_seq ? r.reason : undefined;
  }

  get(sha256: string): DownloadRecord | null {
    const r = this.db.prepare('SELECT sha256, size, committed FROM downloads WHERE sha256 = ?').get(sha256) as DownloadRecord | undefined;
    return r ?? null;
  }

  save(rec: DownloadRecord): void {
    this.db
      .prepare('INSERT INTO downloads (sha256, size, committed, updated) VALUES (?, ?, ?, ?) ON CONFLICT(sha256) DO UPDATE SET size = excluded.size, committed = excluded.committed, updated = excluded.updated')
      .run(rec.sha256, rec.size, rec.committed, new Date().toISOString());
  }

  remove(sha256: string): void {
    this.db.prepare('DELETE FROM downloads WHERE sha256 = ?').run(sha256);
  }
}
