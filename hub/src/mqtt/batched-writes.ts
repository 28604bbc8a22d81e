// Writes batched into one transaction: per-device state that changes often (presence in presence-writer.ts,
// clock offsets in ingest/clock-offset.ts, the clocks agents name in ingest/clock-marks.ts). After a hub
// restart, or a site whose boxes all rebooted, every device's first presence has one of each, and 10,000
// commits of their own were a large part of a reconnect storm's CPU (docs/performance.md "Reconnect
// storm"). A value waits at most `flushMs`, or until `maxPending` keys have one; the callers read their
// caches meanwhile. What a hub crash can lose is at most `flushMs` of them.

export interface BatchedWritesOptions {
  /** Longest a value waits before it is written (default 50 ms). */
  flushMs?: number;
  /** Keys with a pending value that trigger a write at once (default 2,000). */
  maxPending?: number;
}

export class BatchedWrites<V> {
  private pending = new Map<string, V>();
  private timer: NodeJS.Timeout | null = null;
  private readonly flushMs: number;
  private readonly maxPending: number;

  /**
   * `writeAll` writes one batch, in arrival order, in one transaction; when it throws, the batch is lost and
   * `onError` says so (the next change is written again).
   */
  constructor(
    private readonly writeAll: (batch: V[]) => void,
    private readonly onError: (err: unknown, count: number) => void,
    o: BatchedWritesOptions = {},
  ) {
    this.flushMs = o.flushMs ?? 50;
    this.maxPending = o.maxPending ?? 2000;
  }

  /** The value to write for `key`; a later one for the same key replaces it and moves it last. */
  set(key: string, value: V): void {
    this.pending.delete(key);
    this.pending.set(key, value);
    if (this.pending.size >= this.maxPending) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.flushMs);
  }

  /** Writes what is pending now (stop paths call it); never throws. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.size === 0) return;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    try {
      this.writeAll(batch);
    } catch (err) {
      this.onError(err, batch.length);
    }
  }

  /** Keys with a value waiting (for tests and metrics). */
  get size(): number {
    return this.pending.size;
  }
}
