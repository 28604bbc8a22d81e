// The fleet view follows the live stream (docs/console.md "Fleet", docs/decisions/0089-fleet-view-filtered-by-the-hub.md):
// a device whose status, versions or tags changed is asked of the hub under the view's filters, so one that
// stops matching leaves the table and one that starts matching is placed in it, among the pages loaded, with
// "N of M" following. The hub alone says what matches (the filters are its SQL, hub/src/store/device-filter.ts);
// a presence event's own word decides the status filter, as the hub writes presence up to 50 ms later.
// At most FOLLOW_AT_ONCE questions are in flight; past FOLLOW_MAX_PENDING devices waiting, the first page is
// loaded again instead (a reconnect storm under a status filter asks once, not once a device).
import { batch } from '@preact/signals';
import type { DeviceInfo, DeviceList } from '@edgefleet/shared';
import { errorText, type Api } from './api.js';
import { background } from './background.js';
import { devices, devicesNext, devicesStatus, devicesTotal, devicesTotalExact, devicesVersion, fleetPath, fleetQuery, loadDevices, loadSettled, loads, type FleetQuery } from './fleet-list.js';

/** Devices one question asks for: the one followed and others placed at the same moment before it. */
const AHEAD = 20;
export const FOLLOW_AT_ONCE = 4;
export const FOLLOW_MAX_PENDING = 200;

const statusOf = (d: DeviceInfo): 'online' | 'offline' | 'revoked' => (d.revoked ? 'revoked' : d.online ? 'online' : 'offline');

/**
 * Asks the hub whether device `id` matches the filters now: the devices matching after the held one before it.
 * Held and no longer matching (or gone): it leaves; matching: it is held (placed in its place by id when it was
 * not, if it falls among the pages loaded), with the others before it not held yet. `online`: a presence event's
 * word, which decides the status filter for this device (the hub's row may not have it yet).
 */
export async function followDevice(a: Api, id: string, online?: boolean): Promise<void> {
  // A load of the first page under way may have read the device before this change: asked after it, again
  // if another load began meanwhile (a filter changed while the question was out).
  for (let tries = 0; tries < 3; tries++) {
    await loadSettled();
    const n = loads();
    const f = fleetQuery.value;
    const next = devicesNext.value;
    if (devicesStatus.value !== 'ready' || (!devices.has(id) && next !== null && id > next)) return; // further on: comes with "Load more"
    const localStatus = online !== undefined && (f.status === 'online' || f.status === 'offline');
    let before: string | null = null;
    for (const k of devices.keys()) if (k < id && (before === null || k > before)) before = k;
    const p = await a.get<DeviceList>(fleetPath(localStatus ? { ...f, status: '' } : f, before, AHEAD));
    if (n === loads() && fleetQuery.value === f) return apply(p, id, f, online, next);
  }
}

/** Applies the hub's answer `p` about device `id` under filters `f` (`next`: the last id of the pages loaded, when more follow). */
function apply(p: DeviceList, id: string, f: FleetQuery, online: boolean | undefined, next: string | null): void {
  const localStatus = online !== undefined && (f.status === 'online' || f.status === 'offline');
  const matches = (d: DeviceInfo) => !localStatus || statusOf(d) === f.status;
  const wasHeld = devices.has(id);
  let decided = p.next === null;
  for (const d of p.devices) {
    if (d.id > id) { decided = true; break; }
    if (d.id === id) {
      decided = true;
      const now = online === undefined ? d : { ...d, online: d.revoked ? false : online };
      if (matches(now)) devices.set(id, now);
      else devices.delete(id);
    } else if (!devices.has(d.id) && (next === null || d.id < next) && matches(d)) {
      devices.set(d.id, d);
    }
  }
  // Not in an answer that went past it: it does not match (or the hub no longer has it).
  if (decided && !p.devices.some((d) => d.id === id)) devices.delete(id);
  batch(() => {
    // The hub's count, unless this device's status was decided here: then an exact count moves by its own
    // change; a capped lower bound ("1,000+", decision 0123) stays as it is (one less than "at least 1,000" is not "999+").
    if (!localStatus) { devicesTotal.value = p.total; devicesTotalExact.value = p.totalExact !== false; }
    else if (devicesTotalExact.value && wasHeld !== devices.has(id)) devicesTotal.value = Math.max(0, devicesTotal.value + (wasHeld ? -1 : 1));
    devicesVersion.value++;
  });
}

/** Devices waiting to be asked about, with the latest presence word each came with. */
const pending = new Map<string, boolean | undefined>();
let running = 0;
let reloadTimer: ReturnType<typeof setTimeout> | null = null;

/** Queues `id` to be followed (followDevice); the api is the session's. */
export function followSoon(a: Api, id: string, online?: boolean): void {
  if (!pending.has(id) && pending.size >= FOLLOW_MAX_PENDING) {
    // Too many changes at once to ask about one by one: the first page again, once things settle.
    pending.clear();
    if (reloadTimer === null) reloadTimer = setTimeout(() => { reloadTimer = null; background(loadDevices(a)); }, 1000);
    return;
  }
  pending.set(id, online ?? pending.get(id));
  pump(a);
}

function pump(a: Api): void {
  while (running < FOLLOW_AT_ONCE && pending.size > 0) {
    const [id, online] = pending.entries().next().value as [string, boolean | undefined];
    pending.delete(id);
    running++;
    followDevice(a, id, online)
      .catch((err: unknown) => console.warn(`edgefleet console: device ${id} not followed: ${errorText(err)}`))
      .finally(() => { running--; pump(a); });
  }
}

/**
 * Presence words of the last RECENT_MS, at most RECENT_MAX devices (the newest): a load of the first page under a
 * status filter may have read a row the hub had not written yet (presence is written up to 50 ms after its event,
 * more on a loaded hub), so they are asked about again after it (replayPresence).
 */
const RECENT_MS = 5000;
const RECENT_MAX = 100;
const recent = new Map<string, { online: boolean; at: number }>();

export function notePresence(id: string, online: boolean): void {
  recent.delete(id);
  recent.set(id, { online, at: performance.now() });
  if (recent.size > RECENT_MAX) recent.delete(recent.keys().next().value as string);
}

/** After a load of the first page under a status filter: the recent presence words asked about again. */
export function replayPresence(a: Api): void {
  const f = fleetQuery.value;
  if (f.status !== 'online' && f.status !== 'offline') return;
  const now = performance.now();
  for (const [id, p] of recent) {
    if (now - p.at > RECENT_MS) recent.delete(id);
    else followSoon(a, id, p.online);
  }
}

/** Signed out: nothing waits. */
export function clearFollows(): void {
  pending.clear();
  recent.clear();
  if (reloadTimer !== null) clearTimeout(reloadTimer);
  reloadTimer = null;
}
