// Telemetry windows written per event-loop tick (docs/decisions/0042-ingest-throughput.md): the
// batches that arrive while the loop is busy (the guard has already sorted them) wait for a
// setImmediate and are stored together in one SQLite transaction, with the last-seen updates that
// came with them, and each device then gets one ack for all of its seqs of that tick. A window is
// acked only after the transaction that stored it committed, and (device, seq) stays the key, so a
// resend is still a no-op: exactly once as before. If the shared transaction fails, every batch is
// retried in a transaction of its own, so one bad batch fails (and is resent) alone; unless the store
// itself failed (busy, unreachable, full): then the whole tick fails at once, unacked, and is resent.
import { toAppError, toRanges, type ErrorCode, type SeqWindow } from '@edgefleet/shared';
import type { TelemetryRepo, WindowBatch } from '../store/telemetry-repo.js';

/** Windows past which a tick's writes are committed without waiting for the tick to end (bounds one transaction's time). */
export const MAX_TICK_WINDOWS = 500;

/** Failures of the store, not of a batch's windows: the batches are not tried one by one after them. */
const NOT_THE_BATCH: ReadonlySet<ErrorCode> = new Set(['DATABASE_BUSY', 'DATABASE_UNAVAILABLE', 'DISK_FULL']);

interface Pending extends WindowBatch {
  /** Every seq of the message, refused ones too: all are acked (service.ts). */
  seqs: number[];
  /** Its last seen is due (service.ts seen()). */
  touch: boolean;
  done: (err?: unknown) => void;
}

export interface WindowWriterDeps {
  telemetry: TelemetryRepo;
  now(): Date;
  /** Moves a device's last seen (DevicesRepo.touch); runs inside the tick's transaction. */
  touch(deviceId: string, at: Date): void;
  /** Counts what was written for a device (IngestGuard.stored). */
  stored(deviceId: string, bytes: number): void;
  /** Publishes one ack message to a device. */
  ack(deviceId: string, payload: string): Promise<void>;
  /** The highest seq the hub holds from a device (IngestGuard.maxSeq), told in its acks. */
  maxSeq?(deviceId: string): number | undefined;
}

/**
 * An ack of `seqs` (every seq of the messages, refused ones too), naming those the hub held already
 * (`known`) and the highest seq it holds from the device: an agent numbering below it again (its
 * agent.db put back from a backup) moves what the hub did not store above it (docs/agent.md "Outbox").
 */
export function ackPayload(seqs: readonly number[], known: readonly number[], maxSeq: number | undefined): string {
  return JSON.stringify({ schema: 'edgefleet.ack/v1', ranges: toRanges([...seqs]), ...(known.length ? { known: toRanges([...known]) } : {}), ...(maxSeq !== undefined ? { maxSeq } : {}) });
}

export class WindowWriter {
  private pending: Pending[] = [];
  private windows = 0;
  private scheduled: NodeJS.Immediate | null = null;

  constructor(private readonly deps: WindowWriterDeps) {}

  /** Queues one message's plausible windows; resolves once they are stored and the device's ack is published. */
  write(deviceId: string, windows: readonly SeqWindow[], seqs: number[], touch: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ deviceId, windows, seqs, touch, done: (err) => (err === undefined ? resolve() : reject(err as Error)) });
      this.windows += windows.length;
      if (this.windows >= MAX_TICK_WINDOWS) this.flush();
      else this.scheduled ??= setImmediate(() => this.flush());
    });
  }

  /**
   * Writes and acks what is queued now (also called by the ingest's stop). Returns the messages it could
   * not store: not acked, so their devices keep them and send them again.
   */
  flush(): Array<{ deviceId: string; seqs: number[] }> {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = null;
    const batch = this.pending;
    if (batch.length === 0) return [];
    this.pending = [];
    this.windows = 0;
    const now = this.deps.now();
    const failed = this.store(batch, now);
    // One ack per device for all its seqs of this tick.
    const byDevice = new Map<string, Pending[]>();
    for (const p of batch) {
      if (failed.has(p)) continue;
      const list = byDevice.get(p.deviceId);
      if (list) list.push(p);
      else byDevice.set(p.deviceId, [p]);
    }
    for (const [deviceId, list] of byDevice) {
      const seqs = list.length === 1 ? (list[0] as Pending).seqs : list.flatMap((p) => p.seqs);
      this.deps.ack(deviceId, ackPayload(seqs, list.flatMap((p) => p.known ?? []), this.deps.maxSeq?.(deviceId))).then(
        () => list.forEach((p) => p.done()),
        (err: unknown) => list.forEach((p) => p.done(err)),
      );
    }
    return [...failed].map((p) => ({ deviceId: p.deviceId, seqs: p.seqs }));
  }

  /** Stores the batches: one transaction, or one each if that fails. Returns the batches not stored (already rejected). */
  private store(batch: Pending[], now: Date): Set<Pending> {
    const failed = new Set<Pending>();
    const touches = () => {
      for (const p of batch) if (p.touch) this.deps.touch(p.deviceId, now);
    };
    for (const p of batch) p.known = [];
    try {
      const bytes = this.deps.telemetry.putWindowsMany(batch, now, touches);
      batch.forEach((p, i) => this.deps.stored(p.deviceId, bytes[i] ?? 0));
      return failed;
    } catch (err) {
      // What fails the store itself fails each batch alike: trying them one by one would only wait again
      // (a busy or unreachable database waits up to its timeout per statement).
      if (NOT_THE_BATCH.has(toAppError(err).code)) {
        for (const p of batch) {
          failed.add(p);
          p.done(err);
        }
        return failed;
      }
      for (const p of batch) {
        p.known = []; // what the failed transaction found is gone with it
        try {
          const [bytes = 0] = this.deps.telemetry.putWindowsMany([p], now, p.touch ? () => this.deps.touch(p.deviceId, now) : undefined);
          this.deps.stored(p.deviceId, bytes);
        } catch (err) {
          failed.add(p);
          p.done(err);
        }
      }
      return failed;
    }
  }
}
