// A deploy or rollout to devices whose onnxruntime backend cannot load the version is refused before
// anything is stored, naming each such device and why (docs/decisions/0129-model-backends-checked.md):
// the hub knows at push which backends load it (model-backends.ts) and each device's backend
// (reported.backend, from its capabilities), so those boxes would only fail MODEL_LOAD_FAILED one by one.
import { AppError, runtimeBackendOf, type ModelBackends, type ReportedState, type RuntimeBackend } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import type { Migration } from '../store/migrations.js';

/** hub.db migration 87: a deployment created with allowBackendMismatch (its devices are never held back for their backend). */
export const BACKEND_MISMATCH_MIGRATION: Migration = {
  version: 87,
  name: 'deployments sent whatever the backend',
  sql: 'ALTER TABLE deployments ADD COLUMN backend_mismatch INTEGER NOT NULL DEFAULT 0;',
};

/** hub.db migration 105: a rollout created with allowBackendMismatch (its deployment is, and no create is refused for the backend). */
export const ROLLOUT_BACKEND_MISMATCH_MIGRATION: Migration = {
  version: 105,
  name: 'rollouts sent whatever the backend',
  sql: 'ALTER TABLE rollouts ADD COLUMN backend_mismatch INTEGER NOT NULL DEFAULT 0;',
};

/** What a refusal adds (deploy's and rollout create's): the override, for an operator who knows those boxes load it. */
export const overrideHint = (command: string): string => `; or, if those boxes do load it, ${command} with --allow-backend-mismatch (allowBackendMismatch: true)`;

/** The devices BackendWatch remembers (the MQTT quota's bound on tracked devices, hub/src/mqtt/quota.ts). */
export const BACKEND_WATCH_MAX = 100_000;

/** How many devices the refusal names in its message (all of them in details, up to 100). */
const NAMED = 3;

/**
 * BACKEND_UNSUPPORTED when a device of `devices` reported a backend the version is known not to load on
 * (a version not checked, and a device that never said its backend, pass).
 */
export function refuseUnloadableBackends(store: Store, model: string, version: string, devices: readonly string[], orElse = ''): void {
  const b = store.models.get(model, version).backends;
  if (!b || Object.keys(b.refused).length === 0) return;
  // One query per backend the version refuses (the devices that said it among their capabilities), not one per device of the target.
  const wanted = new Set(devices);
  const refused: Array<{ device: string; backend: string }> = [];
  for (const k of Object.keys(b.refused) as Array<keyof typeof b.refused>) {
    const rows = store.db.prepare('SELECT id, reported FROM devices WHERE reported LIKE ? ORDER BY id').all(`%"backend-${k}"%`) as Array<{ id: string; reported: string }>;
    for (const r of rows) {
      if (wanted.has(r.id) && runtimeBackendOf((JSON.parse(r.reported) as ReportedState).capabilities ?? []) === k) refused.push({ device: r.id, backend: k });
    }
  }
  if (refused.length === 0) return;
  const kinds = [...new Set(refused.map((r) => r.backend))] as Array<keyof typeof b.refused>;
  const named = `${refused.slice(0, NAMED).map((r) => `${r.device} (${r.backend})`).join(', ')}${refused.length > NAMED ? `, … (${refused.length} in all)` : ''}`;
  const why = kinds.map((k) => `${model} ${version} does not load on the ${k} backend: ${b.refused[k]}`).join('; ');
  throw new AppError('BACKEND_UNSUPPORTED', `${refused.length} device(s) of the target run a backend that cannot load it: ${named}; ${why}. `
    + `Leave those devices out of the target (by --devices or tags), or push a version that loads on ${kinds.join(', ')} (edgefleet model show ${model} ${version} says which backends load it)${orElse}`,
  { details: { model, version, devices: refused.slice(0, 100), total: refused.length } });
}

/**
 * A device's row in a deployment the hub holds back (docs/decisions/0129-model-backends-checked.md, addendum): its
 * status is `refused` and its reason starts with this code. A refusal by the box itself carries the box's code.
 */
export const HELD_CODE = 'BACKEND_UNSUPPORTED';

/** The backend a device last reported (its capabilities), or null: it never said; undefined: it never reported at all (a new box). */
export function deviceBackend(store: Store, deviceId: string): RuntimeBackend | null | undefined {
  const st = store.devices.reportedState(deviceId) as Partial<ReportedState> | null;
  return st ? runtimeBackendOf(st.capabilities ?? []) : undefined;
}

/**
 * Why the hub holds `model` `version` back from a device running `backend` (the reason its row shows), or null: the version
 * is not known to be refused there (not checked, loads there, or the device never said its backend).
 */
export function heldWhy(backends: ModelBackends | null | undefined, backend: RuntimeBackend | null | undefined, model: string, version: string): string | null {
  const why = backend ? backends?.refused[backend] : undefined;
  if (why === undefined || !backend) return null;
  return `${HELD_CODE}: the box runs the ${backend} backend, which cannot load ${model} ${version} (${why}); the hub does not send it and the box keeps what it runs. `
    + `Deploy a version that loads on ${backend}, or run the box on another backend (docs/decisions/0129-model-backends-checked.md)`;
}

/** How the reason of a row waiting for the box's first state report starts (its status stays `pending`). */
const WAITING = "waiting for the box's first state report (its backend): ";

/**
 * A device's row the hub holds (docs/decisions/0129-model-backends-checked.md, addendum): `refused` when its backend is
 * known not to load the version (heldWhy), `pending` with a reason when the device never reported at all (a new box,
 * `backend` undefined) and the version is known refused on some backend: sent with its first report, which says its
 * backend; null when the version is sent.
 */
export function holdOf(backends: ModelBackends | null | undefined, backend: RuntimeBackend | null | undefined, model: string, version: string): { status: 'refused' | 'pending'; reason: string } | null {
  const refused = Object.entries(backends?.refused ?? {});
  if (backend !== undefined || refused.length === 0) {
    const why = heldWhy(backends, backend, model, version);
    return why === null ? null : { status: 'refused', reason: why };
  }
  return {
    status: 'pending',
    reason: `${WAITING}${refused.map(([k, why]) => `${model} ${version} does not load on the ${k} backend (${why})`).join('; ')}; `
      + 'the hub sends it with the report if the box runs another backend (docs/decisions/0129-model-backends-checked.md)',
  };
}

/** Whether a row waits for the box's first state report (holdOf). */
export const isWaiting = (status: string | undefined, reason: string | null | undefined): boolean => status === 'pending' && !!reason?.startsWith(WAITING);

/** Whether a row is held by the hub (holdOf): refused for its backend (isHeld) or waiting for the box's first report. */
export const isHubHold = (status: string | undefined, reason: string | null | undefined): boolean => isHeld(status, reason) || isWaiting(status, reason);

/**
 * Why the hub holds shadow candidate `c` of rollout `rolloutId` back from the device (its backend cannot load it), or null
 * (also for a rollout created with allowBackendMismatch); the backend and the rollout are read only for a version refused somewhere.
 */
export function shadowHeldWhy(store: Store, deviceId: string, c: { name: string; version: string; backends?: ModelBackends | null | undefined }, rolloutId: string): string | null {
  if (!Object.keys(c.backends?.refused ?? {}).length || store.rollouts.get(rolloutId).allowBackendMismatch) return null;
  return heldWhy(c.backends, deviceBackend(store, deviceId), c.name, c.version);
}

/** Whether a deployment row's status and reason are the hub's hold (heldWhy), not the box's own refusal. */
export function isHeld(status: string | undefined, reason: string | null | undefined): boolean {
  return status === 'refused' && !!reason?.startsWith(`${HELD_CODE}: `);
}

/**
 * Follows each device's reported backend (DeploymentService's state listener): `changed` says when the device's next
 * document would hold back, or send again, a version (or a shadow candidate) its backend now cannot load, or can (the first report after the
 * hub starts is looked at too: the backend may have changed while it was down). One entry per device that reported
 * since the hub started, at most `max` (BACKEND_WATCH_MAX): past it the least recently reporting device is forgotten, so
 * its next report is looked at as a first one (a query, nothing missed; docs/decisions/0129-model-backends-checked.md).
 */
export class BackendWatch {
  private readonly last = new Map<string, RuntimeBackend | null>();
  // Every device's first state report since the hub started comes here (after a deployment to all: every device at
  // once), for each version it is assigned: only the version's backends are read, prepared once, not the whole
  // version (its manifest parsed) through ModelsRepo.get (docs/decisions/0188-deployment-commit-set-based.md).
  private backendsStmt: ReturnType<Store['db']['prepare']> | null = null;
  constructor(private readonly store: Store, private readonly max = BACKEND_WATCH_MAX) {}

  /** Devices remembered (at most `max`). */
  get size(): number {
    return this.last.size;
  }

  changed(deviceId: string, state: ReportedState): boolean {
    const backend = runtimeBackendOf(state.capabilities ?? []);
    const seen = this.last.has(deviceId);
    const before = this.last.get(deviceId);
    this.last.delete(deviceId); // set again below: the Map's order is the order of the last reports
    this.last.set(deviceId, backend);
    if (this.last.size > this.max) this.last.delete(this.last.keys().next().value as string);
    if (seen && before === backend) return false;
    return this.store.deployments.effectiveFor(deviceId).some((e) => {
      const hold = !e.allowBackendMismatch && heldWhy(this.backendsOf(e.model, e.version), backend, e.model, e.version) !== null;
      // A row waiting for the box's first report (holdOf): this is it, so the row is decided now.
      if (hold !== isHeld(e.status, e.reason) || isWaiting(e.status, e.reason)) return true;
      // A shadow candidate beside it (desired.ts shadowOf): held back now but in the last document, or the other way.
      const row = this.store.shadows.get(deviceId, e.model);
      if (hold || !row || row.version === e.version) return false;
      const shadowHold = heldWhy(this.backendsOf(e.model, row.version), backend, e.model, row.version) !== null && !this.store.rollouts.get(row.rolloutId).allowBackendMismatch;
      const latest = this.store.desired.latest(deviceId)?.signed.models;
      return shadowHold === (latest?.find((m) => m.name === e.model)?.shadow?.version === row.version);
    });
  }

  /** The backends a stored version loads on (ModelsRepo.get's `backends`; NOT_FOUND through it for a version not stored). */
  private backendsOf(model: string, version: string): ModelBackends | null | undefined {
    const r = (this.backendsStmt ??= this.store.db.prepare('SELECT backends FROM model_versions WHERE name = ? AND version = ?')).get(model, version) as { backends: string | null } | undefined;
    if (!r) return this.store.models.get(model, version).backends;
    return r.backends ? (JSON.parse(r.backends) as ModelBackends) : null;
  }
}

/**
 * A rollout wave's told devices the hub holds back (isHeld): left out of install_success like an offline box (the
 * version waits for their backend, it did not fail on them), and named on its note (the first NAMED); null when none.
 */
export function heldNote(deviceIds: readonly string[]): string | null {
  if (!deviceIds.length) return null;
  const named = `${deviceIds.slice(0, NAMED).join(', ')}${deviceIds.length > NAMED ? `, and ${deviceIds.length - NAMED} more` : ''}`;
  return `${deviceIds.length} held back, left out: their backend cannot load the version (${HELD_CODE}): ${named}`;
}

/**
 * The device's assigned versions the hub holds back (GET /devices/{id} `heldBack`; one row per model at most): refused
 * for its backend, or waiting for the box's first state report (isHubHold), each with its row's reason and `since`, when
 * the row took it (its updated_at: desired.ts sets a hold's row only when its status or reason changes).
 */
export function heldBack(store: Store, deviceId: string): Array<{ deploymentId: number; model: string; version: string; reason: string; since: string }> {
  const held = store.deployments.effectiveFor(deviceId).filter((e) => isHubHold(e.status, e.reason));
  if (!held.length) return [];
  const at = store.db.prepare('SELECT updated_at FROM deployment_devices WHERE deployment_id = ? AND device_id = ?');
  return held.map((e) => ({
    deploymentId: e.deploymentId, model: e.model, version: e.version, reason: e.reason ?? '',
    since: (at.get(e.deploymentId, deviceId) as { updated_at: string }).updated_at,
  }));
}
