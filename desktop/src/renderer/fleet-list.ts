// The fleet view's devices (docs/console.md "Fleet", docs/decisions/0089-fleet-view-filtered-by-the-hub.md):
// the hub filters and pages them (GET /devices?q=&tag=&status=, FLEET_PAGE by id, `total` matching) and
// counts the fleet (GET /fleet); the console holds only the pages it loaded ("Load more"), whatever the
// fleet's size. Held devices are kept in a Map mutated in place with a version signal; the stream's events
// move devices in and out of it as the hub says they match (fleet-follow.ts). Only the newest load's answer is shown.
import { batch, signal } from '@preact/signals';
import type { DeviceInfo, DeviceList, FleetSummary } from '@edgefleet/shared';
import { errorText, type Api } from './api.js';
import type { Loaded } from './store.js';

/** Devices an answer brings: ~90 KB; a fleet of 50,000 is never read whole. */
export const FLEET_PAGE = 200;

export type FleetStatus = '' | 'online' | 'offline' | 'revoked';
export interface FleetQuery {
  /** A part of an id, a tag's key or value (key=val: the key whole, the value's beginning) or a version, any case. */
  q: string;
  /** key=value, one tag exactly. */
  tag: string;
  status: FleetStatus;
}

export const fleetQuery = signal<FleetQuery>({ q: '', tag: '', status: '' });
/** The devices of the pages loaded, in the hub's order (by id). */
export const devices = new Map<string, DeviceInfo>();
export const devicesVersion = signal(0);
export const devicesStatus = signal<'loading' | 'ready' | { error: string }>('loading');
/** The `?after=` of the page after those loaded, or null when they are all. */
export const devicesNext = signal<string | null>(null);
/** How many devices match the filters (all pages), as the hub last said. */
export const devicesTotal = signal(0);
export const fleetSummary = signal<Loaded<FleetSummary>>(null);

/** The tag filter as typed is refused in the page unless it is key=value (the hub says the same). */
export function tagProblem(tag: string): string | null {
  const t = tag.trim();
  return t === '' || /^[a-z][a-z0-9_.-]{0,63}=/.test(t) ? null : `tag "${t}": expected key=value, such as site=north (a key of lowercase letters, digits, "_", "." or "-")`;
}

export function fleetPath(q: FleetQuery, after: string | null, limit = FLEET_PAGE): string {
  const p = new URLSearchParams({ limit: String(limit) });
  if (q.q.trim()) p.set('q', q.q.trim());
  if (q.tag.trim()) p.set('tag', q.tag.trim());
  if (q.status) p.set('status', q.status);
  if (after !== null) p.set('after', after);
  return `/devices?${p.toString()}`;
}

let loadCount = 0;
/** Bumped by each load of the first page and by sign-out: an answer asked for before it is stale. */
export const loads = (): number => loadCount;

let lastLoad: Promise<void> = Promise.resolve();
/** Settles when the newest load of the first page has (fleet-follow.ts asks about a device after it). */
export const loadSettled = (): Promise<void> => lastLoad;

/** The first page of the current filters, replacing what is held. */
export function loadDevices(a: Api): Promise<void> {
  lastLoad = loadFirstPage(a);
  return lastLoad;
}

async function loadFirstPage(a: Api): Promise<void> {
  const n = ++loadCount;
  try {
    const p = await a.get<DeviceList>(fleetPath(fleetQuery.value, null));
    if (n !== loadCount) return; // the filters changed meanwhile: a newer load shows its answer
    devices.clear();
    for (const d of p.devices) devices.set(d.id, d);
    batch(() => { devicesNext.value = p.next; devicesTotal.value = p.total; devicesStatus.value = 'ready'; devicesVersion.value++; });
  } catch (err) {
    if (n === loadCount) devicesStatus.value = { error: errorText(err) };
  }
}

/** The next page appended ("Load more"); throws when the hub would not give it. */
export async function loadMoreDevices(a: Api): Promise<void> {
  const after = devicesNext.value;
  const n = loadCount;
  if (after === null) return;
  const p = await a.get<DeviceList>(fleetPath(fleetQuery.value, after));
  if (n !== loadCount || devicesNext.value !== after) return;
  for (const d of p.devices) devices.set(d.id, d);
  batch(() => { devicesNext.value = p.next; devicesTotal.value = p.total; devicesVersion.value++; });
}

let summaryLoads = 0;
/** The fleet's counts (GET /fleet); only the newest read's answer is shown (two in flight may answer out of order). */
export async function loadFleetSummary(a: Api): Promise<void> {
  const n = ++summaryLoads;
  try {
    const s = await a.get<FleetSummary>('/fleet');
    if (n === summaryLoads) fleetSummary.value = s;
  } catch (err) {
    if (n === summaryLoads) fleetSummary.value = { error: errorText(err) };
  }
}

/** Signed out: nothing held, and the filters back to none (the next sign-in may be someone else's). */
export function clearDevices(): void {
  loadCount++;
  summaryLoads++;
  devices.clear();
  batch(() => {
    fleetQuery.value = { q: '', tag: '', status: '' };
    devicesVersion.value++;
    devicesStatus.value = 'loading';
    devicesNext.value = null;
    devicesTotal.value = 0;
    fleetSummary.value = null;
  });
}
