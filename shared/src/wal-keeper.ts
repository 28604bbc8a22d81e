// Keeps a SQLite database's write-ahead log small (agent.db: docs/agent.md "Database"; hub.db:
// docs/hub.md "Database"). SQLite's automatic checkpoint cannot reset the WAL while another connection
// (a backup, an operator's `sqlite3`) holds a read transaction, so the file grows with every write, and
// afterwards it keeps its size unless journal_size_limit is set. The opener sets that limit (a reset WAL
// is cut back to it); this keeper tries a wal_checkpoint(TRUNCATE) from a timer whenever the WAL is
// above a threshold, without waiting on the busy handler (the event loop must not block behind a
// reader), so the file goes back to zero on the first tick after the reader has gone.
import { existsSync, statSync } from 'node:fs';

/** WAL bytes a reset WAL is cut back to (PRAGMA journal_size_limit), and the keeper's default threshold. */
export const WAL_SIZE_LIMIT = 4 * 1024 * 1024;

/** What the keeper needs of a better-sqlite3 database. */
export interface WalDb {
  readonly name: string;
  pragma(source: string, options?: { simple?: boolean }): unknown;
}

export interface WalKeeperOptions {
  db: WalDb;
  /** The file named in the log lines (agent.db, hub.db). */
  label: string;
  logger?: { warn(o: object, msg: string): void; info(o: object, msg: string): void; error(o: object, msg: string): void } | undefined;
  /** How often to check (default 10 s). */
  intervalMs?: number | undefined;
  /** Try the truncating checkpoint only above this many WAL bytes (default WAL_SIZE_LIMIT). */
  thresholdBytes?: number | undefined;
}

/** Size in bytes of a database's WAL file (0 when there is none, e.g. after a truncating checkpoint). */
export function walBytes(db: WalDb): number {
  const path = `${db.name}-wal`;
  try {
    return existsSync(path) ? statSync(path).size : 0;
  } catch {
    return 0; // removed between the two calls
  }
}

export class WalKeeper {
  private timer: NodeJS.Timeout | null = null;
  /** A checkpoint was blocked by a reader since the last one that went through (logged once). */
  private blocked = false;
  /** truncateSoon() asked for a truncation that has not gone through yet: the threshold does not apply. */
  private wanted = false;
  private readonly busyTimeoutMs: number;

  constructor(private readonly opts: WalKeeperOptions) {
    this.busyTimeoutMs = opts.db.pragma('busy_timeout', { simple: true }) as number;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      try {
        this.tick();
      } catch (err) {
        this.opts.logger?.error({ err }, `checkpointing ${this.opts.label} failed`);
      }
    }, this.opts.intervalMs ?? 10_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * Truncates the WAL now whatever its size, or on the next ticks until a reader has gone: after rows
   * deleted with secure_delete, their content is still in the WAL frames written before
   * (docs/hub.md "Data capture"). True when it was truncated now.
   */
  truncateSoon(): boolean {
    this.wanted = true;
    return this.tick();
  }

  /** One attempt when the WAL is above the threshold (or truncateSoon() asked); true when it was truncated. */
  tick(): boolean {
    const before = walBytes(this.opts.db);
    if (!this.wanted && before <= (this.opts.thresholdBytes ?? WAL_SIZE_LIMIT)) return false;
    const { db, label } = this.opts;
    db.pragma('busy_timeout = 0'); // fail at once while a reader holds the WAL; try again next tick
    let busy: number;
    try {
      busy = (db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>)[0]?.busy ?? 1;
    } finally {
      db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
    }
    if (busy !== 0) {
      if (!this.blocked) this.opts.logger?.warn({ walBytes: before }, `another connection holds ${label} open for reading; its WAL cannot shrink until it closes`);
      this.blocked = true;
      return false;
    }
    if (this.blocked) this.opts.logger?.info({ walBytesBefore: before, walBytes: walBytes(db) }, `${label} WAL checkpointed and truncated after the reader closed`);
    this.blocked = false;
    this.wanted = false;
    return true;
  }
}

/**
 * Runs `fn` (deletes, in the caller's transaction or not) with SQLite's secure_delete on, so the deleted
 * rows' content is overwritten with zeros instead of staying in free pages until reused; the WAL frames
 * written before still hold it until WalKeeper.truncateSoon() (docs/hub.md "Data capture").
 */
export function withSecureDelete<T>(db: WalDb, fn: () => T): T {
  const was = db.pragma('secure_delete', { simple: true }) as number;
  db.pragma('secure_delete = ON');
  try {
    return fn();
  } finally {
    db.pragma(`secure_delete = ${was}`);
  }
}
