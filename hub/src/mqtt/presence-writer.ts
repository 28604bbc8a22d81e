// Presence writes (online, last seen) batched: every connect, presence message and disconnect used to
// be an UPDATE of its own, an SQLite commit each, two or three per reconnect; in a reconnect storm
// of 10,000 devices they were the largest single cost of the hub (docs/performance.md "Reconnect
// storm"). Marks wait here at most `flushMs` (or until `maxPending` devices have one) and are written
// in one transaction, the latest mark per device winning. Last seen only moves forward there, as the
// message path's touch() does. What a hub crash can lose is at most `flushMs` of presence, which the
// device's next connect rewrites.
import { BatchedWrites } from './batched-writes.js';
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
  private readonly writes: BatchedWrites<PresenceMark>;

  constructor(o: PresenceWriterOptions) {
    this.writes = new BatchedWrites<PresenceMark>(
      (marks) => {
        if (o.devices.markSeenMany) o.devices.markSeenMany(marks);
        else for (const m of marks) o.devices.markSeen(m.id, m.online, m.at);
      },
      // markSeen must not throw; a port that does loses these marks, which the next connect rewrites.
      (err, count) => o.logger.warn({ err: String(err), devices: count }, 'presence not written'),
      o,
    );
  }

  /** A device's latest mark wins, in arrival order. */
  mark(id: string, online: boolean, at: Date): void {
    this.writes.set(id, { id, online, at });
  }

  /** Writes every pending mark now (also from stop paths); never throws. */
  flush(): void {
    this.writes.flush();
  }

  /** Marks waiting (for tests and metrics). */
  get size(): number {
    return this.writes.size;
  }
}
