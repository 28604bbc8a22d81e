// Named leases in the hub's database (docs/decisions/0041-several-hubs.md): one row per lease with its
// holder, the expiry (epoch ms) and a term that grows with each new holder. Taking, renewing and
// releasing are each one statement, so whatever database runs them (SQLite shared by processes on one
// machine, PostgreSQL for hubs on several) decides who holds the lease; no hub trusts its memory for it.
import type { Db } from '../store/db.js';
import type { Migration } from '../store/migrations.js';

export const LEASE_MIGRATION: Migration = {
  version: 80,
  name: 'hub leases (several hubs: one holder of the singleton jobs)',
  sql: `
    CREATE TABLE hub_leases (
      name TEXT PRIMARY KEY,
      holder TEXT NOT NULL,
      term INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      acquired_at TEXT NOT NULL,
      renewed_at TEXT NOT NULL
    );
  `,
};

/** Marks a lease held by a hub without `cluster` (docs/decisions/0074-one-hub-per-database.md). */
export const LEASE_SOLE_MIGRATION: Migration = {
  version: 82,
  name: 'hub leases: held by a hub without cluster',
  sql: 'ALTER TABLE hub_leases ADD COLUMN sole INTEGER NOT NULL DEFAULT 0;',
};

export interface LeaseRow {
  name: string;
  holder: string;
  /** 1 for the first holder; +1 each time another hub takes the lease over. */
  term: number;
  expiresAt: number;
  acquiredAt: string;
  renewedAt: string;
  /** Held by a hub without `cluster`, which allows no other hub on its database. */
  sole: boolean;
}

interface Row { name: string; holder: string; term: number; expires_at: number; acquired_at: string; renewed_at: string; sole: number }

export class LeaseRepo {
  constructor(private readonly db: Db) {}

  /**
   * Takes the lease when it is free or expired, or renews it when `holder` holds it, until `nowMs + ttlMs`;
   * one statement (an upsert whose update is conditional). Returns the row as it is afterwards: the caller
   * holds the lease iff its holder is `holder` and it expires after now. `sole`: the holder is a hub without `cluster`.
   */
  acquire(name: string, holder: string, nowMs: number, ttlMs: number, sole = false): LeaseRow {
    const at = new Date(nowMs).toISOString();
    this.db.prepare(
      `INSERT INTO hub_leases (name, holder, term, expires_at, acquired_at, renewed_at, sole) VALUES (?, ?, 1, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET
         term = CASE WHEN hub_leases.holder = excluded.holder THEN hub_leases.term ELSE hub_leases.term + 1 END,
         acquired_at = CASE WHEN hub_leases.holder = excluded.holder THEN hub_leases.acquired_at ELSE excluded.acquired_at END,
         holder = excluded.holder, expires_at = excluded.expires_at, renewed_at = excluded.renewed_at, sole = excluded.sole
       WHERE hub_leases.holder = excluded.holder OR hub_leases.expires_at <= ?`,
    ).run(name, holder, nowMs + ttlMs, at, at, sole ? 1 : 0, nowMs);
    return this.get(name) as LeaseRow;
  }

  /** Ends `holder`'s lease at once (a stopping hub, or one known dead), so another hub takes it at its next renewal. */
  release(name: string, holder: string, nowMs: number): boolean {
    return this.db.prepare('UPDATE hub_leases SET expires_at = ?, renewed_at = ? WHERE name = ? AND holder = ? AND expires_at > ?')
      .run(nowMs, new Date(nowMs).toISOString(), name, holder, nowMs).changes > 0;
  }

  /** True when `holder` holds the lease `name` at `nowMs` (the fence checked inside a singleton job's transactions). */
  holds(name: string, holder: string, nowMs: number): boolean {
    return this.db.prepare('SELECT 1 FROM hub_leases WHERE name = ? AND holder = ? AND expires_at > ?').get(name, holder, nowMs) !== undefined;
  }

  get(name: string): LeaseRow | null {
    const r = this.db.prepare('SELECT name, holder, term, expires_at, acquired_at, renewed_at, sole FROM hub_leases WHERE name = ?').get(name) as Row | undefined;
    return r ? { name: r.name, holder: r.holder, term: r.term, expiresAt: r.expires_at, acquiredAt: r.acquired_at, renewedAt: r.renewed_at, sole: Number(r.sole) === 1 } : null;
  }
}
