// The fleet view's devices (docs/console.md "Fleet", docs/decisions/0089-fleet-view-filtered-by-the-hub.md):
// the hub filters and pages them (GET /devices?q=&tag=&status=, FLEET_PAGE by id, `total` matching) and
// counts the fleet (GET /fleet); the console holds only the pages it loaded ("Load more"), whatever the
// fleet's size. Held devices are kept in a Map mutated in place with a version signal; the stream's events
// move devices in and out of it as the hub says they match (fleet-follow.ts). Only the newest load's answer is shown.
// A search of 1–2 characters is not sent on a fleet the hub refuses it on (heldSearch, decision 0109).
import { batch, signal } from '@preact/signals';
import type { DeviceInfo, DeviceList, FleetSummary } from '@edgefleet/shared';
import { SHORT_SEARCH_MAX_DEVICES, formatCount, shortSearch, totalText } from '@edgefleet/shared/browser';
import { ApiError, errorText, type Api } from './api.js';
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
/** How many devices match the filters (all pages), as the hub last said: at least that many when not exact (decision 0123). */
export const devicesTotal = signal(0);
/** False when `devicesTotal` is a lower bound; a hub before decision 0123 sends no `totalExact`: its totals are exact. */
export const devicesTotalExact = signal(true);
/** The count beside the filters: `200 of 1,000+ devices` when the hub counted a search only so far (held: the devices loaded). */
export const devicesTotalText = (held: number): string =>
  devicesTotalExact.value ? formatCount(devicesTotal.value) : totalText(Math.max(devicesTotal.value, held), false);
export const fleetSummary = signal<Loaded<FleetSummary>>(null);

/** The hub refused a search of 1–2 characters (its counts were not read, or the fleet grew past the bound): until sign-out. */
const shortRefused = signal(false);
/** The filters of the devices held: what the view goes back to when the hub refuses a short search. */
let answered: FleetQuery = { q: '', tag: '', status: '' };

/**
 * Why the search as typed is not sent (the view keeps the devices of the last one), or null: a search of 1–2
 * characters on a fleet over SHORT_SEARCH_MAX_DEVICES, which the hub refuses rather than read every device.
 */
export function heldSearch(q: string): string | null {
  if (!shortSearch(q)) return null;
  const s = fleetSummary.value;
  const n = s && !('error' in s) ? s.online + s.offline + s.revoked : 0;
  if (n <= SHORT_SEARCH_MAX_DEVICES && !shortRefused.value) return null;
  const size = n > SHORT_SEARCH_MAX_DEVICES ? formatCount(n) : `more than ${formatCount(SHORT_SEARCH_MAX_DEVICES)}`;
  return `type 3 characters or more: this hub has ${size} devices and answers a search of 1 or 2 characters only up to ` +
    `${formatCount(SHORT_SEARCH_MAX_DEVICES)} (it would read every device); the table shows the last search's devices`;
}

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
  const q = fleetQuery.value;
  try {
    const p = await a.get<DeviceList>(fleetPath(q, null));
    if (n !== loadCount) return; // the filters changed meanwhile: a newer load shows its answer
    answered = q;
    devices.clear();
    for (const d of p.devices) devices.set(d.id, d);
    batch(() => { devicesNext.value = p.next; devicesTotal.value = p.total; devicesTotalExact.value = p.totalExact !== false; devicesStatus.value = 'ready'; devicesVersion.value++; });
  } catch (err) {
    if (n !== loadCount) return;
    // The hub's refusal of a short search (decision 0109) is no error of the view: it says so beside the box
    // (heldSearch) and goes back to the filters of the devices it holds, as it does when it knows the fleet's size.
    if (err instanceof ApiError && err.code === 'BAD_REQUEST' && shortSearch(q.q) && err.message.includes('a search of 1 or 2 characters')) {
      batch(() => { shortRefused.value = true; fleetQuery.value = answered; });
    } else devicesStatus.value = { error: errorText(err) };
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
  batch(() => { devicesNext.value = p.next; devicesTotal.value = p.total; devicesTotalExact.value = p.totalExact !== false; devicesVersion.value++; });
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
  answered = { q: '', tag: '', status: '' };
  batch(() => {
    shortRefused.value = false;
    fleetQuery.value = answered;
    devicesVersion.value++;
    devicesStatus.value = 'loading';
    devicesNext.value = null;
    devicesTotal.value = 0;
    devicesTotalExact.value = true;
    fleetSummary.value = null;
  });
}
