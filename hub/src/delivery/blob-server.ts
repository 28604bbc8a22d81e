// Serves model files to devices as blocks (blob/get → blob/data). A device may fetch only blobs named
// in its latest desired document. Concurrent transfers are capped in total, and bandwidth per device
// and in total (token buckets); requests beyond the caps wait in a FIFO queue rather than being refused.
// Each device is served on its own, one request at a time: a device that stops reading holds up only
// itself (docs/hub.md "Model delivery").
import { open } from 'node:fs/promises';
import { DeadlineError, TokenBucket, encodeBlobData, withDeadline, type BlobGet } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import type { FleetLink, LoggerPort } from '../mqtt/ports.js';
import { bundleDropped } from '../store/models-repo.js';

export interface BlobServerOptions {
  /** Distinct (device, blob) transfers served at once; 0 = no cap. */
  maxTransfers: number;
  /** Bytes per second per device; 0 = no cap. */
  perDeviceBytesPerSec: number;
  /** Bytes per second in total; 0 = no cap. */
  totalBytesPerSec: number;
  /** A transfer with no request for this long no longer counts as active. */
  idleMs: number;
  /** A block the link has not taken this long after it was handed over ends its request (the device asks again). */
  sendTimeoutMs: number;
}

export const DEFAULT_BLOB_OPTIONS: BlobServerOptions = {
  maxTransfers: 64,
  perDeviceBytesPerSec: 32 * 1024 * 1024,
  totalBytesPerSec: 256 * 1024 * 1024,
  idleMs: 30_000,
  // Longer than the embedded broker's drain timeout (docs/mqtt.md "Slow devices"): the broker decides first.
  sendTimeoutMs: 15_000,
};

interface Pending {
  deviceId: string;
  req: BlobGet;
}

/** Devices whose entitlements are kept; past it the least recently added are dropped (and read again on use). */
const MAX_ENTITLEMENTS = 100_000;

export class BlobServer {
  private readonly opts: BlobServerOptions;
  private readonly queue: Pending[] = [];
  private readonly active = new Map<string, number>();
  private readonly perDevice = new Map<string, TokenBucket>();
  private readonly total: TokenBucket | null;
  /** Devices with a request being sent: their next one waits for it. */
  private readonly sending = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private timerAt = 0;
  private stopped = false;
  private unsub: (() => void) | null = null;
  /** Per device: the blobs its latest desired document names, and that document's seq (read again once a newer one is stored). */
  private readonly entitlements = new Map<string, { seq: number; shas: Set<string> }>();
  /** Bytes sent, for metrics and tests. */
  bytesSent = 0;
  /** Times the pump left a queued request waiting for a cap (transfer slots or bandwidth): shows it decided, not stalled. */
  deferrals = 0;
  /** Requests ended because a block was not taken within sendTimeoutMs. */
  timeouts = 0;

  constructor(
    private readonly deps: { store: Store; link: FleetLink; logger: LoggerPort; now?: () => number },
    options: Partial<BlobServerOptions> = {},
  ) {
    this.opts = { ...DEFAULT_BLOB_OPTIONS, ...options };
    this.total = this.opts.totalBytesPerSec > 0 ? new TokenBucket(this.opts.totalBytesPerSec, this.opts.totalBytesPerSec, this.now()) : null;
  }

  private now(): number {
    return this.deps.now ? this.deps.now() : Date.now();
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.unsub = this.deps.link.on('blob/get', (id, req) => this.onRequest(id, req));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsub?.();
    this.unsub = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
  }

  /** Whether the blob is named in the device's latest desired document (a version, or a candidate run in shadow). */
  private entitled(deviceId: string, sha256: string): boolean {
    // The document's seq (an index read) says whether the blobs read before still hold: parsing the whole
    // document at every block request was most of a request's cost while a fleet downloaded.
    const { desired } = this.deps.store;
    const seq = desired.lastSeq(deviceId);
    let e = this.entitlements.get(deviceId);
    if (e?.seq !== seq) {
      const doc = desired.latest(deviceId);
      e = { seq: doc?.signed.seq ?? 0, shas: new Set(doc?.signed.models.flatMap((m) => [m.bundle.sha256, ...(m.shadow ? [m.shadow.bundle.sha256] : [])])) };
      this.entitlements.delete(deviceId);
      if (this.entitlements.size >= MAX_ENTITLEMENTS) this.entitlements.delete(this.entitlements.keys().next().value as string);
      this.entitlements.set(deviceId, e);
    }
    return e.shas.has(sha256);
  }

  onRequest(deviceId: string, req: BlobGet): void {
    if (this.stopped) return;
    if (!this.entitled(deviceId, req.sha256)) {
      this.sendError(deviceId, req, 'NOT_FOUND', `blob ${req.sha256} is not assigned to device ${deviceId}`);
      return;
    }
    if (!this.deps.store.blobs.has(req.sha256)) {
      // A bundle dropped, history kept (docs/hub.md "Dropping old bundles"), is said apart from a missing one.
      const dropped = this.deps.store.models.droppedBundle(req.sha256);
      if (dropped) this.sendError(deviceId, req, 'BUNDLE_DROPPED', bundleDropped(dropped).message);
      else this.sendError(deviceId, req, 'NOT_FOUND', `blob ${req.sha256} is not on the hub`);
      return;
    }
    const size = this.deps.store.blobs.size(req.sha256);
    if (req.offset >= size) {
      this.sendError(deviceId, req, 'BAD_REQUEST', `offset ${req.offset} is past the end of the ${size}-byte blob`);
      return;
    }
    const dup = this.queue.some((p) => p.deviceId === deviceId && p.req.sha256 === req.sha256 && p.req.offset === req.offset);
    if (!dup) this.queue.push({ deviceId, req });
    this.schedule(0);
  }

  /** Pumps in `ms` unless a pump is due sooner. */
  private schedule(ms: number): void {
    const at = Date.now() + ms;
    if (this.stopped || (this.timer && this.timerAt <= at)) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.pumpLogged();
    }, ms);
  }

  private pumpLogged(): void {
    try {
      this.pump();
    } catch (err) {
      // e.g. SQLite failed: log it; the device asks again when it stalls.
      this.deps.logger.error({ err }, 'serving blob blocks failed');
    }
  }

  private bucketFor(deviceId: string): TokenBucket | null {
    if (this.opts.perDeviceBytesPerSec <= 0) return null;
    let b = this.perDevice.get(deviceId);
    if (!b) {
      b = new TokenBucket(this.opts.perDeviceBytesPerSec, this.opts.perDeviceBytesPerSec, this.now());
      this.perDevice.set(deviceId, b);
    }
    return b;
  }

  /** Starts each queued request the caps allow whose device has nothing being sent; the rest wait. */
  private pump(): void {
    const now = this.now();
    for (const [k, at] of this.active) if (now - at > this.opts.idleMs) this.active.delete(k);
    let wait = Infinity;
    for (let i = 0; i < this.queue.length && !this.stopped; ) {
      const p = this.queue[i] as Pending;
      const key = `${p.deviceId} ${p.req.sha256}`;
      if (this.sending.has(p.deviceId)) {
        i++; // the end of that device's send pumps again
        continue;
      }
      if (!this.active.has(key) && this.opts.maxTransfers > 0 && this.active.size >= this.opts.maxTransfers) {
        i++;
        this.deferrals++;
        wait = Math.min(wait, 200);
        continue;
      }
      const size = this.deps.store.blobs.size(p.req.sha256);
      const bytes = Math.min(p.req.count * p.req.blockSize, size - p.req.offset);
      const dev = this.bucketFor(p.deviceId);
      const w = Math.max(dev?.waitMs(bytes, this.now()) ?? 0, this.total?.waitMs(bytes, this.now()) ?? 0);
      if (w > 0) {
        i++;
        this.deferrals++;
        wait = Math.min(wait, w);
        continue;
      }
      dev?.take(bytes, this.now());
      this.total?.take(bytes, this.now());
      this.queue.splice(i, 1);
      this.active.set(key, this.now());
      this.serve(p, size, key);
    }
    if (this.queue.length && wait !== Infinity) this.schedule(wait);
  }

  /** Sends one request without waiting for it; the device's next request waits until it has ended. */
  private serve(p: Pending, size: number, key: string): void {
    this.sending.add(p.deviceId);
    this.send(p, size)
      .finally(() => {
        this.sending.delete(p.deviceId);
        // The last block went out: the slot is free for another device now, not after idleMs.
        if (p.req.offset + p.req.count * p.req.blockSize >= size) this.active.delete(key);
        this.pumpLogged(); // at once, not on a timer: the device's next request follows without a hop
      })
      .catch((err: unknown) => {
        if (err instanceof DeadlineError) this.timeouts++;
        // e.g. the blob file vanished, or the device did not take a block in time: it asks again when it stalls.
        this.deps.logger.warn({ err, deviceId: p.deviceId, sha256: p.req.sha256 }, 'sending blob blocks failed');
      });
  }

  /** Sends a request's blocks one by one (one block of it in memory), each taken by the link within sendTimeoutMs. */
  private async send(p: Pending, total: number): Promise<void> {
    const { req, deviceId } = p;
    const end = Math.min(req.offset + req.count * req.blockSize, total);
    const fh = await open(this.deps.store.blobs.pathOf(req.sha256), 'r');
    try {
      for (let offset = req.offset; offset < end && !this.stopped; offset += req.blockSize) {
        const len = Math.min(req.blockSize, end - offset);
        const { bytesRead, buffer } = await fh.read(Buffer.allocUnsafe(len), 0, len, offset);
        if (bytesRead === 0) break;
        const frame = encodeBlobData({ sha256: req.sha256, offset, length: bytesRead, total }, buffer.subarray(0, bytesRead));
        await withDeadline(this.deps.link.publish(deviceId, 'blob/data', frame), this.opts.sendTimeoutMs, `block ${offset} of ${req.sha256} to ${deviceId}`);
        this.bytesSent += bytesRead;
      }
    } finally {
      await fh.close();
    }
  }

  /** Best effort: a device that misses the refusal asks again and gets it again. */
  private sendError(deviceId: string, req: BlobGet, code: string, message: string): void {
    const frame = encodeBlobData({ sha256: req.sha256, offset: req.offset, length: 0, total: 0, error: { code, message } }, Buffer.alloc(0));
    this.deps.link.publish(deviceId, 'blob/data', frame).catch((err: unknown) => this.deps.logger.warn({ err, deviceId }, 'sending a blob refusal failed'));
  }
}
