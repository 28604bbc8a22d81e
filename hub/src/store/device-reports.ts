// What each device reports running (its state reports on MQTT, docs/hub.md "What the hub accepts from
// devices"): the last reported state on its `devices` row, the versions it holds now (`device_models`),
// every registry version it ever reported (`device_versions_seen`, hub.db migration 8), and how the
// stored state reads in DeviceInfo. DevicesRepo (devices-repo.ts) records and reads them through these.
import { runtimeBackendOf, type DeviceInfo, type ReportedState } from '@edgefleet/shared';
import type { HubStatement } from './hub-db.js';
import type { Db } from './db.js';
import type { Migration } from './migrations.js';
import { writeDeviceSearch, type HeldVersion } from './device-search.js';

/**
 * Every registry model version a device ever reported installed (docs/hub.md "What the hub accepts from
 * devices"): `device_models` is what it holds now, and a box that removed a version (its old versions
 * are pruned after installs, agent/src/install/prune.ts) may still have windows of it to send from
 * weeks offline; those stay acceptable.
 */
export const DEVICE_VERSIONS_SEEN_MIGRATION: Migration = {
  version: 8,
  name: 'model versions each device ever reported',
  sql: `
    CREATE TABLE device_versions_seen (
      device_id TEXT NOT NULL,
      name TEXT NOT NULL,
      version TEXT NOT NULL,
      PRIMARY KEY (device_id, name, version)
    );
    INSERT INTO device_versions_seen (device_id, name, version) SELECT device_id, name, version FROM device_models;
  `,
};

/** How far back a box's clock may have stepped before its older-looking state is taken anyway. */
const STALE_WINDOW_MS = 10 * 60_000;

/**
 * Records that a device may report `name`@`version` (device_versions_seen): args (device, name, version,
 * name, version). Registry versions only; a second time adds nothing.
 */
export const SEEN_INSERT = 'INSERT INTO device_versions_seen (device_id, name, version) SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM model_versions WHERE name = ? AND version = ?) ON CONFLICT DO NOTHING';

/**
 * Several hubs apply every reported state, each with its own lag, so an older state can arrive after
 * a newer one (docs/hub.md "Several hubs"): it is stale when the stored one (`stored`, its `at`) was made
 * later by the box's clock, by less than STALE_WINDOW_MS (a box whose clock stepped back further is believed).
 */
function isStale(stored: Record<string, unknown> | null, state: ReportedState): boolean {
  const at = stored?.['at'];
  const ahead = typeof at === 'string' ? Date.parse(at) - Date.parse(state.at) : NaN;
  return ahead > 0 && ahead < STALE_WINDOW_MS;
}

/**
 * The transaction that records a device's reported state: the state on its row, what it holds now,
 * and the registry versions it reported. `newerOnly` (several hubs): a stale state is not applied;
 * returns whether it was. `reportedState` reads the stored state (DevicesRepo.reportedState).
 */
export function reportTransaction(db: Db, reportedState: (id: string) => Record<string, unknown> | null): (id: string, state: ReportedState, newerOnly: boolean) => boolean {
  let stmts: { update: HubStatement; clear: HubStatement; insert: HubStatement; seen: HubStatement } | null = null;
  return db.transaction((id: string, state: ReportedState, newerOnly: boolean) => {
    if (newerOnly && isStale(reportedState(id), state)) return false;
    const st = (stmts ??= {
      update: db.prepare('UPDATE devices SET reported = ? WHERE id = ?'),
      clear: db.prepare('DELETE FROM device_models WHERE device_id = ?'),
      insert: db.prepare('INSERT OR REPLACE INTO device_models (device_id, name, version, status) VALUES (?, ?, ?, ?)'),
      // Registry versions only (the two readers join model_versions): a box reporting made-up versions
      // in every state report would otherwise grow the table without bound. ModelsRepo.insert adds the
      // rows of a version the box reported before it was uploaded, while the box still holds it.
      seen: db.prepare(SEEN_INSERT),
    });
    st.update.run(JSON.stringify(state), id);
    st.clear.run(id);
    const held: HeldVersion[] = [];
    for (const m of state.models) {
      if (m.active) st.insert.run(id, m.name, m.active, m.status === 'active' ? 'active' : m.status);
      for (const v of m.installed) if (v !== m.active) st.insert.run(id, m.name, v, 'installed');
      for (const v of new Set([...(m.active ? [m.active] : []), ...m.installed])) {
        st.seen.run(id, m.name, v, m.name, v);
        held.push({ name: m.name, version: v });
      }
    }
    // The search text holds the versions (device-search.ts): rewritten only when they changed.
    writeDeviceSearch(db, id, { held });
    return true;
  });
}

/** Adds each version's preflight sample latency, the model's last replay check and the active version's previous one, from the device's last reported state. */
export function withPreflight(models: DeviceInfo['models'], json: string | null): DeviceInfo['models'] {
  const st = json ? (JSON.parse(json) as ReportedState) : undefined;
  return models.map((m) => {
    const rm = st?.models.find((x) => x.name === m.name);
    const pf = rm?.preflight?.find((p) => p.version === m.version);
    const previous = rm?.active === m.version && rm.previous ? { previous: rm.previous } : {};
    const withReplay = { ...m, ...previous, ...(rm?.replay ? { replay: rm.replay } : {}) };
    if (!pf) return withReplay;
    const { version: _v, ...rest } = pf;
    return { ...withReplay, preflight: rest };
  });
}

/** The stored state as DeviceInfo shows it (`reported`). */
export function reportedSummary(json: string | null): DeviceInfo['reported'] {
  if (!json) return null;
  const st = JSON.parse(json) as ReportedState;
  // A state stored before capabilities were parsed with their default has none.
  const capabilities = st.capabilities ?? [];
  return {
    at: st.at, agentVersion: st.agentVersion, lastAppliedSeq: st.lastAppliedSeq, ...(typeof st.trustVersion === 'number' ? { trustVersion: st.trustVersion } : {}), refusal: st.refusal ?? null,
    ...(st.trust ? { trust: st.trust } : {}), ...(st.config ? { config: st.config } : {}), ...(st.outbox ? { outbox: st.outbox } : {}), ...(st.disk ? { disk: st.disk } : {}), ...(st.clock ? { clock: st.clock } : {}),
    capabilities, backend: runtimeBackendOf(capabilities), ...(typeof st.starts === 'number' ? { starts: st.starts } : {}),
  };
}
