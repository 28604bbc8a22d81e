// "Follow desired" for one simulated device: on a new desired document (verified against trust when
// given), for each model not yet active it reports download_started, fetches the bundle blob over
// blob/get windows (real blocks from the hub's BlobServer, sha256 checked at the end) unless
// fetchBlocks is off, then reports activated and a retained state with the model active.
import { createHash } from 'node:crypto';
import {
  BLOB_GET_SCHEMA, DesiredBody, DesiredDocument, decodeBlobData, parseWireJson, verifyEnvelope,
  type BlobGet, type DesiredModel, type DeviceEvent, type ReportedModel, type TrustBody,
} from '@edgefleet/shared';

export interface FollowOptions {
  /** Download the bundle blocks (default true); off, the device activates without fetching. */
  fetchBlocks?: boolean;
  /** Block size of blob/get requests (default 16 KiB). */
  blockSize?: number;
  /** Blocks per blob/get window (default 16). */
  window?: number;
  /** Verify desired documents against this trust (hub role); otherwise only the schema is checked. */
  trust?: TrustBody;
}

/** What a follower needs from its device session. */
export interface FollowerPort {
  readonly id: string;
  now(): Date;
  /** Sends one event through the device's outbox (seq assigned there, resent until acked). */
  event(e: Omit<DeviceEvent, 'seq' | 'at'>): void;
  /** Publishes the reported state (retained). */
  state(lastAppliedSeq: number, models: ReportedModel[]): void;
  blobGet(req: BlobGet): void;
}

interface Download {
  sha256: string;
  size: number;
  buf: Buffer;
  have: Set<number>;
  received: number;
  windowStart: number;
  windowEnd: number;
  lastAt: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class DesiredFollower {
  lastAppliedSeq = 0;
  readonly models = new Map<string, ReportedModel>();
  bytesFetched = 0;
  /** Documents skipped because their seq was not above the last applied one (a redelivery). */
  skipped = 0;
  failures: string[] = [];
  private chain: Promise<void> = Promise.resolve();
  private dl: Download | null = null;
  private readonly blockSize: number;
  private readonly window: number;

  constructor(private readonly port: FollowerPort, private readonly opts: FollowOptions) {
    this.blockSize = opts.blockSize ?? 16 * 1024;
    this.window = opts.window ?? 16;
  }

  onDesired(payload: Buffer): void {
    let body: DesiredBody;
    try {
      const doc = parseWireJson(DesiredDocument, payload, `desired document for ${this.port.id}`);
      body = this.opts.trust ? verifyEnvelope(doc, this.opts.trust, 'hub', DesiredBody, 'desired document') : doc.signed;
    } catch (err) {
      this.failures.push(`refused desired document: ${(err as Error).message}`);
      return;
    }
    if (body.deviceId !== this.port.id) {
      this.failures.push(`refused desired document for ${body.deviceId}, expected ${this.port.id}`);
      return;
    }
    this.chain = this.chain.then(() => this.apply(body)).catch((err: unknown) => { this.failures.push((err as Error).message); });
  }

  private async apply(body: DesiredBody): Promise<void> {
    if (body.seq <= this.lastAppliedSeq) {
      this.skipped++;
      return;
    }
    for (const m of body.models) {
      if (this.models.get(m.name)?.active === m.version) continue;
      this.port.event({ kind: 'download_started', model: m.name, version: m.version, message: `fetching ${m.bundle.size} bytes` });
      if (this.opts.fetchBlocks ?? true) {
        try {
          await this.fetch(m);
        } catch (err) {
          this.port.event({ kind: 'install_failed', model: m.name, version: m.version, code: 'DOWNLOAD_FAILED', message: (err as Error).message });
          this.failures.push(`${m.name}@${m.version}: ${(err as Error).message}`);
          continue;
        }
      }
      const cur = this.models.get(m.name);
      const installed = [...new Set([...(cur?.installed ?? []), m.version])];
      this.models.set(m.name, { name: m.name, active: m.version, previous: cur?.active ?? null, installed, status: 'active', target: null });
      this.port.event({ kind: 'activated', model: m.name, version: m.version, message: 'activated' });
    }
    this.lastAppliedSeq = body.seq;
    this.port.state(body.seq, [...this.models.values()]);
  }

  /** Whether every model of the last applied document is active (and nothing is in flight). */
  idle(): boolean {
    return this.dl === null;
  }

  private fetch(m: DesiredModel): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const { sha256, size } = m.bundle;
      this.dl = {
        sha256, size, buf: Buffer.alloc(size), have: new Set(), received: 0, windowStart: 0, windowEnd: 0, lastAt: 0,
        resolve: () => {
          this.dl = null;
          resolve();
        },
        reject: (err) => {
          this.dl = null;
          reject(err);
        },
      };
      this.requestWindow(0);
    });
  }

  private requestWindow(offset: number): void {
    const d = this.dl;
    if (!d) return;
    d.windowStart = offset;
    d.windowEnd = Math.min(d.size, offset + this.window * this.blockSize);
    d.lastAt = Date.now();
    this.port.blobGet({ schema: BLOB_GET_SCHEMA, sha256: d.sha256, offset, blockSize: this.blockSize, count: this.window });
  }

  onBlobData(payload: Buffer): void {
    const d = this.dl;
    if (!d) return;
    let frame: ReturnType<typeof decodeBlobData>;
    try {
      frame = decodeBlobData(payload);
    } catch (err) {
      d.reject(err as Error);
      return;
    }
    const { header, bytes } = frame;
    if (header.sha256 !== d.sha256) return;
    if (header.error) {
      d.reject(new Error(`hub refused blob ${d.sha256.slice(0, 12)}…: ${header.error.code}: ${header.error.message}`));
      return;
    }
    if (header.total !== d.size || header.offset + bytes.length > d.size) {
      d.reject(new Error(`blob ${d.sha256.slice(0, 12)}…: block at ${header.offset} (+${bytes.length}) of ${header.total} does not fit the expected ${d.size} bytes`));
      return;
    }
    d.lastAt = Date.now();
    if (!d.have.has(header.offset)) {
      bytes.copy(d.buf, header.offset);
      d.have.add(header.offset);
      d.received += bytes.length;
      this.bytesFetched += bytes.length;
    }
    if (d.received >= d.size) {
      const got = createHash('sha256').update(d.buf).digest('hex');
      if (got === d.sha256) d.resolve();
      else d.reject(new Error(`blob sha256 ${got} differs from the expected ${d.sha256}`));
      return;
    }
    const next = this.firstMissing(d, d.windowStart);
    if (next >= d.windowEnd) this.requestWindow(next);
  }

  private firstMissing(d: Download, from: number): number {
    let o = from;
    while (o < d.size && d.have.has(o)) o += this.blockSize;
    return o;
  }

  /** Re-requests a window that stalled for longer than resendMs. */
  tick(resendMs: number): void {
    const d = this.dl;
    if (d && Date.now() - d.lastAt > resendMs) this.requestWindow(this.firstMissing(d, d.windowStart));
  }
}
