// Keeps agent.db's write-ahead log small (docs/agent.md "Database"). SQLite's automatic checkpoint
// cannot reset the WAL while another connection (a backup tool, `sqlite3` opened by an operator)
// holds a read transaction, so the file grows with every write, and afterwards it keeps its size.
// openDb sets journal_size_limit (a reset WAL is cut back to it); this part tries a
// wal_checkpoint(TRUNCATE) from a timer whenever the WAL is above a threshold, without waiting on
// the busy handler (the event loop must not block behind a reader), so the file goes back to zero on
// the first tick after the reader has gone.
import { existsSync, statSync } from 'node:fs';
import type { Logger } from '../log.js';
import { JOURNAL_SIZE_LIMIT, type Db } from './db.js';

export interface WalKeeperOptions {
  db: Db;
  logger?: Logger;
  /** How often to check (default 10 s). */
  intervalMs?: number;
  /** Try the truncating checkpoint only above this many WAL bytes (default JOURNAL_SIZE_LIMIT). */
  thresholdBytes?: number;
}

/** Size in bytes of a database's WAL file (0 when there is none, e.g. after a truncating checkpoint). */
export function walBytes(db: Db): number {
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
        this.opts.logger?.error({ err }, 'checkpointing agent.db failed');
      }
    }, this.opts.intervalMs ?? 10_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One attempt when the WAL is above the threshold; true when it was truncated. */
  tick(): boolean {
    const before = walBytes(this.opts.db);
    if (before <= (this.opts.thresholdBytes ?? JOURNAL_SIZE_LIMIT)) return false;
    const db = this.opts.db;
    db.pragma('busy_timeout = 0'); // fail at once while a reader holds the WAL; try again next tick
    let busy: number;
    try {
      busy = (db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>)[0]?.busy ?? 1;
    } finally {
      db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
    }
    if (busy !== 0) {
      if (!this.blocked) this.opts.logger?.warn({ walBytes: before }, 'another connection holds agent.db open for reading; its WAL cannot shrink until it closes');
      this.blocked = true;
      return false;
    }
    if (this.blocked) this.opts.logger?.info({ walBytesBefore: before, walBytes: walBytes(db) }, 'agent.db WAL checkpointed and truncated after the reader closed');
    this.blocked = false;
    return true;
  }
}
