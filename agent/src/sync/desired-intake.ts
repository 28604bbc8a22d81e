// What the hub link (client.ts) does with the desired and trust documents the hub sends (docs/agent.md
// "Connecting to a hub"): a desired document is checked (desired.ts), stored as applied or as the refusal
// to report, and handed to data capture, remote configuration and the updater; the one accepted last is
// taken again at start. A document refused only because the trust had expired is kept and taken again
// when fresh trust arrives (trust-rotation.ts). A document refused by the box's clock (issued in the
// future, expired, trust expired: a box that booted at 1970 or 2000 before NTP set its clock) is looked at
// again every `recheckMs` and taken once the clock agrees: the broker delivers it again only at the next
// connection, and a box on a steady link went without its models until then (docs/operations.md
// "Clocks that are wrong").
import type { DesiredBody } from '@edgefleet/shared';
import { CLOCK_JUDGED, checkDesired } from './desired.js';
import { onTrustDocument } from './trust-rotation.js';
import type { SyncStore } from './sync-store.js';
import type { Updater } from './updater.js';
import type { CaptureLink, SyncDeps } from './sync-deps.js';

export interface IntakeDeps {
  d: SyncDeps;
  store: SyncStore;
  updater: Updater;
  deviceId: string;
  now: () => Date;
  /** Data capture, once attached (SyncClient.attachCapture). */
  capture: () => CaptureLink | null;
  /** The state changed: report it (SyncClient.stateChanged). */
  changed: () => void;
  /** New events in the outbox: send them. */
  kick: () => void;
  /** How often a document refused by the box's clock is looked at again (default 30 s). */
  recheckMs?: number;
}

const RECHECK_MS = 30_000;

function parse(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    return null;
  }
}

export class DesiredIntake {
  /** The last desired document refused (raw): looked at again when fresh trust arrives. */
  private refusedPayload: Buffer | null = null;
  /** Looks at a document refused by the clock again (one at a time: the last refused). */
  private recheck: NodeJS.Timeout | null = null;

  constructor(private readonly x: IntakeDeps) {}

  /** Resumes work on the last accepted document (a kill mid-download or mid-activation). */
  resume(): void {
    const doc = this.x.store.appliedDocument();
    const trust = this.x.d.trust.get();
    if (doc && trust) {
      // Already accepted: only its signature is checked again (a rotation may have removed its key).
      const v = checkDesired(doc, { trust: trust.signed, deviceId: this.x.deviceId, lastSeq: this.x.store.lastAppliedSeq() - 1, now: this.x.now(), skewMs: Number.MAX_SAFE_INTEGER / 4 });
      if (v.ok) this.apply(v.body);
    }
  }

  onDesired(payload: Buffer): void {
    const { d, store } = this.x;
    const doc = parse(payload);
    const trust = d.trust.get();
    const applied = store.appliedDocument() as { signed?: { seq?: number } } | undefined;
    // The retained document is redelivered on every reconnect: the one already applied is not news
    // (a version rolled back under it is not retried). Logged so that decision is visible.
    if (applied && JSON.stringify(applied) === JSON.stringify(doc)) {
      d.logger.info({ seq: applied.signed?.seq }, 'desired document already applied: nothing to do');
      return;
    }
    if (!trust) return;
    const v = checkDesired(doc, { trust: trust.signed, deviceId: this.x.deviceId, floor: (signers) => store.floor(signers), now: this.x.now() });
    if (!v.ok) {
      this.refusedPayload = CLOCK_JUDGED.has(v.code) ? payload : null;
      this.watchClock(v.code);
      // The broker delivers the retained document again at every connection: the same document refused
      // the same way is told once (the state keeps saying it), not an event per reconnect of a flapping link.
      const last = store.refusal();
      const again = last !== undefined && last.seq === v.seq && last.code === v.code;
      store.setRefusal({ seq: v.seq, code: v.code, message: v.message, at: this.x.now().toISOString() });
      if (again) {
        d.logger.info({ seq: v.seq, code: v.code }, 'desired document refused again as before: no new event');
        this.x.changed();
        return;
      }
      d.emit({ kind: 'desired_refused', code: v.code, message: v.message, data: { seq: v.seq } });
      this.x.kick();
      this.x.changed();
      return;
    }
    this.refusedPayload = null;
    this.watchClock(null);
    store.setApplied(v.body.seq, doc, v.signers);
    this.x.changed();
    this.apply(v.body);
  }

  onTrust(payload: Buffer): void {
    const { d } = this.x;
    const before = d.trust.get()?.signed.version;
    const version = onTrustDocument(payload, { trust: d.trust, store: this.x.store, emit: d.emit, now: this.x.now() });
    if (version === null) return;
    this.x.kick();
    this.x.changed();
    // A document refused only because the trust had expired is taken again under the fresh trust.
    const again = this.refusedPayload;
    if (again && version !== before) {
      this.refusedPayload = null;
      this.onDesired(again);
    }
  }

  /** Stops looking at a refused document again (the link stops). */
  stop(): void {
    this.watchClock(null);
  }

  /**
   * While the last document was refused by the clock (`code`), looks at it every `recheckMs`: once the
   * verdict changes (the clock was set) it goes through onDesired as if just delivered.
   */
  private watchClock(code: string | null): void {
    if (this.recheck) clearInterval(this.recheck);
    this.recheck = null;
    if (code === null || !this.refusedPayload) return;
    this.recheck = setInterval(() => {
      const payload = this.refusedPayload;
      const trust = this.x.d.trust.get();
      if (!payload || !trust) return;
      const v = checkDesired(parse(payload), { trust: trust.signed, deviceId: this.x.deviceId, floor: (signers) => this.x.store.floor(signers), now: this.x.now() });
      if (!v.ok && v.code === code) return;
      this.x.d.logger.info({ seq: v.ok ? v.body.seq : v.seq }, 'the desired document refused by this box\'s clock is looked at again: the clock changed');
      this.onDesired(payload);
    }, this.x.recheckMs ?? RECHECK_MS);
    this.recheck.unref();
  }

  /** Hands a document to the updater; it reports its own failures (Updater onError), this is a last guard. */
  private apply(body: DesiredBody): void {
    this.x.capture()?.apply(body.capture ?? []);
    this.x.d.config?.()?.apply(body.agentConfig);
    this.x.updater.apply(body).catch((err: unknown) => this.x.d.logger.error({ err }, 'applying the desired state failed'));
  }
}
