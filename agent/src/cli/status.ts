// `edgefleet-agent status [--json]`: what an operator on the box wants at a glance, read from the
// data dir without the daemon: models and their active versions, the hub link (device id, the broker
// the running daemon uses, whether the link is up as the daemon last recorded it, or that the record
// is stale because no daemon refreshed it), the last applied desired-state seq, the outbox backlog,
// the last refused document, the update lock in force (docs/agent.md "Update lock"), the room on its disk,
// for a model whose active version came by a rollback (a policy breach), when and why, the models
// the hub removed (docs/agent.md "Removed models"), and the hub's remote settings stored on the box,
// one it could not start with, and the last one it refused (docs/agent.md "Remote configuration").
import { LOW_DISK_SHARE, diskShare, diskText, escapeText, readDiskSpace, type DiskRoom } from '@edgefleet/shared/core';
import type { Store } from '../store/agent-store.js';
import type { AgentConfig } from '../config.js';
import { readCredentials } from '../sync/credentials.js';
import { readFailedRemoteConfig, readRefusedRemoteConfig, readRemoteConfig, type FailedRemoteConfig, type RefusedRemoteConfig } from '../config-remote.js';
import { LINK_HEARTBEAT_MS, readLink } from '../sync/link-state.js';
import { SyncStore, type Refusal } from '../sync/sync-store.js';

export interface AgentStatus {
  dataDir: string;
  models: Array<{
    name: string; active: string; previous: string | null; installed: string[];
    /** Its active version came by a rollback (the policy's, `rollback`, or the hub's): when and why; null otherwise. */
    rolledBack: { at: string; code: string | null; message: string } | null;
  }>;
  trustVersion: number | null;
  hub: { enrolled: false } | { enrolled: true; deviceId: string; broker: string; brokers: string[]; link: LinkStatus };
  lastAppliedSeq: number;
  outbox: { pending: number; windows: number; events: number; oldest: string | null };
  refusal: Refusal | null;
  /** The update lock in force: switches wait while it holds. */
  updateLock: { until: string; reason: string; setAt: string } | null;
  /** Room on the data dir's filesystem (what the agent reports to the hub); null when unreadable. */
  disk: DiskRoom | null;
  /** Models the hub removed (docs/agent.md "Removed models"): not served, their versions kept until `keepUntil`. */
  removed: Array<{ name: string; seq: number; at: string; reason: string; keepUntil: string; installed: string[] }>;
  /** The hub's settings stored on the box (DATA/remote-config.json); `ranWith` false: stored, not yet run with. */
  remoteConfig: { sha256: string; sources: Array<{ scope: string; version: number }>; settings: Record<string, unknown>; at: string; ranWith: boolean } | null;
  /** Remote settings the agent could not start with: not applied again. */
  remoteConfigFailed: FailedRemoteConfig | null;
  /** The last remote configuration the box refused (its versions, the setting named, why): shown until a later one is applied. */
  remoteConfigRefused: RefusedRemoteConfig | null;
}

/**
 * The link as the daemon recorded it: `unknown` when no daemon ever ran the link, `stale` when the
 * record was not refreshed for 3 heartbeats (the daemon is not running; state is its last word).
 */
export interface LinkStatus {
  state: 'up' | 'down' | 'unknown';
  since: string | null;
  reason: string | null;
  /** Last time a running daemon confirmed it. */
  at: string | null;
  stale: boolean;
}

export function agentStatus(s: Store, config: AgentConfig, now = Date.now()): AgentStatus {
  const sync = new SyncStore(s.db);
  const creds = readCredentials(config.dataDir);
  const counts = s.db.prepare('SELECT kind, COUNT(*) AS n, MIN(created) AS oldest FROM outbox GROUP BY kind').all() as Array<{ kind: 'window' | 'event'; n: number; oldest: string }>;
  const windows = counts.find((c) => c.kind === 'window')?.n ?? 0;
  const events = counts.find((c) => c.kind === 'event')?.n ?? 0;
  const oldest = counts.map((c) => c.oldest).sort()[0] ?? null;
  const rec = readLink(s.db);
  const link: LinkStatus = rec
    ? { state: rec.state, since: rec.since, reason: rec.reason ?? null, at: rec.at, stale: now - Date.parse(rec.at) > 3 * LINK_HEARTBEAT_MS }
    : { state: 'unknown', since: null, reason: null, at: null, stale: false };
  return {
    dataDir: config.dataDir,
    models: s.models.listActive().map((a) => {
      const last = s.events.lastSwitch(a.name);
      return {
        name: a.name, active: a.active, previous: a.previous ?? null, installed: s.models.listVersions(a.name).map((v) => v.version),
        rolledBack: last?.kind === 'rolled_back' ? { at: last.at, code: last.code ?? null, message: last.message } : null,
      };
    }),
    trustVersion: s.trust.get()?.signed.version ?? null,
    hub: creds
      // The broker a running daemon uses (its flags and config may differ from this command's), else ours.
      ? { enrolled: true, deviceId: creds.credentials.deviceId, broker: (rec && !link.stale ? rec.broker : undefined) ?? config.sync.brokerUrl ?? creds.credentials.brokers[0] ?? '', brokers: creds.credentials.brokers, link }
      : { enrolled: false },
    lastAppliedSeq: sync.lastAppliedSeq(),
    outbox: { pending: windows + events, windows, events, oldest },
    refusal: sync.refusal() ?? null,
    updateLock: lockOf(s),
    disk: readDiskSpace(config.dataDir) ?? null,
    removed: s.removals.list().map((r) => ({ name: r.name, seq: r.seq, at: r.at, reason: r.reason, keepUntil: r.keepUntil, installed: s.models.listVersions(r.name).map((v) => v.version) })),
    remoteConfig: remoteOf(config.dataDir),
    remoteConfigFailed: readFailedRemoteConfig(config.dataDir) ?? null,
    remoteConfigRefused: readRefusedRemoteConfig(config.dataDir) ?? null,
  };
}

function remoteOf(dataDir: string): AgentStatus['remoteConfig'] {
  // A file that is not one is ignored; loading the config said so already (config-start.ts).
  const r = readRemoteConfig(dataDir);
  return r ? { sha256: r.sha256, sources: r.sources, settings: r.settings, at: r.at, ranWith: r.confirmed === true } : null;
}

function lockOf(s: Store): AgentStatus['updateLock'] {
  const l = s.updateLock.get();
  return l ? { until: new Date(l.until).toISOString(), reason: l.reason, setAt: l.setAt } : null;
}

export function formatStatus(st: AgentStatus): string {
  const lines = [`data dir     ${st.dataDir}`, `trust        ${st.trustVersion === null ? 'not provisioned' : `version ${st.trustVersion}`}`];
  lines.push(st.hub.enrolled ? `hub          device ${st.hub.deviceId} via ${st.hub.broker}` : 'hub          not enrolled (edgefleet-agent enroll --hub URL --token T)');
  if (st.hub.enrolled) lines.push(`hub link     ${formatLink(st.hub.link)}`);
  lines.push(`desired seq  ${st.lastAppliedSeq}`);
  if (st.disk) lines.push(`disk         ${diskText(st.disk)}${diskShare(st.disk) < LOW_DISK_SHARE ? ': low (summaries, downloads and batch outputs need room)' : ''}`);
  lines.push(`outbox       ${st.outbox.pending} pending (${st.outbox.windows} windows, ${st.outbox.events} events)${st.outbox.oldest ? `, oldest ${st.outbox.oldest}` : ''}`);
  if (st.updateLock) lines.push(`update lock  until ${st.updateLock.until} (${st.updateLock.reason}): model switches wait`);
  if (st.refusal) lines.push(`last refusal seq ${st.refusal.seq} at ${st.refusal.at}: ${st.refusal.code}: ${st.refusal.message}`);
  const rc = st.remoteConfig;
  if (rc) {
    lines.push(`remote config ${rc.sources.map((x) => `${x.scope}@${x.version}`).join(', ') || 'none'} (${rc.sha256.slice(0, 12)}, ${Object.keys(rc.settings).length} settings, stored ${rc.at}${rc.ranWith ? '' : ', not yet run with'})`);
    for (const [k, v] of Object.entries(rc.settings)) lines.push(`  ${k} = ${JSON.stringify(v)}`);
  }
  const f = st.remoteConfigFailed;
  if (f) lines.push(`remote config ${f.sha256.slice(0, 12)} failed, not applied again: ${f.code}: ${f.message}`);
  const x = st.remoteConfigRefused;
  if (x) {
    lines.push(`remote config ${x.sources.map((v) => `${v.scope}@${v.version}`).join(', ') || 'none'} (${x.sha256.slice(0, 12)}) refused at ${x.at}, the last good one stays: `
      + `${x.field ? `${x.field}: ` : ''}${x.code}: ${x.message}`);
  }
  if (st.models.length === 0 && st.removed.length === 0) lines.push('models       none installed');
  for (const m of st.models) {
    lines.push(`model        ${m.name} ${m.active} active (previous ${m.previous ?? 'none'}; installed ${m.installed.join(', ')})`);
    if (m.rolledBack) lines.push(`  rolled back ${m.rolledBack.at}${m.rolledBack.code ? ` [${m.rolledBack.code}]` : ''}: ${m.rolledBack.message}`);
  }
  for (const r of st.removed) {
    lines.push(`model        ${r.name} removed by the hub (seq ${r.seq}, ${r.at}: ${r.reason}); not served, ${r.installed.join(', ') || 'no versions'} kept until ${r.keepUntil}`);
  }
  // Messages and names come from the hub and from bundles: printed escaped (shared/src/text.ts).
  return `${lines.map(escapeText).join('\n')}\n`;
}

function formatLink(l: LinkStatus): string {
  if (l.state === 'unknown') return 'unknown (the agent has not run with the hub link yet)';
  const what = `${l.state} since ${l.since}${l.state === 'down' && l.reason ? ` (${l.reason})` : ''}`;
  return l.stale ? `unknown: no running agent (last recorded ${what}, at ${l.at})` : what;
}
