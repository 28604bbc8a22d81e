// What the disk is refusing right now (docs/agent.md "Disk space"): each kind of work that writes to the
// data dir or a batch output tells this when a write failed with a full disk (DISK_FULL: ENOSPC, EDQUOT,
// SQLITE_FULL) and when the same work succeeded again. `GET /v2/health/live` and `/v2/health/ready` show
// it (`diskFull`), and `edgefleet_agent_disk_full` on /metrics, so an operator on the box sees a full disk
// and what waits for room without reading the log. Held in memory only: when the disk is full, nothing
// about it could be written.
import { toAppError } from '@edgefleet/shared/core';
import type { Logger } from './log.js';

/** The kinds of work that report here (a fixed set, so what is held stays bounded). */
export type DiskWork = 'summary windows' | 'model downloads' | 'batch outputs' | 'captured rows';

/** Longest error message kept per kind of work. */
const MESSAGE_MAX = 500;

export interface DiskRefusal {
  /** The work the disk refused (summary windows wait in memory, a download is stopped, a batch file is retried). */
  what: DiskWork;
  /** First refusal since this work last succeeded (ISO, the box's clock). */
  since: string;
  /** Latest refusal (ISO). */
  last: string;
  /** Refusals since `since`. */
  times: number;
  /** The latest error (`DISK_FULL` message, naming the file or directory). */
  message: string;
}

export interface DiskFullReport {
  /** Earliest `since` of the work refused now. */
  since: string;
  refusing: DiskRefusal[];
}

export class DiskFullState {
  private readonly refused = new Map<DiskWork, DiskRefusal>();

  constructor(private readonly logger?: Logger, private readonly now: () => number = Date.now) {}

  /** `err` stopped `what`: recorded when it is a full disk (true), ignored otherwise (false). */
  failed(what: DiskWork, err: unknown): boolean {
    const e = toAppError(err);
    if (e.code !== 'DISK_FULL') return false;
    const at = new Date(this.now()).toISOString();
    const message = e.message.length > MESSAGE_MAX ? `${e.message.slice(0, MESSAGE_MAX - 1)}…` : e.message;
    const cur = this.refused.get(what);
    if (cur) {
      cur.last = at;
      cur.times++;
      cur.message = message;
      return true;
    }
    if (this.refused.size === 0) this.logger?.warn({ what, err: message }, 'disk full: writes are refused until there is room');
    this.refused.set(what, { what, since: at, last: at, times: 1, message });
    return true;
  }

  /** `what` wrote again: it is no longer refused. */
  ok(what: DiskWork): void {
    const cur = this.refused.get(what);
    if (!cur || !this.refused.delete(what)) return;
    if (this.refused.size === 0) this.logger?.info({ what, fullSince: cur.since }, 'disk has room again: writes succeed');
  }

  /** Runs a write of `what` (synchronous or a promise), noting how it ended; its error is thrown on. */
  run<T>(what: DiskWork, write: () => T): T {
    let out: T;
    try {
      out = write();
    } catch (err) {
      this.failed(what, err);
      throw err;
    }
    if (out instanceof Promise) {
      return out.then((v: unknown) => { this.ok(what); return v; }, (err: unknown) => { this.failed(what, err); throw err; }) as T;
    }
    this.ok(what);
    return out;
  }

  /** What is refused now, or null while the disk takes every write. */
  report(): DiskFullReport | null {
    if (this.refused.size === 0) return null;
    const refusing = [...this.refused.values()].map((r) => ({ ...r }));
    return { since: refusing.map((r) => r.since).sort()[0]!, refusing };
  }

  /** Prometheus series: 1 while some write is refused for a full disk. */
  metrics(): string {
    return `# HELP edgefleet_agent_disk_full 1 while the disk refuses some of the agent's writes (GET /v2/health/live says which)\n# TYPE edgefleet_agent_disk_full gauge\nedgefleet_agent_disk_full ${this.refused.size > 0 ? 1 : 0}\n`;
  }
}
