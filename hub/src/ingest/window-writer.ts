// Windows, events and reported states written in batches (docs/decisions/0042-ingest-throughput.md and
// docs/decisions/0091-event-ingest-batches.md): the messages that arrive while the loop is busy wait for
// a setImmediate and are sorted (the guard) and stored together in one SQLite transaction, in arrival
// order, at most MAX_BATCH windows and events a transaction, with a reported state's writes and the
// last-seen updates that came with them; after the commit each message's `stored` step runs (the
// listeners) in arrival order, all in a second transaction, and each device then gets one ack for all of
// its seqs of that batch. What is left waits for the next turn of the loop, so HTTP requests and other
// devices are served between batches; once MAX_BATCH windows (or MAX_QUEUED in all) wait, the writes are
// made at once (memory stays bounded). A window or event is acked only after the transaction that stored
// it committed, and (device, seq) stays the key, so a resend is still a no-op: exactly once as before.
// If the shared transaction fails, every message is retried in a transaction of its own (its sorting
// kept), so one bad message fails (and is resent) alone; unless the store itself failed (busy,
// unreachable, full): then the whole batch fails at once, unacked, and is resent.
import { toAppError, toRanges, type DeviceEvent, type ErrorCode, type SeqWindow } from '@edgefleet/shared';
import type { TelemetryRepo, WindowBatch } from '../store/telemetry-repo.js';

/** Windows and events a transaction at most (a message counts at least one): bounds how long one batch holds the loop. */
export const MAX_BATCH = 500;
/** Windows and events waiting at most: past it they are written at once instead of a batch a turn of the loop. */
export const MAX_QUEUED = 10 * MAX_BATCH;

/** Failures of the store, not of a batch's windows: the batches are not tried one by one after them. */
const NOT_THE_BATCH: ReadonlySet<ErrorCode> = new Set(['DATABASE_BUSY', 'DATABASE_UNAVAILABLE', 'DISK_FULL']);

/** What of a message is stored: its plausible windows and events (the guard's sorting). */
export interface Sorted {
  windows?: readonly SeqWindow[];
  events?: readonly DeviceEvent[];
  /** Seqs the hub holds otherwise (parked: guard.ts), not stored: acked as `known` like stored ones. */
  held?: readonly number[];
  /** Its writes besides windows and events (parked ones: service.ts), made again when the message is retried alone. */
  again?: () => void;
}

/** One device message as the ingest hands it over (service.ts): sorted and written in its batch. */
export interface Write {
  deviceId: string;
  /** Its windows and events as they arrived (its weight in a batch): stored as they are unless `sort` is given. */
  windows?: readonly SeqWindow[];
  events?: readonly DeviceEvent[];
  /**
   * Sorts them (the guard): those to store. Once, in the batch's transaction and arrival order: so it sees what the messages
   * before it wrote (a reported state's versions). A retry of the message alone reuses its result.
   */
  sort?: () => Sorted;
  /** Its writes besides windows and events (a reported state), in the batch's transaction before the messages after it are sorted. */
  apply?: () => void;
  /** Every seq of the message, refused ones too: all are acked. Absent: nothing to ack (a reported state). */
  seqs?: number[];
  /** Its last seen is due (service.ts seenDue()). */
  touch: boolean;
  /** Runs once the message is stored, before its ack (the ingest's listeners), with the batch's others in one transaction; a throw fails the message, unacked. */
  stored?: () => void;
}

interface Pending extends WindowBatch {
  sort: (() => Sorted) | undefined;
  apply: (() => void) | undefined;
  sorted: boolean;
  held: readonly number[];
  again: (() => void) | undefined;
  seqs: number[] | undefined;
  touch: boolean;
  stored: (() => void) | undefined;
  weight: number;
  /** Its raw windows, counted against MAX_BATCH while queued. */
  rawWindows: number;
  done: (err?: unknown) => void;
}

export interface WindowWriterDeps {
  telemetry: TelemetryRepo;
  now(): Date;
  /**
   * Runs `fn` in one transaction (nested: a savepoint): a batch's sorting and writes, and after its commit
   * its listeners (whose status changes reach the live stream once that commits: DeploymentsRepo.holdStatus).
   */
  transaction<T>(fn: () => T): T;
  /** Moves a device's last seen (DevicesRepo.touch); runs inside the tick's transaction. */
  touch(deviceId: string, at: Date): void;
  /** Counts what was written for a device (IngestGuard.stored). */
  stored(deviceId: string, bytes: number): void;
  /** Publishes one ack message to a device. */
  ack(deviceId: string, payload: string): Promise<void>;
  /** The highest seq the hub holds from a device (IngestGuard.maxSeq), told in its acks. */
  maxSeq?(deviceId: string): number | undefined;
  /** Counts windows and events that came again, the hub holding them already (a resend: `known` in their acks). */
  resent?(n: number): void;
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
  /** Oldest first; `queued` counts their windows and events, `queuedWindows` the windows alone. */
  private pending: Pending[] = [];
  private queued = 0;
  private queuedWindows = 0;
  private scheduled: NodeJS.Immediate | null = null;
  /** Transactions tried since the start (read by tests: a batch is one). */
  transactions = 0;

  constructor(private readonly deps: WindowWriterDeps) {}

  /** Queues one message; resolves once it is sorted and stored, its listeners ran and the device's ack is published. */
  write(w: Write): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const rawWindows = w.windows?.length ?? 0;
      const weight = Math.max(1, rawWindows + (w.events?.length ?? 0));
      this.pending.push({
        deviceId: w.deviceId, windows: w.windows ?? [], ...(w.events ? { events: w.events } : {}), sort: w.sort, apply: w.apply, sorted: !w.sort, held: [], again: undefined, seqs: w.seqs, touch: w.touch, stored: w.stored, weight, rawWindows,
        done: (err) => (err === undefined ? resolve() : reject(err as Error)),
      });
      this.queued += weight;
      this.queuedWindows += rawWindows;
      // Windows are written as soon as a batch of them is queued, in the read that brings them, as before
      // decision 0091: deferred to a batch a turn they cost the hub ~10 µs more CPU a window (issue 13's
      // ingest bench) and shortened no stall; events and states wait for the turn's end.
      if (this.queuedWindows >= MAX_BATCH || this.queued >= MAX_QUEUED) this.flush();
      else this.scheduled ??= setImmediate(() => this.turn());
    });
  }

  /**
   * Writes and acks everything queued now (the ingest's stop, MAX_BATCH windows or MAX_QUEUED in all queued). Returns the
   * messages it could not store: not acked, so their devices keep them and send them again.
   */
  flush(): Array<{ deviceId: string; seqs: number[] }> {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = null;
    const failed: Pending[] = [];
    while (this.pending.length) failed.push(...this.batch());
    return failed.filter((p) => p.seqs).map((p) => ({ deviceId: p.deviceId, seqs: p.seqs ?? [] }));
  }

  /** One batch, then the rest on the next turn of the loop (after its I/O: requests, other devices). */
  private turn(): void {
    this.scheduled = null;
    this.batch();
    if (this.pending.length) this.scheduled = setImmediate(() => this.turn());
  }

  /** Stores, follows and acks the oldest messages up to MAX_BATCH windows and events; returns those not stored. */
  private batch(): Pending[] {
    let n = 0;
    let weight = 0;
    while (n < this.pending.length && (n === 0 || weight + (this.pending[n] as Pending).weight <= MAX_BATCH)) weight += (this.pending[n++] as Pending).weight;
    const batch = this.pending.splice(0, n);
    this.queued -= weight;
    for (const p of batch) this.queuedWindows -= p.rawWindows;
    const failed = this.store(batch, this.deps.now());
    const followed = this.followAll(batch.filter((p) => !failed.has(p)));
    // Then one ack per device for all its seqs of this batch.
    const byDevice = new Map<string, Pending[]>();
    for (const p of followed) {
      if (!p.seqs) {
        p.done();
        continue;
      }
      const list = byDevice.get(p.deviceId);
      if (list) list.push(p);
      else byDevice.set(p.deviceId, [p]);
    }
    for (const [deviceId, list] of byDevice) {
      const seqs = list.flatMap((p) => p.seqs ?? []);
      const known = list.flatMap((p) => p.known ?? []);
      if (known.length) this.deps.resent?.(known.length);
      this.deps.ack(deviceId, ackPayload(seqs, known, this.deps.maxSeq?.(deviceId))).then(
        () => list.forEach((p) => p.done()),
        (err: unknown) => list.forEach((p) => p.done(err)),
      );
    }
    return [...failed];
  }

  /**
   * After the commit, in arrival order, in one transaction (their writes, deployment status, one commit, not one each):
   * each message's stored step. One that throws fails alone (rejected, not acked: the device resends and the listeners
   * run again); a commit that fails fails them all. Returns those that followed.
   */
  private followAll(batch: Pending[]): Pending[] {
    const followed: Pending[] = [];
    try {
      this.deps.transaction(() => {
        for (const p of batch) {
          try {
            p.stored?.();
            followed.push(p);
          } catch (err) {
            p.done(err);
          }
        }
      });
      return followed;
    } catch (err) {
      for (const p of followed) p.done(err);
      return [];
    }
  }

  /** Stores the messages: one transaction, or one each if that fails. Returns those not stored (already rejected). */
  private store(batch: Pending[], now: Date): Set<Pending> {
    const failed = new Set<Pending>();
    try {
      this.transactions++;
      const bytes = this.deps.transaction(() => this.put(batch, now));
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
        try {
          this.transactions++;
          const [bytes = 0] = this.deps.transaction(() => this.put([p], now));
          this.deps.stored(p.deviceId, bytes);
        } catch (err) {
          failed.add(p);
          p.done(err);
        }
      }
      return failed;
    }
  }

  /** In a transaction: each message's writes and sorting in arrival order, then their windows and events and the last-seen writes due. */
  private put(batch: Pending[], now: Date): number[] {
    for (const p of batch) {
      p.apply?.();
      if (!p.sorted) {
        const s = (p.sort as () => Sorted)();
        p.windows = s.windows ?? [];
        if (s.events) p.events = s.events;
        if (s.held) p.held = s.held;
        p.again = s.again;
        p.sorted = true;
      } else {
        p.again?.(); // a retry alone: the failed transaction took them with it
      }
      p.known = [...p.held]; // what a failed transaction found is gone with it
    }
    return this.deps.telemetry.putWindowsMany(batch, now, () => {
      for (const p of batch) if (p.touch) this.deps.touch(p.deviceId, now);
    });
  }
}
