// Uploads the sealed capture chunks (docs/agent.md "Data capture"): only while connected, at most
// `uploadsPerSec`, a few in flight; a chunk is deleted only when the hub acks its (capture, seq) on
// `capture/ack` (stored by that key on the hub, so a resend after a cut is a no-op), resent when no
// ack came within resendAfterMs of the broker taking it, backing off with each resend
// (sync/drain-timer.ts), and the whole capture is dropped when the hub refuses it.
import { CAPTURE_CHUNK_SCHEMA, CAPTURE_REASON_CHARS, TokenBucket } from '@edgefleet/shared/core';
import type { CaptureAck } from '@edgefleet/shared';
import type { Logger } from '../log.js';
import type { Capturer } from './capturer.js';
import { DrainTimer, dueItems, markSent, markTaken, nextResendIn, resendWait, type Flight } from '../sync/drain-timer.js';

export interface UploaderOptions {
  uploadsPerSec: number;
  inFlight: number;
  resendAfterMs: number;
}

/** A chunk's key in `sent`: the (capture, seq) the hub acks it by. */
const chunkKey = (c: { captureId: number; seq: number }): string => `${c.captureId}/${c.seq}`;

export class CaptureUploader {
  private publish: ((payload: string) => Promise<void>) | null = null;
  private readonly sent = new Map<string, Flight>();
  private readonly bucket: TokenBucket;
  private readonly timer: DrainTimer;
  private busy = false;
  uploaded = 0;

  constructor(
    private readonly capturer: Capturer,
    private readonly deviceId: string,
    private readonly logger: Logger,
    private readonly opts: UploaderOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.bucket = new TokenBucket(opts.uploadsPerSec, Math.max(1, opts.uploadsPerSec), now());
    this.timer = new DrainTimer(() => this.drain(), (err) => this.logger.error({ err }, 'uploading captured chunks failed; retrying'), () => opts.resendAfterMs, true);
  }

  /** Connected: send through `publish` (the hub link's `capture` topic). */
  resume(publish: (payload: string) => Promise<void>): void {
    this.publish = publish;
    this.sent.clear();
    this.kick(0);
  }

  pause(): void {
    this.publish = null;
    this.timer.cancel();
  }

  /** Drains in `ms`; a pending timer that would fire later (the resend timer) is brought forward. */
  kick(ms = 0): void {
    if (this.publish) this.timer.kick(ms);
  }

  onAck(ack: CaptureAck): void {
    if (ack.refused) {
      this.capturer.refused(ack.captureId, `${ack.refused.code}: ${ack.refused.message}`);
      for (const k of [...this.sent.keys()]) if (k.startsWith(`${ack.captureId}/`)) this.sent.delete(k);
    } else {
      // Taken: the hub holds another chunk under that seq (agent.db put back from a backup); the held one moves above.
      if (ack.taken?.length && ack.maxSeq !== undefined) this.movedAbove(ack.captureId, ack.maxSeq, this.capturer.store.moveTaken(ack.captureId, ack.taken, ack.maxSeq));
      this.capturer.store.acked(ack.captureId, ack.ranges as Array<[number, number]>);
      // Its rows count is behind too: it counts from the hub's (the moved chunk is still held here).
      if (ack.taken?.length && ack.storedRows !== undefined) this.capturer.hubHolds(ack.captureId, ack.storedRows);
      for (const [a, b] of ack.ranges) for (let s = a; s <= b && s - a < 100_000; s++) this.sent.delete(chunkKey({ captureId: ack.captureId, seq: s }));
    }
    this.kick(0);
  }

  private movedAbove(captureId: number, hubMax: number, moved: Array<[number, number]>): void {
    if (!moved.length) return;
    this.logger.warn({ captureId, hubMax, moved: moved.length },
      `capture ${captureId}: the hub holds other chunks under seqs this agent.db gave again (put back from a backup?): `
      + `${moved.length} held chunk(s) moved to seq ${moved[0]![1]}${moved.length > 1 ? `-${moved.at(-1)![1]}` : ''}, above the hub's ${hubMax}, so they are not taken for ones it has`);
  }

  private async drain(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.publish) {
        const now = this.now();
        const due = dueItems(this.capturer.store.pending(this.opts.inFlight * 4), chunkKey, this.sent, now, this.opts.resendAfterMs);
        const inFlight = [...this.sent.values()].filter((f) => now - f.at <= resendWait(f, this.opts.resendAfterMs)).length;
        const next = due[0];
        if (!next || inFlight >= this.opts.inFlight) {
          const resend = nextResendIn(this.sent, now, this.opts.resendAfterMs);
          if (resend !== undefined) this.kick(resend);
          return;
        }
        const wait = this.bucket.waitMs(1, now);
        if (wait > 0) {
          this.kick(wait);
          return;
        }
        this.bucket.take(1, now);
        markSent(this.sent, [chunkKey(next)], now);
        const msg = { schema: CAPTURE_CHUNK_SCHEMA, deviceId: this.deviceId, captureId: next.captureId, seq: next.seq, rows: next.rows, ...(next.end ? { end: next.end } : {}),
          ...(next.end && next.reason ? { reason: next.reason.slice(0, CAPTURE_REASON_CHARS) } : {}), sealed: next.sealed };
        try {
          await this.publish(JSON.stringify(msg));
          markTaken(this.sent, [chunkKey(next)], this.now()); // its wait for the ack starts when the broker took it
          this.uploaded++;
        } catch {
          this.sent.delete(chunkKey(next));
          this.kick(1000);
          return;
        }
      }
    } finally {
      this.busy = false;
    }
  }
}
