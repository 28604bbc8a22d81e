// Data capture on the hub (docs/decisions/0035-data-capture.md, docs/hub.md "Data capture"): an
// operator's request becomes a `capture` entry in each targeted device's desired document; the
// devices upload their rows sealed to the operators' capture key on `capture`, and this part stores
// the ciphertext by (capture, device, seq), acks it on `capture/ack`, or refuses with a reason (the
// box then drops what it holds of that capture). The hub never holds the capture private key.
import {
  AppError, notFound, CAPTURE_ACK_SCHEMA, CAPTURE_LIMITS, HISTORY_PAGE, MAX_CAPTURE_CHUNK_BYTES, MIN_CAPTURE_CHUNK_BYTES, boxKeyId, chunkBytesWithin, decodeBoxPublicKey, toRanges,
  type Capture, type CaptureList, type HistoryQuery, type CaptureAck, type CaptureChunk, type CaptureCreate, type DesiredCapture, type DesiredDocument, type Manifest,
} from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import type { FleetLink, LoggerPort, MetricsPort } from '../mqtt/ports.js';
import type { Clock } from '../clock.js';
import type { DeploymentService } from '../deployments/service.js';
import { targetDeviceIds } from '../deployments/target.js';
import { LogThrottle } from '../log-throttle.js';
import type { SignedAhead } from '../deployments/desired.js';
import { CaptureRepo, captureState, type NewCapture, type StoredCapture } from './repo.js';

export interface CaptureOptions {
  /** The operators' X25519 capture public key, base64 (edgefleet capture keygen); captures are refused without it. */
  publicKey?: string | undefined;
  /** Bytes of sealed chunks stored per device over all captures; past it chunks are refused (storage_quota). */
  maxBytesPerDevice: number;
  /**
   * Largest chunk accepted: bytes of its sealed object as stored (the ciphertext's base64 with the
   * sealed key and nonces). An agent's chunk of capture.chunkBytes of rows is sealedRowsBytes(chunkBytes),
   * ~4/3 of it plus ~0.4 KiB; the default fits the largest chunkBytes an agent takes (docs/hub.md "Data capture").
   */
  maxChunkBytes: number;
  /** Bytes of sealed chunks (as stored) per page of GET /captures/{id}/chunks. */
  pageBytes: number;
  /** A capture's chunks are purged this many days after it ended (stopped or past `until`), freeing maxBytesPerDevice. */
  keepDays: number;
  /** How often ended captures are looked at for purging (ms). */
  purgeEveryMs: number;
}

export const DEFAULT_CAPTURE_OPTIONS: CaptureOptions = {
  maxBytesPerDevice: 64 * 1024 * 1024, maxChunkBytes: 160 * 1024, pageBytes: 8 * 1024 * 1024, keepDays: 30, purgeEveryMs: 3600_000,
};

export interface CaptureDeps {
  store: Store;
  link: FleetLink;
  deployments: DeploymentService;
  clock: Clock;
  logger: LoggerPort;
  metrics?: MetricsPort;
  options?: Partial<CaptureOptions>;
  /** The hub's maxPayloadBytes: boxes are asked for chunks whose message fits it (docs/hub.md "Data capture"). */
  maxPayloadBytes?: number;
}

/** Why a chunk was refused (MQTT ack `refused.code`; metric label). */
type Refusal = 'unknown_capture' | 'not_in_capture' | 'too_large' | 'too_many_rows' | 'storage_quota' | 'key_mismatch' | 'purged';

export class CaptureService {
  readonly repo: CaptureRepo;
  readonly opts: CaptureOptions;
  /** Bytes of rows per chunk the boxes are asked for (a desired capture's chunkBytes), or null: their own. */
  private readonly chunkBytes: number | null;
  private unsub: (() => void) | null = null;
  private purgeTimer: NodeJS.Timeout | null = null;
  /** Refusals logged once a minute per reason (a bounded set): a device resending refused chunks must not write a line each. */
  private readonly refusalsLogged: LogThrottle;

  constructor(private readonly deps: CaptureDeps) {
    this.repo = new CaptureRepo(deps.store.db);
    this.refusalsLogged = new LogThrottle(() => deps.clock.now().getTime());
    this.opts = { ...DEFAULT_CAPTURE_OPTIONS, ...Object.fromEntries(Object.entries(deps.options ?? {}).filter(([, v]) => v !== undefined)) };
    if (this.opts.publicKey) decodeBoxPublicKey(this.opts.publicKey, 'capture.publicKey');
    const fits = deps.maxPayloadBytes === undefined ? MAX_CAPTURE_CHUNK_BYTES : chunkBytesWithin(deps.maxPayloadBytes, MAX_CAPTURE_CHUNK_BYTES);
    // Below an agent's largest chunk only; the hub's config refuses a maxPayloadBytes that fits none (hub/src/config.ts).
    this.chunkBytes = fits < MAX_CAPTURE_CHUNK_BYTES ? Math.max(fits, MIN_CAPTURE_CHUNK_BYTES) : null;
  }

  start(): void {
    this.unsub ??= this.deps.link.on('capture', (id, msg) => this.onChunk(id, msg));
    if (!this.purgeTimer) {
      this.purgeTimer = setInterval(() => this.purgeEnded(), this.opts.purgeEveryMs);
      this.purgeTimer.unref();
      this.purgeEnded();
    }
  }

  stop(): void {
    this.unsub?.();
    this.unsub = null;
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    this.purgeTimer = null;
  }

  /**
   * Deletes a capture's sealed chunks (after `edgefleet capture fetch`): its record and counts stay, the
   * bytes no longer count against its devices' capture.maxBytesPerDevice, and chunks still on their way
   * are refused (the boxes drop them). CONFLICT while it still captures, or when purged already.
   */
  purge(id: number, actor: string, reason: string, record: (bytes: number) => void): Capture {
    const { store, clock } = this.deps;
    const now = clock.now();
    store.db.transaction(() => {
      const c = this.repo.get(id);
      if (c.purged) throw new AppError('CONFLICT', `capture ${id} was already purged at ${c.purged.at} by ${c.purged.by}`);
      if (!c.stopped && Date.parse(c.until) > now.getTime()) {
        throw new AppError('CONFLICT', `capture ${id} still captures until ${c.until}: stop it first (edgefleet capture stop ${id}), then purge it`);
      }
      record(this.repo.purge(id, actor, reason, now) ?? 0);
    })();
    store.wipeWal(); // the chunks were zeroed in hub.db; the WAL frames written before go too
    return this.view(id);
  }

  /** Purges every capture that ended more than capture.keepDays ago (audited as the hub's); never throws. */
  purgeEnded(): number {
    const { store, clock, logger } = this.deps;
    const now = clock.now();
    let n = 0;
    try {
      for (const id of this.repo.endedBefore(new Date(now.getTime() - this.opts.keepDays * 86_400_000))) {
        const reason = `ended more than ${this.opts.keepDays} days ago (capture.keepDays)`;
        store.db.transaction(() => {
          const bytes = this.repo.purge(id, 'hub', reason, now);
          if (bytes === null) return; // another hub of the cluster did
          store.audit.append({ actor: 'hub', actorId: null, action: 'capture.purge', target: `capture ${id}`, reason, details: { id, bytes }, at: now });
          n++;
        })();
      }
      if (n > 0) {
        store.wipeWal();
        logger.info({ purged: n, keepDays: this.opts.keepDays }, 'purged the sealed chunks of ended captures');
      }
    } catch (err) {
      logger.error({ err }, 'purging ended captures failed');
    }
    return n;
  }

  /** The desired document's `capture` entries for a device (DeploymentService calls it for every document). */
  desiredFor(deviceId: string): DesiredCapture[] {
    return this.repo.activeFor(deviceId, this.deps.clock.now()).slice(0, CAPTURE_LIMITS.maxActive).map((c) => ({
      id: c.id, model: c.model, ...(c.version ? { version: c.version } : {}), rate: c.rate, maxRows: c.maxRows, until: c.until,
      ...(c.features ? { features: c.features } : {}), publicKey: c.publicKey, keyId: c.keyId,
      ...(this.chunkBytes !== null ? { chunkBytes: this.chunkBytes } : {}),
    }));
  }

  /** The features (or input names) a capture may name: from the version asked for, else the model's latest. */
  private manifestFor(model: string, version: string | undefined): Manifest {
    const { models } = this.deps.store;
    if (version) return models.get(model, version).manifest as Manifest;
    const latest = models.list(model).at(-1);
    if (!latest) throw notFound('model', model, `model: no model "${model}" in the registry (edgefleet model ls)`);
    return models.get(model, latest.version).manifest as Manifest;
  }

  /**
   * Stores the capture, its devices and their next desired documents (run `record` for the audit
   * entry in the same transaction); the caller publishes the documents after commit.
   */
  create(req: CaptureCreate, actor: string, record: (c: { id: number; devices: number }) => void, ahead?: SignedAhead): { id: number; docs: DesiredDocument[] } {
    const { store } = this.deps;
    const asked = this.asked(req, actor, ahead?.now ?? this.deps.clock.now());
    return store.db.transaction(() => {
      const devices = this.cohort(req, asked.at);
      const id = this.repo.create(asked, devices);
      record({ id, devices: devices.length });
      return { id, docs: this.deps.deployments.storeDesired(devices, 0, ahead) };
    })();
  }

  /**
   * create() as POST /captures runs it: for more than SIGN_CHUNK devices their documents are signed ahead, a chunk a
   * turn, each chunk's trial storing the capture (under the id the commit takes: its documents name it) with the
   * chunk's devices; the commit is create(), every document built again (DeploymentService.signAhead,
   * docs/decisions/0170-deployments-signed-ahead-in-chunks.md, addendum).
   */
  async createStored(req: CaptureCreate, actor: string, record: (c: { id: number; devices: number }) => void): Promise<{ id: number; docs: DesiredDocument[] }> {
    const { store, clock, deployments } = this.deps;
    const asked = this.asked(req, actor, clock.now());
    return await deployments.signAhead({
      kind: 'capture', what: `${req.model}${req.version ? ` ${req.version}` : ''}`, details: { model: req.model },
      devices: store.db.transaction(() => this.cohort(req, asked.at))(),
      trial: (ids, at) => {
        const top = store.db.prepare('SELECT MAX(id) AS id FROM captures').get() as { id: number | null } | undefined;
        this.repo.create(this.asked(req, actor, at.now), ids, Number(top?.id ?? 0) + 1);
        return deployments.storeDesired(ids, 0, at);
      },
      commit: (ahead) => this.create(req, actor, record, ahead),
      logged: (out) => ({ capture: out.id }),
    });
  }

  /** The capture asked for at `at`, after the checks that refuse it (NOT_READY without a capture key, NOT_FOUND, INVALID_INPUT for features). */
  private asked(req: CaptureCreate, actor: string, at: Date): NewCapture {
    const publicKey = this.opts.publicKey;
    if (!publicKey) throw new AppError('NOT_READY', 'no capture public key is configured on this hub: set capture.publicKey in the hub config (edgefleet capture keygen makes a key pair)');
    const manifest = this.manifestFor(req.model, req.version);
    if (req.features) {
      const known = new Set([...(manifest.features ?? []).map((f) => f.name), ...manifest.io.inputs.map((i) => i.name)]);
      const unknown = req.features.filter((f) => !known.has(f));
      if (unknown.length) throw new AppError('INVALID_INPUT', `features: ${unknown.map((f) => JSON.stringify(f)).join(', ')} not in ${req.model}'s manifest; expected some of [${[...known].join(', ')}]`);
    }
    return {
      model: req.model, version: req.version ?? null, target: req.target, rate: req.rate, maxRows: req.maxRows, durationSec: req.durationSec,
      features: req.features ?? null, reason: req.reason, publicKey, keyId: boxKeyId(decodeBoxPublicKey(publicKey, 'capture.publicKey')),
      createdBy: actor, at, until: new Date(at.getTime() + req.durationSec * 1000),
    };
  }

  /** The devices a capture reaches (NOT_FOUND: listed ids unknown or revoked; CONFLICT: a device in CAPTURE_LIMITS.maxActive captures already). */
  private cohort(req: CaptureCreate, now: Date): string[] {
    const devices = targetDeviceIds(this.deps.store.devices.targetable(), req.target);
    const full = devices.filter((d) => this.repo.activeFor(d, now).length >= CAPTURE_LIMITS.maxActive);
    if (full.length) throw new AppError('CONFLICT', `target: device(s) ${full.slice(0, 5).join(', ')} already take part in ${CAPTURE_LIMITS.maxActive} captures; stop one first`);
    return devices;
  }

  /** Stops a capture: its devices get documents without it (rows captured before are still accepted). */
  stopCapture(id: number, actor: string, reason: string, record: () => void): DesiredDocument[] {
    const { store, clock } = this.deps;
    return store.db.transaction(() => {
      const c = this.repo.get(id);
      if (c.stopped) throw new AppError('CONFLICT', `capture ${id} was already stopped at ${c.stopped.at} by ${c.stopped.by}`);
      const devices = this.repo.stop(id, actor, reason, clock.now());
      record();
      return this.deps.deployments.storeDesired(devices.filter((d) => !store.devices.get(d).revoked));
    })();
  }

  /** A capture as the API shows it: its state now, without the stored public key. */
  private shown(c: StoredCapture): Omit<Capture, 'devices'> {
    const { publicKey: _k, openParts: _o, ...rest } = c;
    return { ...rest, state: captureState(c, this.deps.clock.now()) };
  }

  view(id: number): Capture {
    return { ...this.shown(this.repo.get(id)), devices: this.repo.devices(id) };
  }

  /** A page of captures, newest first (GET /captures). */
  list(q: HistoryQuery = { limit: HISTORY_PAGE.defaultLimit }): CaptureList {
    const page = this.repo.list(q);
    return { captures: page.captures.map((c) => this.shown(c)), next: page.next };
  }

  private refuse(deviceId: string, msg: CaptureChunk, code: Refusal, message: string): CaptureAck {
    this.deps.metrics?.inc('edgefleet_capture_chunks_refused_total', { reason: code });
    const unlogged = this.refusalsLogged.take(code);
    if (unlogged !== null) {
      this.deps.logger.warn({ deviceId, captureId: msg.captureId, seq: msg.seq, code, unloggedBefore: unlogged }, `capture chunk refused (logged once a minute per reason): ${message}`);
    }
    if (code !== 'unknown_capture' && code !== 'not_in_capture' && code !== 'purged') {
      this.repo.setDeviceStatus(msg.captureId, deviceId, 'refused', `${code}: ${message}`, this.deps.clock.now());
    }
    return { schema: CAPTURE_ACK_SCHEMA, captureId: msg.captureId, ranges: [], refused: { code, message } };
  }

  /** Checks, stores and answers one chunk (the ack is published by onChunk). */
  accept(deviceId: string, msg: CaptureChunk): CaptureAck {
    const { store, clock } = this.deps;
    const now = clock.now();
    return store.db.transaction((): CaptureAck => {
      const c = this.repo.find(msg.captureId, false);
      if (!c) return this.refuse(deviceId, msg, 'unknown_capture', `capture ${msg.captureId} does not exist on this hub`);
      if (c.purged) return this.refuse(deviceId, msg, 'purged', `capture ${c.id}'s chunks were purged at ${c.purged.at}: nothing more of it is kept`);
      const part = this.repo.device(c.id, deviceId);
      if (!part) return this.refuse(deviceId, msg, 'not_in_capture', `device ${deviceId} is not in capture ${c.id}'s cohort`);
      const ok: CaptureAck = { schema: CAPTURE_ACK_SCHEMA, captureId: c.id, ranges: toRanges([msg.seq]) };
      // Counted as stored: the whole sealed object, not only its data (the key and nonces are bounded by
      // the wire schema, and still count).
      const sealed = JSON.stringify(msg.sealed);
      const held = this.repo.chunkAt(c.id, deviceId, msg.seq, sealed);
      if (held === 'same') return ok; // a resend: stored already
      if (held === 'other') return { ...ok, taken: ok.ranges, maxSeq: this.repo.maxSeq(c.id, deviceId), storedRows: part.rows };
      if (part.status === 'refused') return this.refuse(deviceId, msg, (part.reason?.split(':')[0] ?? 'storage_quota') as Refusal, part.reason ?? 'refused earlier');
      if (msg.sealed.key.to !== c.keyId) return this.refuse(deviceId, msg, 'key_mismatch', `chunk sealed to key ${msg.sealed.key.to.slice(0, 12)}…, capture ${c.id} uses ${c.keyId.slice(0, 12)}…`);
      const bytes = Buffer.byteLength(sealed);
      if (bytes > this.opts.maxChunkBytes) return this.refuse(deviceId, msg, 'too_large', `chunk of ${bytes} bytes exceeds capture.maxChunkBytes ${this.opts.maxChunkBytes}`);
      // Numbers another machine reports are checked before they are summed.
      if (msg.rows > c.maxRows - part.rows) return this.refuse(deviceId, msg, 'too_many_rows', `${part.rows} rows stored + ${msg.rows} exceed the capture's maxRows ${c.maxRows}`);
      const stored = this.repo.storedBytes(deviceId);
      if (stored + bytes > this.opts.maxBytesPerDevice) {
        return this.refuse(deviceId, msg, 'storage_quota', `the device has ${stored} bytes of captures stored; ${bytes} more exceed capture.maxBytesPerDevice ${this.opts.maxBytesPerDevice}`);
      }
      this.repo.addChunk(c.id, deviceId, msg.seq, msg.rows, sealed, msg.end, msg.reason, now);
      this.deps.metrics?.inc('edgefleet_capture_chunks_total', {});
      // A device's first chunk and its last are audited (the first may also be the last).
      const details = { captureId: c.id, rows: part.rows + msg.rows, chunks: part.chunks + 1, bytes: part.bytes + bytes };
      if (part.chunks === 0) {
        store.audit.append({ actor: 'hub', actorId: null, action: 'capture.upload_started', target: deviceId, reason: `capture ${c.id}: first sealed chunk from ${deviceId}`, details, at: now });
      }
      // Once per part: an end on a part that has ended already (a device repeating it) is stored, not audited again.
      if (msg.end && (part.status === 'pending' || part.status === 'capturing')) {
        store.audit.append({ actor: 'hub', actorId: null, action: 'capture.upload_ended', target: deviceId, reason: `capture ${c.id} on ${deviceId}: ${msg.end}`, details: { ...details, end: msg.end, ...(msg.reason ? { why: msg.reason } : {}) }, at: now });
      }
      return ok;
    })();
  }

  private async onChunk(deviceId: string, msg: CaptureChunk): Promise<void> {
    const ack = this.accept(deviceId, msg);
    await this.deps.link.publish(deviceId, 'capture/ack', JSON.stringify(ack));
  }
}
