// Getting content keys to devices (docs/security.md "Sealed models"): a device's public key reported in
// its state (over its own authenticated MQTT connection; the ACL lets it publish only its own state) is
// recorded, audited, and the device's desired document issued again so it carries the keys it now can
// open; when a content key arrives for a version, the devices assigned that version get new documents.
import type { ReportedState } from '@edgefleet/shared';
import type { DeploymentService } from '../deployments/service.js';
import type { DeviceReports } from '../ingest/service.js';
import type { LoggerPort } from '../mqtt/ports.js';
import type { Store } from '../store/index.js';
import type { Sealing } from './service.js';

export interface SealingDeliveryDeps {
  store: Store;
  sealing: Sealing;
  deployments: DeploymentService;
  reports: DeviceReports;
  logger: LoggerPort;
}

export class SealingDelivery {
  private unsub: (() => void) | null = null;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly d: SealingDeliveryDeps) {}

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
    let outcome;
    try {
      outcome = store.db.transaction(() => {
        const o = sealing.setDeviceKey(deviceId, key, 'state', now);
        if (o !== 'unchanged') {
          store.audit.append({
            actor: 'hub', action: o === 'set' ? 'device.key' : 'device.key_changed', target: deviceId, at: now,
            reason: o === 'set' ? 'device key reported over the device\'s authenticated connection' : 'the device reported a different device key: content keys are sealed to the new one from now on',
            details: { keyId: key.keyId },
          });
        }
        return o;
      })();
    } catch (err) {
      logger.warn({ deviceId, err: (err as Error).message }, 'refused the device key in a reported state');
      return;
    }
    if (outcome === 'unchanged' || !this.hasSealedModel(deviceId)) return;
    this.track(this.d.deployments.issueDesired(deviceId), deviceId);
  }

  /** New documents for the devices assigned name@version (its content key just arrived). */
  async resendVersion(name: string, version: string): Promise<void> {
    const ids = this.d.store.devices.list()
      .filter((dev) => !dev.revoked && this.d.deployments.deployments.effectiveFor(dev.id).some((e) => e.model === name && e.version === version))
      .map((dev) => dev.id);
    if (ids.length) await this.d.deployments.issueDesiredMany(ids);
  }

  private hasSealedModel(deviceId: string): boolean {
    return this.d.deployments.deployments.effectiveFor(deviceId).some((e) => !!this.d.store.models.get(e.model, e.version).manifest.encryption);
  }

  private track(p: Promise<unknown>, deviceId: string): void {
    const t: Promise<unknown> = p
      .catch((err: unknown) => this.d.logger.error({ deviceId, err }, 'issuing a desired document with sealed keys failed'))
      .finally(() => this.pending.delete(t));
    this.pending.add(t);
  }
}
