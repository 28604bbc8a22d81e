// `edgefleet-agent status [--json]`: what an operator on the box wants at a glance, read from the
// data dir without the daemon: models and their active versions, the hub link (device id, broker),
// the last applied desired-state seq, the outbox backlog, and the last refused document.
import { escapeText } from '@edgefleet/shared/core';
import type { Store } from '../agent.js';
import type { AgentConfig } from '../config.js';
import { readCredentials } from '../sync/credentials.js';
import { SyncStore, type Refusal } from '../sync/sync-store.js';

export interface AgentStatus {
  dataDir: string;
  models: Array<{ name: string; active: string; previous: string | null; installed: string[] }>;
  trustVersion: number | null;
  hub: { enrolled: false } | { enrolled: true; deviceId: string; broker: string; brokers: string[] };
  lastAppliedSeq: number;
  outbox: { pending: number; windows: number; events: number; oldest: string | null };
  refusal: Refusal | null;
}

export function agentStatus(s: Store, config: AgentConfig): AgentStatus {
  const sync = new SyncStore(s.db);
  const creds = readCredentials(config.dataDir);
  const counts = s.db.prepare('SELECT kind, COUNT(*) AS n, MIN(created) AS oldest FROM outbox GROUP BY kind').all() as Array<{ kind: 'window' | 'event'; n: number; oldest: string }>;
  const windows = counts.find((c) => c.kind === 'window')?.n ?? 0;
  const events = counts.find((c) => c.kind === 'event')?.n ?? 0;
  const oldest = counts.map((c) => c.oldest).sort()[0] ?? null;
  return {
    dataDir: config.dataDir,
    models: s.models.listActive().map((a) => ({
      name: a.name, active: a.active, previous: a.previous ?? null, installed: s.models.listVersions(a.name).map((v) => v.version),
    })),
    trustVersion: s.trust.get()?.signed.version ?? null,
    hub: creds
      ? { enrolled: true, deviceId: creds.credentials.deviceId, broker: config.sync.brokerUrl ?? creds.credentials.brokers[0] ?? '', brokers: creds.credentials.brokers }
      : { enrolled: false },
    lastAppliedSeq: sync.lastAppliedSeq(),
    outbox: { pending: windows + events, windows, events, oldest },
    refusal: sync.refusal() ?? null,
  };
}

export function formatStatus(st: AgentStatus): string {
  const lines = [`data dir     ${st.dataDir}`, `trust        ${st.trustVersion === null ? 'not provisioned' : `version ${st.trustVersion}`}`];
  lines.push(st.hub.enrolled ? `hub          device ${st.hub.deviceId} via ${st.hub.broker}` : 'hub          not enrolled (edgefleet-agent enroll --hub URL --token T)');
  lines.push(`desired seq  ${st.lastAppliedSeq}`);
  lines.push(`outbox       ${st.outbox.pending} pending (${st.outbox.windows} windows, ${st.outbox.events} events)${st.outbox.oldest ? `, oldest ${st.outbox.oldest}` : ''}`);
  if (st.refusal) lines.push(`last refusal seq ${st.refusal.seq} at ${st.refusal.at}: ${st.refusal.code}: ${st.refusal.message}`);
  if (st.models.length === 0) lines.push('models       none installed');
  for (const m of st.models) lines.push(`model        ${m.name} ${m.active} active (previous ${m.previous ?? 'none'}; installed ${m.installed.join(', ')})`);
  // Messages and names come from the hub and from bundles: printed escaped (shared/src/text.ts).
  return `${lines.map(escapeText).join('\n')}\n`;
}
