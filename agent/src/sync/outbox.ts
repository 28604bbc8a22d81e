// Sends the agent's outbox (summary windows and events, one seq space) to the hub in seq order, in
// bounded batches, at a bounded rate so that a week's backlog drains without starving live traffic;
// rows are deleted only when the hub acks that it persisted them. The highest seq ever sent is kept
// in agent.db, written before the rows go out: retention never merges those rows (docs/agent.md "Outbox").
import { DEFAULT_OUTBOX_MESSAGE_BYTES, EVENTS_SCHEMA, TELEMETRY_SCHEMA, TokenBucket, inRanges, type DeviceEvent, type SeqWindow } from '@edgefleet/shared';
import type { Db } from '../store/db.js';
import { DrainTimer, dueItems, markSent, markTaken, nextResendIn, type Flight } from './drain-timer.js';
import { OutboxSentMark, outboxSentSeq } from './sync-store.js';
import { moveAbove, type MovedAbove } from './outbox-behind.js';

export interface OutboxOptions {
  /** Items per message. */
  batchSize: number;
  /** Messages per second while draining a backlog. */
  messagesPerSec: number;
  /** Resend what was sent but not acked after this long. */
  resendAfterMs: number;
  /** Stay under the broker's payload limit. */
  maxMessageBytes: number;
}

export const DEFAULT_OUTBOX: OutboxOptions = { batchSize: 50, messagesPerSec: 20, resendAfterMs: 15_000, maxMessageBytes: DEFAULT_OUTBOX_MESSAGE_BYTES };

interface Row { seq: number; kind: 'window' | 'event'; payload: string }

export type Publish = (kind: 'telemetry' | 'events', payload: string) => Promise<void>;

/** A window too large for one message, sent without some of its summaries (see fitWindow). */
export interface TrimmedWindow { model: string; version: string; start: string; bytes: number; sentBytes: number; without: string[] }

// Summaries a window can go without, dropped in this order until it fits: they grow with the model
// (a feature, output column or input each), while counts, errors and latency are of fixed size.
const TRIMMABLE = ['features', 'inputs', 'outputs'] as const;
const MESSAGE_OVERHEAD = 256;
/** A message acked within this long lets the next one be twice as large again (up to maxMessageBytes). */
const ACKED_FAST_MS = 1000;
/** The least a message may hold after losses (one item always goes, whatever its size). */
const MIN_SIZE_CAP = 1024;
const ITEM_OVERHEAD = 16;

/**
 * A window that alone passes `maxBytes` (a model of thousands of features: ~110 bytes of JSON each)
 * would be refused by the broker (the hub's maxPayloadBytes) and resent first for ever, holding up the
 * whole outbox behind it. It goes without its feature, then input, then output summaries, until it fits;
 * its counts, errors and latency, which the hub's totals and gates read, stay whole. Deterministic, so a
 * resend carries the same text (docs/agent.md "Outbox").
 */
export function fitWindow(payload: string, maxBytes: number): { payload: string; trimmed?: TrimmedWindow } {
  if (MESSAGE_OVERHEAD + payload.length + ITEM_OVERHEAD <= maxBytes) return { payload };
  const w = JSON.parse(payload) as Record<string, unknown> & { model: string; version: string; start: string };
  const without: string[] = [];
  let out = payload;
  for (const key of TRIMMABLE) {
    if (MESSAGE_OVERHEAD + out.length + ITEM_OVERHEAD <= maxBytes) break;
    if (!Array.isArray(w[key]) || (w[key] as unknown[]).length === 0) continue;
    w[key] = [];
    without.push(key);
    out = JSON.stringify(w);
  }
  if (without.length === 0) return { payload };
  return { payload: out, trimmed: { model: w.model, version: w.version, start: w.start, bytes: payload.length, sentBytes: out.length, without } };
}

/** What the log and the hub are told of a version's windows sent without some summaries. */
export function trimmedMessage(t: TrimmedWindow, maxBytes: number): string {
  return `summary windows of ${t.model}@${t.version} are larger than one message may be (${t.bytes} bytes from ${t.start}; sync.outbox.maxMessageBytes ${maxBytes}): `
    + `sent without their ${t.without.join(', ')} summaries (${t.sentBytes} bytes); counts, errors and latency are kept, and agent.db keeps the whole windows`;
}

export class OutboxSender {
  private opts: OutboxOptions;
  private bucket: TokenBucket;
  /** seq -> its wait for an ack, for items sent and not yet acked (drain-timer.ts Flight). */
  private readonly inFlight = new Map<number, Flight>();
  private readonly timer: DrainTimer;
  private readonly sent: OutboxSentMark;
  private running = false;
  private busy = false;
  /** The durable sent mark when this connection began: rows above it were first sent in it. */
  private sentBefore = 0;
  /**
   * Bytes a message may hold now, at most maxMessageBytes: halved when the link was lost while a message
   * was on its way, doubled after a message acked within ACKED_FAST_MS (docs/agent.md "Bad networks").
   */
  private sizeCap = Infinity;
  sentMessages = 0;

  constructor(
    private readonly db: Db,
    private readonly deviceId: string,
    private readonly publish: Publish,
    options: Partial<OutboxOptions> = {},
    private readonly now: () => number = Date.now,
    /** A failure while draining (e.g. SQLite full or closed): reported, then retried after resendAfterMs. */
    private readonly onError: (err: unknown) => void = (err) => process.stderr.write(`outbox: sending failed: ${(err as Error)?.message ?? String(err)}\n`),
    /** A window about to go without some of its summaries (fitWindow), at each send of it. */
    private readonly onTrimmed: (t: TrimmedWindow) => void = () => undefined,
    /** Rows moved above the hub's highest seq (outbox-behind.ts), after the ack that showed it. */
    private readonly onMoved: (m: MovedAbove) => void = () => undefined,
  ) {
    this.opts = { ...DEFAULT_OUTBOX, ...options };
    this.bucket = new TokenBucket(this.opts.messagesPerSec, Math.max(1, this.opts.messagesPerSec), now());
    this.timer = new DrainTimer(() => this.drain(), (err) => this.onError(err), () => this.opts.resendAfterMs);
    this.sent = new OutboxSentMark(db);
  }

  /** New options, taken from the next message on (remote configuration: docs/agent.md "Remote configuration"). */
  setOptions(options: Partial<OutboxOptions>): void {
    const before = this.opts.messagesPerSec;
    this.opts = { ...this.opts, ...options };
    if (this.opts.messagesPerSec !== before) this.bucket = new TokenBucket(this.opts.messagesPerSec, Math.max(1, this.opts.messagesPerSec), this.now());
  }

  /** The options in use. */
  get options(): Readonly<OutboxOptions> {
    return this.opts;
  }

  /** Starts sending (on connect). */
  resume(): void {
    this.running = true;
    this.inFlight.clear();
    try {
      this.sentBefore = outboxSentSeq(this.db);
    } catch {
      // A failing database: the drain reports it (onError); the mark is read again at the next connection.
    }
    this.kick(0);
  }

  /** Stops sending (on disconnect or stop); unacked items stay in the outbox. */
  pause(): void {
    this.running = false;
    this.timer.cancel();
  }

  /**
   * Something new was written to the outbox (or a retry is due in `ms`). A pending timer that would
   * fire later (e.g. the resend timer, resendAfterMs away) is brought forward: a window closed while
   * earlier ones wait for their ack leaves at once, not after the resend delay.
   */
  kick(ms = 0): void {
    if (this.running) this.timer.kick(ms);
  }

  /**
   * The highest outbox seq handed to the link in this connection and not yet acked (0 when none).
   * Retention must not rewrite those entries, nor any at or below the durable mark (outboxSentSeq,
   * which covers what earlier runs and connections sent): the hub may hold them already.
   */
  inFlightSeq(): number {
    let max = 0;
    for (const seq of this.inFlight.keys()) if (seq > max) max = seq;
    return max;
  }

  pending(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
  }

  /**
   * Deletes acked rows. `known` (acked seqs the hub held already) and `hubMax` (the highest seq it holds
   * from the device) come from hubs that send them: when the hub holds seqs this agent.db never gave, the
   * rows it did not store move above them first (outbox-behind.ts).
   */
  onAck(ranges: Array<[number, number]>, known: Array<[number, number]> = [], hubMax?: number): number {
    let n = 0;
    let moved: MovedAbove | null = null;
    const del = this.db.prepare('DELETE FROM outbox WHERE seq BETWEEN ? AND ?');
    this.db.transaction(() => {
      if (hubMax !== undefined) moved = moveAbove(this.db, hubMax, this.sentBefore, ranges, known);
      for (const [a, b] of ranges) n += del.run(a, b).changes;
    })();
    for (const seq of [...this.inFlight.keys()]) if (inRanges(seq, ranges)) this.inFlight.delete(seq);
    if (moved) {
      for (const seq of (moved as MovedAbove).moved) this.inFlight.delete(seq);
      this.onMoved(moved);
    }
    this.kick(0);
    return n;
  }

  private async drain(): Promise<void> {
    if (this.busy || !this.running) return;
    this.busy = true;
    try {
      while (this.running) {
        const now = this.now();
        const rows = this.db.prepare('SELECT seq, kind, payload FROM outbox ORDER BY seq LIMIT ?').all(this.opts.batchSize * 4) as Row[];
        // The oldest 4 × batchSize rows only: that many items at most await their ack, and the rest waits
        // for acks (or the resends' backoff) before it goes, so a hub that is behind is not sent more.
        const due = dueItems(rows, (r) => r.seq, this.inFlight, now, this.opts.resendAfterMs);
        const kind = due[0]?.kind;
        if (!kind) {
          const next = nextResendIn(this.inFlight, now, this.opts.resendAfterMs);
          if (next !== undefined) this.kick(next);
          return;
        }
        const batch: Row[] = [];
        const trimmed: TrimmedWindow[] = [];
        let bytes = MESSAGE_OVERHEAD;
        const cap = Math.min(this.opts.maxMessageBytes, this.sizeCap);
        for (const r of due) {
          if (r.kind !== kind || batch.length >= this.opts.batchSize) break;
          const fit = r.kind === 'window' ? fitWindow(r.payload, this.opts.maxMessageBytes) : { payload: r.payload };
          if (batch.length > 0 && bytes + fit.payload.length + ITEM_OVERHEAD > cap) break;
          bytes += fit.payload.length + ITEM_OVERHEAD;
          batch.push({ ...r, payload: fit.payload });
          if (fit.trimmed) trimmed.push(fit.trimmed);
        }
        const wait = this.bucket.waitMs(1, now);
        if (wait > 0) {
          this.kick(wait);
          return;
        }
        // Durable before the rows can reach the hub: a failed write throws here and nothing is sent.
        this.sent.raise(batch[batch.length - 1]!.seq);
        this.bucket.take(1, now);
        for (const t of trimmed) this.onTrimmed(t);
        markSent(this.inFlight, batch.map((r) => r.seq), now);
        const payload =
          kind === 'window'
            ? JSON.stringify({ schema: TELEMETRY_SCHEMA, deviceId: this.deviceId, windows: batch.map((r) => ({ ...(JSON.parse(r.payload) as object), seq: r.seq }) as SeqWindow) })
            : JSON.stringify({ schema: EVENTS_SCHEMA, deviceId: this.deviceId, events: batch.map((r) => ({ ...(JSON.parse(r.payload) as object), seq: r.seq }) as DeviceEvent) });
        const sentAt = Date.now();
        try {
          await this.publish(kind === 'window' ? 'telemetry' : 'events', payload);
          // Taken by the broker: the wait for the hub's ack starts now, not when the message left.
          markTaken(this.inFlight, batch.map((r) => r.seq), this.now());
          this.sentMessages++;
          if (Date.now() - sentAt <= ACKED_FAST_MS) this.sizeCap = Math.min(this.opts.maxMessageBytes, this.sizeCap * 2);
        } catch {
          // Paused meanwhile: the link was lost with this message on its way. On a link too slow to carry it
          // within the keepalive, it would be lost the same way at every connection: send less at a time.
          if (!this.running) this.sizeCap = Math.max(MIN_SIZE_CAP, Math.floor(payload.length / 2));
          for (const r of batch) this.inFlight.delete(r.seq);
          this.kick(1000);
          return;
        }
      }
    } finally {
      this.busy = false;
    }
  }
}
