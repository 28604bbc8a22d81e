// Presence writes (online, last seen) batched: every connect, presence message and disconnect used to
// be an UPDATE of its own, an SQLite commit each, two or three per reconnect; in a reconnect storm
// of 10,000 devices they were the largest single cost of the hub (docs/performance.md "Reconnect
// storm"). Marks wait here at most `flushMs` (or until `maxPending` devices have one) and are written
// in one transaction, the latest mark per device winning. Last seen only moves forward there, as the
// message path's touch() does. What a hub crash can lose is at most `flushMs` of presence, which the
// device's next connect rewrites.
import type { DeviceAuthPort, LoggerPort, PresenceMark } from './ports.js';

export interface PresenceWriterOptions {
  devices: Pick<DeviceAuthPort, 'markSeen' | 'markSeenMany'>;
  logger: LoggerPort;
  /** Longest a mark waits before it is written (default 50 ms). */
  flushMs?: number;
  /** Devices with a pending mark that trigger a write at once (default 2,000). */
  maxPending?: number;
}

export class PresenceWriter {
  private pending = new Map<string, PresenceMark>();
  private timer: NodeJS.Timeout | null = null;
  private readonly flushMs: number;
  private readonly maxPending: number;

  constructor(private readonly o: PresenceWriterOptions) {
    this.flushMs = o.flushMs ?? 50;
    this.maxPending = o.maxPending ?? 2000;
  }

  mark(id: string, online: boolean, at: Date): void {
    this.pending.delete(id); // re-inserted last: a device's latest mark wins, in arrival order
    this.pending.set(id, { id, online, at });
    if (this.pending.size >= this.maxPending) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.flushMs);
  }

  /** Writes every pending mark now (also from stop paths); never throws. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.size === 0) return;
    const marks = [...this.pending.values()];
    this.pending = new Map();
    try {
      if (this.o.devices.markSeenMany) this.o.devices.markSeenMany(marks);
      else for (const m of marks) this.o.devices.markSeen(m.id, m.online, m.at);
    } catch (err) {
      // markSeen must not throw; a port that does loses these marks, which the next connect rewrites.
      this.o.logger.warn({ err: String(err), devices: marks.length }, 'presence not written');
    }
  }

  /** Marks waiting (for tests and metrics). */
  get size(): number {
    return this.pending.size;
  }
}
