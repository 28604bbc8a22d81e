// The box's update lock (docs/agent.md "Update lock"): a local app asks that the model it uses is not
// switched under it for a while (POST /edgefleet/v1/update-lock {ttlSec, reason}). Kept in agent.db so a
// restart keeps it; bounded by UPDATE_LOCK_MAX_SEC, and a lock that lies further ahead than that (the
// clock was stepped back) is cut to it, so no clock change makes a lock last longer than its bound.
import type { Db, Migration } from './db.js';

/** Longest lock: a day. An app that needs longer renews it (each POST sets a new expiry). */
export const UPDATE_LOCK_MAX_SEC = 86_400;
/** Longest reason kept. */
export const UPDATE_LOCK_REASON_MAX = 200;

export const updateLockMigration: Migration = {
  id: 300,
  name: 'update lock',
  up(db) {
    db.exec('CREATE TABLE update_lock (id INTEGER PRIMARY KEY CHECK (id = 1), until_ms INTEGER NOT NULL, reason TEXT NOT NULL, set_at TEXT NOT NULL)');
  },
};

export interface UpdateLock {
  /** When it expires (ms since the epoch, by the box's clock). */
  until: number;
  reason: string;
  /** When it was set (ISO). */
  setAt: string;
}

export class UpdateLockRepo {
  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {}

  /** The lock in force now, or null (an expired one is deleted). */
  get(): UpdateLock | null {
    const r = this.db.prepare('SELECT until_ms, reason, set_at FROM update_lock WHERE id = 1').get() as { until_ms: number; reason: string; set_at: string } | undefined;
    if (!r) return null;
    const now = this.now();
    if (r.until_ms <= now) {
      this.db.prepare('DELETE FROM update_lock WHERE id = 1').run();
      return null;
    }
    let until = r.until_ms;
    if (until > now + UPDATE_LOCK_MAX_SEC * 1000) {
      until = now + UPDATE_LOCK_MAX_SEC * 1000;
      this.db.prepare('UPDATE update_lock SET until_ms = ? WHERE id = 1').run(until);
    }
    return { until, reason: r.reason, setAt: r.set_at };
  }

  /** Sets (or renews) the lock for ttlSec from now; callers check the bounds (api/update-lock.ts). */
  set(ttlSec: number, reason: string): UpdateLock {
    const now = this.now();
    const lock = { until: now + ttlSec * 1000, reason, setAt: new Date(now).toISOString() };
    this.db.prepare('INSERT INTO update_lock (id, until_ms, reason, set_at) VALUES (1, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET until_ms = excluded.until_ms, reason = excluded.reason, set_at = excluded.set_at')
      .run(lock.until, lock.reason, lock.setAt);
    return lock;
  }

  /** Removes the lock; whether there was one in force. */
  clear(): boolean {
    const had = this.get() !== null;
    this.db.prepare('DELETE FROM update_lock WHERE id = 1').run();
    return had;
  }
}
