// The reported state the agent publishes (retained) on connect and on every change: its models with
// their install phases, trust, refusal, capabilities, configuration, outbox backlog and disk space
// (the `state` topic, docs/mqtt.md "Topics").
import { STATE_SCHEMA, type DiskSpace, type ReportedModel, type ReportedShadow, type ReportedState } from '@edgefleet/shared';
import { publicPart } from '../keys/device-key.js';
import { trustExpired } from '../trust-current.js';
import type { SyncDeps } from './sync-deps.js';
import type { SyncStore } from './sync-store.js';
import type { ModelPhase } from './updater.js';
import { removedError } from '../store/removals-repo.js';

export interface ReportedStateInput {
  deps: Pick<SyncDeps, 'models' | 'trust' | 'agentVersion' | 'deviceKey' | 'capabilities' | 'config' | 'shadow' | 'clockMark' | 'removals'>;
  store: SyncStore;
  /** The updater's phase of each model it is working on. */
  phases: ReadonlyMap<string, ModelPhase>;
  /** Shadow candidates waiting for disk space, per model (shadow-apply.ts). */
  shadowWaits?: ReadonlyMap<string, ReportedShadow>;
  deviceId: string;
  now: Date;
  /** This start's number on this data directory, if known. */
  starts: number | undefined;
  outboxItems: number;
  /** Room on the data dir's filesystem (disk-space.ts); undefined when it cannot be read. */
  disk: DiskSpace | undefined;
}

export function reportedState(i: ReportedStateInput): ReportedState {
  const d = i.deps;
  // A model the hub removed is reported while its files are kept (docs/agent.md "Removed models").
  const removals = new Map((d.removals?.list() ?? []).map((r) => [r.name, r]));
  const names = new Set([...d.models.listActive().map((a) => a.name), ...i.phases.keys(), ...(i.shadowWaits?.keys() ?? []), ...removals.keys()]);
  const models: ReportedModel[] = [...names].sort().map((name) => {
    const a = d.models.getActive(name);
    const installed = d.models.listVersions(name).map((v) => v.version);
    const preflight = installed.flatMap((version) => {
      const pf = d.models.preflightOf(name, version);
      return pf ? [{ version, ...pf }] : [];
    });
    const p = i.phases.get(name);
    const replay = d.shadow?.replayOf(name);
    const shadow = i.shadowWaits?.get(name);
    const removal = removals.get(name);
    const reason = p?.reason ?? (removal && !a ? { code: 'MODEL_REMOVED', message: removedError(removal).message } : undefined);
    return {
      name,
      active: a?.active ?? null,
      previous: a?.previous ?? null,
      installed,
      status: p?.status ?? (a ? 'active' : removal ? 'removed' : 'pending'),
      target: p?.target ?? null,
      ...(p?.progress !== undefined ? { progress: p.progress } : {}),
      ...(reason ? { reason } : {}),
      ...(removal && !a && !p ? { removedUntil: removal.keepUntil } : {}),
      ...(p?.status === 'deferred' ? { deferredUntil: p.until ?? null } : {}),
      ...(p?.status === 'waiting_for_disk' && p.diskWait ? { diskWait: p.diskWait } : {}),
      ...(preflight.length ? { preflight } : {}),
      ...(replay ? { replay } : {}),
      ...(shadow ? { shadow } : {}),
    };
  });
  const refusal = i.store.refusal();
  const trust = d.trust.get()?.signed;
  const deviceKey = d.deviceKey?.();
  const config = d.config?.()?.report();
  const clock = d.clockMark?.();
  return {
    schema: STATE_SCHEMA,
    deviceId: i.deviceId,
    at: i.now.toISOString(),
    ...(clock ? { clock } : {}),
    agentVersion: d.agentVersion,
    lastAppliedSeq: i.store.lastAppliedSeq(),
    trustVersion: trust?.version ?? 0,
    ...(trust ? { trust: { expires: trust.expires, expired: trustExpired(trust, i.now) } } : {}),
    models,
    ...(refusal ? { refusal } : {}),
    capabilities: ['blob-blocks', 'policy-rollback', 'outbox-v1', ...(deviceKey ? ['sealed-models'] : []), ...(d.capabilities?.() ?? [])],
    ...(deviceKey ? { deviceKey: publicPart(deviceKey) } : {}),
    ...(config ? { config } : {}),
    ...(i.starts !== undefined ? { starts: i.starts } : {}),
    outbox: { items: i.outboxItems },
    ...(i.disk ? { disk: i.disk } : {}),
  };
}
