// Where the bus's events come from (one place, so a new source is one line): the broker's view of
// presence, devices' reported state, deployment status changes, committed audit entries, alerts
// that fired or resolved, and rollouts that changed.
import type { StreamEventMap } from '@edgefleet/shared';
import type { FleetLink } from '../mqtt/ports.js';
import type { AuditRepo } from '../store/audit-repo.js';
import type { DeploymentsRepo } from '../store/deployments-repo.js';
import type { Clock } from '../clock.js';
import type { Alerts } from '../alerts/service.js';
import type { RolloutsRepo } from '../store/rollouts-repo.js';
import type { EventBus } from './bus.js';
import { DeviceEventPacer } from './device-pacer.js';

export interface EventSources {
  bus: EventBus;
  clock: Clock;
  fleet: Pick<FleetLink, 'on' | 'onConnect' | 'onDisconnect'>;
  audit: Pick<AuditRepo, 'onAppended'>;
  deployments: Pick<DeploymentsRepo, 'onStatus'>;
  alerts?: Pick<Alerts, 'onChanged'> | undefined;
  rollouts?: Pick<RolloutsRepo, 'onChanged'> | undefined;
  /** A device's presence and state events at most once each per this many ms (device-pacer.ts; default 1000). */
  deviceEventEveryMs?: number | undefined;
}

/** Connects every source to the bus; returns the function that disconnects them. */
export function connectEventSources(s: EventSources): () => void {
  const { bus, clock } = s;
  // What a device does reaches the stream paced per device, its newest word kept (device-pacer.ts).
  const presence = new DeviceEventPacer<StreamEventMap['device.presence']>((_, e) => bus.publish('device.presence', e), s.deviceEventEveryMs);
  const state = new DeviceEventPacer<StreamEventMap['device.state']>((_, e) => bus.publish('device.state', e), s.deviceEventEveryMs);
  const offs = [
    s.fleet.onConnect((deviceId) => presence.offer(deviceId, { deviceId, online: true, at: clock.now().toISOString() })),
    s.fleet.onDisconnect((deviceId) => presence.offer(deviceId, { deviceId, online: false, at: clock.now().toISOString() })),
    s.fleet.on('state', (deviceId, m) => {
      state.offer(deviceId, { deviceId, at: m.at, agentVersion: m.agentVersion, models: m.models.map((x) => ({ name: x.name, active: x.active })) });
    }),
    () => presence.stop(),
    () => state.stop(),
    s.deployments.onStatus((c) => bus.publish('deployment.progress', c)),
    s.audit.onAppended((e) => bus.publish('audit', e)),
    ...(s.alerts ? [s.alerts.onChanged((a, event) => bus.publish('alert', { event, alert: a }))] : []),
    ...(s.rollouts ? [s.rollouts.onChanged((c) => bus.publish('rollout', c))] : []),
  ];
  return () => {
    for (const off of offs) off();
  };
}
