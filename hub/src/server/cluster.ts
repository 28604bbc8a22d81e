// Several hubs on one database (docs/hub.md "Several hubs", docs/decisions/0041-several-hubs.md): this
// hub's id, and the singleton jobs, which run on the holder of the hub lease (cluster/lease.ts): in
// cluster mode one of the hubs, else the single hub, which holds it for its whole life so that no second
// hub starts on its database (cluster/claim.ts, docs/decisions/0074-one-hub-per-database.md). Everything
// else a hub does works from the database, so any hub may take any device's message or any API request.
import type { HubConfig } from '../config.js';
import type { Clock } from '../clock.js';
import type { LoggerPort, MetricsPort } from '../mqtt/ports.js';
import type { Store } from '../store/index.js';
import { LeaseRepo } from '../cluster/lease-repo.js';
import { DEFAULT_LEASE_OPTIONS, HubLease, type LeaseOptions, type SingletonJob } from '../cluster/lease.js';
import { claimAtStart, defaultHubId, type ClaimKeeper } from '../cluster/claim.js';
import type { DeploymentService } from '../deployments/service.js';
import type { RolloutEngine } from '../rollouts/engine.js';
import type { WindowRetention } from '../rollups/retention.js';
import type { FleetRowBuilder } from '../rollups/fleet-builder.js';
import type { Alerts } from '../alerts/service.js';
import type { DesiredResync } from '../deployments/resync.js';
import type { DependencyWatch } from '../health.js';

/** This hub's id in the lease and in its broker client id: cluster.hubId, else HOST-TAG-pid (cluster/claim.ts). */
export function clusterHubId(cfg: HubConfig): string | null {
  if (!cfg.cluster?.enabled) return null;
  return cfg.cluster.hubId ?? defaultHubId();
}

/** The jobs exactly one hub runs: each would act twice (or race) if every hub ran it. */
export function singletonJobs(p: { deployments: DeploymentService; rollouts: RolloutEngine; retention: WindowRetention; fleetRows: FleetRowBuilder; alerts: Alerts; resync: DesiredResync | null }): SingletonJob[] {
  const resync = p.resync;
  return [
    // External broker: documents a stopped (killed) hub stored but did not publish go out first.
    ...(resync ? [{ name: 'unapplied desired documents', start: () => resync.start(), stop: () => resync.stop() }] : []),
    // Re-signing expiring documents: two hubs would each issue a new seq for the same device.
    { name: 'desired-document renewal', start: () => p.deployments.startRenewal(), stop: () => p.deployments.stopRenewal() },
    { name: 'rollout engine', start: () => p.rollouts.start(), stop: () => p.rollouts.stop() },
    { name: 'window retention', start: () => p.retention.start(), stop: () => p.retention.stop() },
    { name: 'fleet rows', start: () => p.fleetRows.start(), stop: () => p.fleetRows.stop() },
    // Evaluating rules and sending webhooks: two hubs would fire and deliver each alert twice.
    { name: 'alerts', start: () => p.alerts.start(), stop: (ms) => p.alerts.stop(ms) },
  ];
}

/** The lease's TTL and renewal period from `cluster` (also with `enabled: false`), else the defaults. */
function leaseOptions(cfg: HubConfig): LeaseOptions {
  const c = cfg.cluster;
  const ttlMs = c?.leaseTtlMs ?? DEFAULT_LEASE_OPTIONS.ttlMs;
  return { ttlMs, renewEveryMs: c?.renewEveryMs ?? (c?.leaseTtlMs !== undefined ? Math.floor(c.leaseTtlMs / 3) : DEFAULT_LEASE_OPTIONS.renewEveryMs) };
}

/** Before the hub touches presence or starts a job: waits for or refuses another hub in the way (cluster/claim.ts). */
export function claimLease(cfg: HubConfig, hubId: string, store: Store, d: { clock: Clock; logger: LoggerPort }): Promise<ClaimKeeper> {
  return claimAtStart({ repo: new LeaseRepo(store.db), hubId, sole: !cfg.cluster?.enabled, ...leaseOptions(cfg), ...d });
}

/** The lease over `jobs` for hub `hubId` (started by the caller); `sole`: a hub without cluster. */
export function hubLease(cfg: HubConfig, hubId: string, store: Store, jobs: SingletonJob[], d: { clock: Clock; logger: LoggerPort; metrics: MetricsPort; database: DependencyWatch }): HubLease {
  return new HubLease({ repo: new LeaseRepo(store.db), hubId, jobs, sole: !cfg.cluster?.enabled, ...d }, leaseOptions(cfg));
}
