// A device's next desired-state document on the hub (docs/hub.md, decision 0011): built from the
// deployments it is in (with sealed content keys, maintenance windows, shadows, captures and agent
// configuration, and the models it is to stop serving), signed with the hub key and stored.
// deployments/service.ts publishes what this stores.
import { DESIRED_SCHEMA, MAX_REMOVALS, signEnvelope, type DesiredBody, type DesiredCapture, type DesiredShadow, type DesiredDocument, type KeyPair } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import type { StoredVersion } from '../store/models-repo.js';
import type { ShadowRow } from '../store/shadows-repo.js';
import type { Clock } from '../clock.js';
import type { DeviceReports } from '../ingest/service.js';
import type { Sealing } from '../sealing/service.js';
import type { ConfigService } from '../config/service.js';
import { deviceBackend, holdOf, isHubHold, shadowHeldWhy } from './backends.js';
import { desiredInputs } from './desired-inputs.js';

/** What building a document needs (a part of DeploymentDeps). */
export interface DesiredDeps {
  store: Store;
  hubKey: KeyPair;
  clock: Clock;
  /** Device events and reported state (the ingest part); told when a device's desired document changes. */
  reports: DeviceReports;
  /** Content keys of encrypted versions sealed to each device (docs/security.md "Sealed models"). */
  sealing?: Sealing;
  /** The data captures a device takes part in (hub/src/capture), carried in its documents. */
  desiredCapture?: (deviceId: string) => DesiredCapture[];
  /** Remote agent configuration carried in each desired document (docs/hub.md "Agent configuration"). */
  config?: ConfigService;
}

/** How far above the hub's own last seq a device's reported seq is believed (a restore loses hours, not millions). */
export const SEQ_AHEAD_MAX = 1_000_000;

/** The next document's seq: above the hub's last one and above what the device applied, if that is plausible. */
function nextSeq(last: number, applied: number): number {
  return (applied > last && applied - last <= SEQ_AHEAD_MAX ? applied : last) + 1;
}

/**
 * Documents of a deployment signed ahead, a chunk a turn (signed-ahead.ts): built at `now` (its `issued`), and one
 * whose body is the one built at commit is stored as it is (`reused` counts them); any other is signed at commit.
 */
export interface SignedAhead {
  now: Date;
  docs: ReadonlyMap<string, DesiredDocument>;
  reused: number;
}

/**
 * Builds, signs and stores (one transaction, nested in the caller's if any) each device's next document; publish them
 * after commit. `ahead`: the time they are issued at and the documents signed for them before (SignedAhead).
 */
export function storeDesired(deps: DesiredDeps, desiredTtlMs: number, deviceIds: readonly string[], appliedFloor = 0, ahead?: SignedAhead): DesiredDocument[] {
  for (const id of deviceIds) deps.reports.invalidate(id); // the versions it may report on change
  const { store, clock, hubKey } = deps;
  const now = ahead?.now ?? clock.now();
  const removals = store.removals;
  const anyRemovals = removals.anyPending();
  const versions = new Map<string, StoredVersion>();
  const version = (name: string, v: string): StoredVersion => {
    const key = `${name}@${v}`;
    let sv = versions.get(key);
    if (!sv) {
      sv = store.models.get(name, v);
      versions.set(key, sv);
    }
    return sv;
  };
  return store.db.transaction(() => {
    const inputs = desiredInputs(store, deviceIds);
    const configFor = deps.config?.desiredReader();
    return deviceIds.map((deviceId) => {
      const { effective, lastSeq, reportedSeq, tags, shadows } = inputs(deviceId);
      // The device's backend is read only when a version it is assigned refuses one (most are not refused anywhere).
      const backend = effective.some((e) => !e.allowBackendMismatch && Object.keys(version(e.model, e.version).backends?.refused ?? {}).length) ? deviceBackend(store, deviceId) : null;
      // A version the device's backend is known not to load is held back (its row says why, backends.ts holdOf), and one
      // refused on some backend waits for a new box's first report (its backend): the document does not name the model,
      // so the box keeps what it runs (decision 0066: omission removes nothing).
      const sent = effective.filter((e) => {
        const hold = e.allowBackendMismatch ? null : holdOf(version(e.model, e.version).backends, backend, e.model, e.version);
        if (hold && (e.status !== hold.status || e.reason !== hold.reason)) store.deployments.setRow({ ...e, deviceId }, hold.status, hold.reason, now);
        if (!hold && isHubHold(e.status, e.reason)) store.deployments.setRow({ ...e, deviceId }, 'pending', null, now);
        return hold === null;
      });
      const models = sent.map((e) => {
        const v = version(e.model, e.version);
        // Sealed to this device's key; absent for a device not entitled (revoked, no key yet).
        const contentKey = v.manifest.encryption ? deps.sealing?.sealedFor(deviceId, v.manifest) : undefined;
        return {
          name: e.model,
          version: e.version,
          manifestSha256: v.manifestSha256,
          bundle: { sha256: v.bundle.sha256, size: v.bundle.size },
          ...(e.previous ? { previous: e.previous } : {}),
          ...(contentKey ? { contentKey } : {}),
          // The device switches only inside it (decision 0031); a rollback's deployment has none.
          ...(e.window ? { maintenance: e.window } : {}),
          ...shadowOf(deps, deviceId, shadows.get(e.model), e.version, version),
        };
      });
      const body: DesiredBody = {
        schema: DESIRED_SCHEMA,
        deviceId,
        seq: nextSeq(lastSeq, Math.max(appliedFloor, reportedSeq)),
        issued: now.toISOString(),
        expires: new Date(now.getTime() + desiredTtlMs).toISOString(),
        models,
        config: {},
      };
      const capture = deps.desiredCapture?.(deviceId) ?? [];
      if (capture.length) body.capture = capture;
      const agentConfig = configFor?.(deviceId, tags);
      if (agentConfig) body.agentConfig = agentConfig;
      // Removals (decision 0066): each `removing` row's model, unless the document assigns it again (the
      // assignment wins). One query per document; entries stay until a report clears them (status.ts).
      const named = new Set(effective.map((m) => m.model)); // a held model is assigned too: no removal of it
      const removed = anyRemovals ? removals.pendingFor(deviceId).filter((r) => !named.has(r.name)).slice(0, MAX_REMOVALS) : [];
      if (removed.length) body.removed = removed.map((r) => ({ name: r.name, at: r.at, reason: r.reason }));
      const doc = signedAs(ahead, body) ?? (signEnvelope(body, [hubKey]) as DesiredDocument);
      store.desired.put(doc);
      for (const r of removed) removals.carried(r.deploymentId, deviceId, body.seq);
      return doc;
    });
  })();
}

/**
 * The document signed ahead for this body's device if its body is this one, the same in every field (seq,
 * assignments, sealed keys, removals...): built by the same code from what the store holds now, so a device
 * re-tagged, replaced, given another document or assignment since is signed again, never sent a stale one.
 */
function signedAs(ahead: SignedAhead | undefined, body: DesiredBody): DesiredDocument | undefined {
  const pre = ahead?.docs.get(body.deviceId);
  if (!ahead || !pre || JSON.stringify(pre.signed) !== JSON.stringify(body)) return undefined;
  ahead.reused++;
  return pre;
}

/**
 * `{shadow}` for a model entry when the device runs a candidate of it in shadow (none beside the same version). A
 * candidate the device's backend is known not to load is left out, as an assignment is (backends.ts heldWhy): the
 * row stays, so the stage counts the box held back (rollouts/shadow-held.ts), and a backend that loads it sends it.
 */
function shadowOf(deps: DesiredDeps, deviceId: string, row: ShadowRow | undefined, running: string, version: (name: string, v: string) => StoredVersion): { shadow?: DesiredShadow } {
  if (!row || row.version === running) return {};
  const c = version(row.model, row.version);
  if (shadowHeldWhy(deps.store, deviceId, c, row.rolloutId) !== null) return {};
  const contentKey = c.manifest.encryption ? deps.sealing?.sealedFor(deviceId, c.manifest) : undefined;
  return {
    shadow: {
      version: row.version, manifestSha256: c.manifestSha256, bundle: { sha256: c.bundle.sha256, size: c.bundle.size },
      sampleRate: row.sampleRate, tolerance: row.tolerance, ...(row.threshold !== null ? { threshold: row.threshold } : {}), ...(contentKey ? { contentKey } : {}),
      ...(row.replay ? { replay: row.replay } : {}),
    },
  };
}
