// Where the bus's events come from (one place, so a new source is one line): the broker's view of
// presence, devices' reported state, deployment status changes, committed audit entries, alerts
// that fired or resolved, and rollouts that changed.
import type { FleetLink } from '../mqtt/ports.js';
import type { AuditRepo } from '../store/audit-repo.js';
import type { DeploymentsRepo } from '../store/deployments-repo.js';
import type { Clock } from '../clock.js';
import type { Alerts } from '../alerts/service.js';
import type { RolloutsRepo } from '../store/rollouts-repo.js';
import type { EventBus } from './bus.js';

export interface EventSources {
  bus: EventBus;
  clock: Clock;
  fleet: Pick<FleetLink, 'on' | 'onConnect' | 'onDisconnect'>;
  audit: Pick<AuditRepo, 'onAppended'>;
  deployments: Pick<DeploymentsRepo, 'onStatus'>;
  alerts?: Pick<Alerts, 'onChanged'> | undefined;
  rollouts?: Pick<RolloutsRepo, 'onChanged'> | undefined;
}

/** Connects every source to the bus; returns the function that disconnects them. */
export function connectEventSources(s: EventSources): () => void {
  const { bus, clock } = s;
  const offs = [
    s.fleet.onConnect((deviceId) => bus.publish('device.presence', { deviceId, online: true, at: clock.now().toISOString() })),
    s.fleet.onDisconnect((deviceId) => bus.publish('device.presence', { deviceId, online: false, at: clock.now().toISOString() })),
    s.fleet.on('state', (deviceId, m) => {
      bus.publish('device.state', { deviceId, at: m.at, agentVersion: m.agentVersion, models: m.models.map((x) => ({ name: x.name, active: x.active })) });
    }),
    s.deployments.onStatus((c) => bus.publish('deployment.progress', c)),
    s.audit.onAppended((e) => bus.publish('audit', e)),
    ...(s.alerts ? [s.alerts.onChanged((a) => bus.publish('alert', { event: a.state === 'resolved' ? 'resolved' : 'fired', alert: a }))] : []),
    ...(s.rollouts ? [s.rollouts.onChanged((c) => bus.publish('rollout', c))] : []),
  ];
  return () => {
    for (const off of offs) off();
  };
}
