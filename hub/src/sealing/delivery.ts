// Getting content keys to devices (docs/security.md "Sealed models"): a device's public key reported in
// its state (over its own authenticated MQTT connection; the ACL lets it publish only its own state) is
// recorded and audited; when a content key arrives for a version, the devices sent that version (to run
// or in shadow) get new documents. Every state report with a device key also checks the device's latest
// document against the keys it can be given now, and issues it again when it is behind: a hub that
// stopped between recording a key (or a content key) and issuing the documents loses no delivery.
import type { ReportedState } from '@edgefleet/shared';
import type { DeploymentService } from '../deployments/service.js';
import type { DeviceReports } from '../ingest/service.js';
import type { LoggerPort } from '../mqtt/ports.js';
import type { Store } from '../store/index.js';
import type { Sealing } from './service.js';
import { KeyChangeLimit, type KeyChangeLimits } from './key-changes.js';

export interface SealingDeliveryDeps {
  store: Store;
  sealing: Sealing;
  deployments: DeploymentService;
  reports: DeviceReports;
  logger: LoggerPort;
  /** How often a device may replace its key (key-changes.ts). */
  keyChanges?: Partial<KeyChangeLimits>;
}

export class SealingDelivery {
  private unsub: (() => void) | null = null;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly keyChanges: KeyChangeLimit;

  constructor(private readonly d: SealingDeliveryDeps) {
    this.keyChanges = new KeyChangeLimit(d.keyChanges);
  }

  start(): void {
    this.unsub = this.d.reports.onState((id, state, now) => this.onState(id, state, now));
  }

  /** Stops listening; documents being published finish (bounded by the caller's stop deadline). */
  async stop(): Promise<void> {
    this.unsub?.();
    this.unsub = null;
    await Promise.allSettled([...this.pending]);
  }

  private onState(deviceId: string, state: ReportedState, now: Date): void {
    const key = state.deviceKey;
    if (!key) return;
    const { store, sealing, logger } = this.d;
    const current = sealing.deviceKeyId(deviceId);
    const verdict = current !== undefined && current !== key.keyId ? this.keyChanges.check(deviceId, now) : 'take';
    if (verdict !== 'take') {
      if (verdict === 'refuse-and-report') {
        logger.warn({ deviceId, keyId: key.keyId.slice(0, 12), current: current?.slice(0, 12) }, 'refused a device key change: the device changed its key too often within the hour; content keys stay sealed to its current key');
      }
      return;
    }
    try {
      store.db.transaction(() => {
        const o = sealing.setDeviceKey(deviceId, key, 'state', now);
        if (o !== 'unchanged') {
          store.audit.append({
            actor: 'hub', action: o === 'set' ? 'device.key' : 'device.key_changed', target: deviceId, at: now,
            reason: o === 'set' ? 'device key reported over the device\'s authenticated connection' : 'the device reported a different device key: content keys are sealed to the new one from now on',
            details: { keyId: key.keyId },
          });
        }
      })();
    } catch (err) {
      logger.warn({ deviceId, err: (err as Error).message }, 'refused the device key in a reported state');
      return;
    }
    // The latest stored document (issueDesired stores it before its first await, so one in flight counts).
    let behind = false;
    try {
      const doc = store.desired.latest(deviceId);
      behind = !!doc && sealing.keysBehind(doc);
    } catch (err) {
      logger.warn({ deviceId, err: (err as Error).message }, 'could not check the content keys in the device\'s desired document');
    }
    if (behind) this.track(this.d.deployments.issueDesired(deviceId), deviceId);
  }

  /** New documents for the devices sent name@version, to run or in shadow (its content key just arrived). */
  async resendVersion(name: string, version: string): Promise<void> {
    const { store, sealing } = this.d;
    const ids = store.devices.list().filter((dev) => {
      if (dev.revoked) return false;
      const doc = store.desired.latest(dev.id);
      return !!doc && doc.signed.models.some((m) => m.name === name && (m.version === version || m.shadow?.version === version)) && sealing.keysBehind(doc);
    }).map((dev) => dev.id);
    if (ids.length) await this.d.deployments.issueDesiredMany(ids);
  }

  private track(p: Promise<unknown>, deviceId: string): void {
    const t: Promise<unknown> = p
      .catch((err: unknown) => this.d.logger.error({ deviceId, err }, 'issuing a desired document with sealed keys failed'))
      .finally(() => this.pending.delete(t));
    this.pending.add(t);
  }
}
