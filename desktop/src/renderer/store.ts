// The console's state: the session (token, role), what the hub returned (devices, models,
// deployments, audit), and the live stream's effect on it. Views read signals; nothing reloads the
// page. The fleet's devices are the pages the fleet view loaded (fleet-list.ts), following the stream
// through the hub's filters (fleet-follow.ts); refetches after stream events are debounced per key. A list the hub would not
// give is kept as {error} ("CODE: message") so its views show it with Retry, never "Loading…" for ever.
import { batch, signal, type Signal } from '@preact/signals';
import type { ApiRole, AuditEntry, Deployment, DeploymentList, ModelVersionInfo, StreamEvent } from '@edgefleet/shared';
import { ApiError, errorText, makeApi, type Api } from './api.js';
import { Live, documentVisibility, type LiveState } from './live.js';
import { clearHubDown, noteContact, noteLive, notNow } from './hub-health.js';
import { background } from './background.js';
import { desktopBridge, notifyAlertFired } from './desktop.js';
import { byId, refreshNewest } from './paging.js';
import { clearDevices, devices, devicesVersion, fleetQuery, loadDevices as loadDevicePage, loadFleetSummary } from './fleet-list.js';
import { clearFollows, followSoon, notePresence, replayPresence } from './fleet-follow.js';

export type Deployments = Array<Omit<Deployment, 'devices'>>;

export interface Session {
  token: string;
  api: Api;
  live: Live;
}

export const session = signal<Session | null>(null);
/** Known once the stream says hello (or from the desktop bridge); null: not yet, so no actions are shown. */
export const role = signal<ApiRole | null>(null);
export const liveState = signal<LiveState>('offline');
/** Why the stream's last attempt failed, "CODE: message" (shown with `offline`), or null. */
export const liveRefusal = signal<string | null>(null);
export const loginError = signal<string | null>(null);

/** A list from the hub: null while loading, {error} when the hub would not give it. */
export type Loaded<T> = T | { error: string } | null;
/**
 * When a list shown was read, and why its latest reload failed (a 500, the hub restarting): the list read before stays
 * shown, and with it a form open on it (New rollout) with what was typed, and the older pages loaded (ui/states.tsx `ListLoad`).
 */
export type Read = { at: string | null; error: string | null };
const UNREAD: Read = { at: null, error: null };
export const models = signal<Loaded<ModelVersionInfo[]>>(null);
export const modelsRead = signal<Read>(UNREAD);
/** Newest first, a page at a time (docs/hub.md "REST API"). */
export const deployments = signal<Loaded<Deployments>>(null);
export const deploymentsRead = signal<Read>(UNREAD);
/** The cursor of the older deployments not loaded (`?before=`), or null when every one is. */
export const olderDeployments = signal<number | null>(null);

/** The models loaded so far (none while loading or after an error). */
export function modelList(): ModelVersionInfo[] {
  return Array.isArray(models.value) ? models.value : [];
}
/** Audit entries that arrived live since the audit view last loaded (newest last). */
export const liveAudit = signal<AuditEntry[]>([]);
/** Bumped on reset: views with their own fetches refetch. */
export const refetchTick = signal(0);
/** Every open view that reads refetchTick loads again (an error box's Retry). */
export const refetchAll = (): void => { refetchTick.value++; };
/** Bumped when a device's own data changed (state, audit on it): the device view refetches. */
/** `online`: a presence event's own word (the hub's row may not have it yet): shown as it says, not read again. */
export const deviceTick = signal<{ id: string; n: number; online?: boolean }>({ id: '', n: 0 });
export const deploymentTick = signal(0);
/** Bumped when an alert fired or resolved, or a rule changed: the alerts view refetches. */
export const alertTick = signal(0);
/** Bumped when a rollout changed (`rollout` events), or a device of a model switched: the rollouts view refetches. */
export const rolloutTick = signal(0);

const RANK: Record<ApiRole, number> = { viewer: 1, operator: 2, admin: 3 };
export function can(need: ApiRole): boolean {
  return role.value !== null && RANK[role.value] >= RANK[need];
}

const TOKEN_KEY = 'edgefleet.token';

export function signIn(token: string): void {
  signOut(null);
  const api = makeApi(token, () => signOut('the hub no longer accepts this token (401): sign in again'), notNow);
  // The web console's tabs release their stream while hidden (docs/console.md "Live updates and
  // tabs"); a desktop window keeps it (its own session, so no shared connection limit) to notify of
  // alerts while minimized.
  const visibility = desktopBridge() ? undefined : documentVisibility();
  const live = new Live(token, {
    hello: (h) => { role.value = h.role; },
    event: onEvent,
    reset: () => { background(loadAll()); refetchTick.value++; },
    state: (s, off) => batch(() => {
      liveState.value = s;
      const why = off?.refused ?? null;
      liveRefusal.value = why ? `${why.code}: ${why.message}` : off?.trouble?.error ?? null;
      noteLive(s, off);
    }),
    contact: noteContact,
    unauthorized: () => signOut('the hub no longer accepts this token (401): sign in again'),
  }, visibility);
  try { sessionStorage.setItem(TOKEN_KEY, token); } catch { /* storage off */ }
  clearHubDown();
  session.value = { token, api, live };
  live.start();
  background(loadAll());
}

export function signOut(why: string | null): void {
  const s = session.value;
  s?.live.stop();
  try { sessionStorage.removeItem(TOKEN_KEY); } catch { /* storage off */ }
  batch(() => {
    session.value = null;
    role.value = null;
    liveRefusal.value = null;
    clearHubDown();
    loginError.value = why;
    clearDevices();
    clearFollows();
    models.value = null;
    modelsRead.value = UNREAD;
    deployments.value = null;
    deploymentsRead.value = UNREAD;
    olderDeployments.value = null;
    liveAudit.value = [];
  });
}

export function savedToken(): string | null {
  try { return sessionStorage.getItem(TOKEN_KEY); } catch { return null; }
}

function api(): Api | null {
  return session.value?.api ?? null;
}

/** The fleet view's first page (its filters) and the fleet's counts (fleet-list.ts). */
export async function loadDevices(): Promise<void> {
  const a = api();
  if (!a) return;
  await Promise.all([loadDevicePage(a), loadFleetSummary(a)]);
  replayPresence(a); // what it read may predate presence the hub had not written yet
}

export async function loadModels(): Promise<void> {
  const a = api();
  if (!a) return;
  try {
    const versions = (await a.get<{ versions: ModelVersionInfo[] }>('/models')).versions;
    batch(() => { models.value = versions; modelsRead.value = { at: new Date().toISOString(), error: null }; });
  } catch (err) {
    readFailed(models, modelsRead, err);
  }
}

/** A list's reload that threw `err`: a list shown stays, its read marked failed; with none shown, the error is the list's state. */
function readFailed<T>(list: Signal<Loaded<T>>, read: Signal<Read>, err: unknown): void {
  if (list.value !== null && !('error' in (list.value as object))) read.value = { ...read.value, error: errorText(err) };
  else list.value = { error: errorText(err) };
}

export async function loadDeployments(): Promise<void> {
  const a = api();
  if (!a) return;
  try {
    const r = await a.get<DeploymentList>('/deployments');
    // The older pages loaded with "Show older" stay below the newest page (paging.ts).
    const shown = Array.isArray(deployments.value) ? { rows: deployments.value, next: olderDeployments.value } : null;
    const p = refreshNewest(shown, { rows: r.deployments, next: r.next }, byId);
    batch(() => { deployments.value = p.rows; olderDeployments.value = p.next; deploymentsRead.value = { at: new Date().toISOString(), error: null }; });
  } catch (err) {
    // A hub without fleet sync answers 503: it has no deployment to show. Anything else is an error.
    if (err instanceof ApiError && err.status === 503) deployments.value = [];
    else readFailed(deployments, deploymentsRead, err);
  }
}

/** Appends the next page of older deployments ("Show older"); throws when the hub would not give it. */
export async function loadOlderDeployments(): Promise<void> {
  const a = api();
  const before = olderDeployments.value;
  if (!a || before === null) return;
  const r = await a.get<DeploymentList>(`/deployments?before=${before}`);
  // Appended only where it was asked for: a refresh in between that dropped the older pages moved the cursor.
  if (olderDeployments.value !== before || !Array.isArray(deployments.value)) return;
  batch(() => { deployments.value = [...(deployments.value as Deployments), ...r.deployments]; olderDeployments.value = r.next; });
}

export async function loadAll(): Promise<void> {
  await Promise.allSettled([loadDevices(), loadModels(), loadDeployments()]);
}

const timers = new Map<string, ReturnType<typeof setTimeout>>();
function debounce(key: string, ms: number, fn: () => void): void {
  if (timers.has(key)) return;
  timers.set(key, setTimeout(() => { timers.delete(key); fn(); }, ms));
}

/**
 * A device's own data changed (`what`: its state or versions, its row in the audit log, or it was just added):
 * the fleet table follows it through the hub (fleet-follow.ts) when it holds it, or when the change can make it
 * match the filters: a new device always, an audit entry (tags, revocation) under any filter, a state (versions)
 * under a search; the device view refetches either way (deviceTick).
 */
function refreshDevice(id: string, what: 'state' | 'audit' | 'added'): void {
  const a = api();
  if (!a) return;
  const f = fleetQuery.value;
  const mayMatch = what === 'added' || (what === 'audit' && (f.q !== '' || f.tag !== '' || f.status !== '')) || (what === 'state' && f.q !== '');
  if (devices.has(id) || mayMatch) followSoon(a, id);
  deviceTick.value = { id, n: deviceTick.value.n + 1 };
}

/** The fleet's counts follow presence, enrollments and reported states (the versions in use), read again at most every 3 s (GET /fleet is two grouped counts). */
function countsSoon(): void {
  debounce('fleet-counts', 3000, () => { const a = api(); if (a) background(loadFleetSummary(a)); });
}

let paintQueued = false;
function bumpDevices(): void {
  if (paintQueued) return;
  paintQueued = true;
  requestAnimationFrame(() => { paintQueued = false; devicesVersion.value++; });
}

function onEvent(e: StreamEvent): void {
  switch (e.type) {
    case 'device.presence': {
      countsSoon();
      deviceTick.value = { id: e.data.deviceId, n: deviceTick.value.n + 1, online: e.data.online }; // Try it's preflight rows show its presence
      const d = devices.get(e.data.deviceId);
      // Under a status filter it may leave the view or join it: asked of the hub, the status as this event says.
      notePresence(e.data.deviceId, e.data.online);
      const a = api();
      if (a && (fleetQuery.value.status === 'online' || fleetQuery.value.status === 'offline')) followSoon(a, e.data.deviceId, e.data.online);
      if (!d) return; // not in the pages loaded: it enrolled (placed on its audit entry), does not match, or is further on
      d.online = e.data.online;
      d.lastSeen = e.data.at;
      bumpDevices();
      return;
    }
    case 'device.state':
      debounce(`dev:${e.data.deviceId}`, 300, () => refreshDevice(e.data.deviceId, 'state'));
      countsSoon(); // the versions in use follow what devices report running
      return;
    case 'deployment.progress':
      debounce('deployments', 300, () => { background(loadDeployments()); deploymentTick.value++; });
      debounce('rollouts', 300, () => { rolloutTick.value++; }); // a wave's active count

      debounce(`dev:${e.data.deviceId}`, 300, () => refreshDevice(e.data.deviceId, 'state'));
      return;
    case 'audit': {
      liveAudit.value = [...liveAudit.value.slice(-999), e.data];
      const a = e.data.action;
      if (a.startsWith('device.') || a.startsWith('enroll')) {
        const added = a === 'device.add' || a === 'device.enroll';
        debounce(`dev:${e.data.target}`, 200, () => refreshDevice(e.data.target, added ? 'added' : 'audit'));
        countsSoon();
      }
      if (a.startsWith('model.')) debounce('models', 200, () => background(loadModels()));
      if (a.startsWith('deployment.')) debounce('deployments', 200, () => { background(loadDeployments()); deploymentTick.value++; });
      if (a.startsWith('alert_rule.')) debounce('alerts', 200, () => { alertTick.value++; });
      return;
    }
    case 'alert':
      if (e.data.event === 'fired') notifyAlertFired(e.data.alert);
      debounce('alerts', 200, () => { alertTick.value++; });
      return;
    case 'rollout':
      debounce('rollouts', 200, () => { rolloutTick.value++; });
      return;
    default: {
      const never: never = e;
      return never;
    }
  }
}
