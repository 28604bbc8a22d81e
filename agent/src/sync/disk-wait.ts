// Versions waiting for room on a full disk (docs/agent.md "Disk space", decision 0064): a download or
// install the disk refused (DISK_FULL) is no failure of the version. The updater keeps it here and tries
// it again by itself: as soon as the data dir's disk has the room it needs (looked at every `checkMs`;
// and always more than was free when it was last refused), or, should that estimate be too high, after
// a wait that doubles with each refusal from `checkMs` up to DISK_RETRY_MAX_MS. One entry per model
// (the version the hub asks for now), so what is held is bounded.
import { formatBytes } from '@edgefleet/shared/core';
import type { DiskWait } from '@edgefleet/shared';
import type { UpdaterDeps } from './updater.js';

/** How often the free room is looked at while a version waits for it (default). */
export const DISK_CHECK_MS = 30_000;
/** The longest wait between two tries when the room never looks enough. */
export const DISK_RETRY_MAX_MS = 30 * 60_000;

interface Entry {
  version: string;
  /** Tried again once this much is free: the room needed, and more than was free at the last refusal. */
  room: number;
  /** Refusals in a row. */
  tries: number;
  /** Tried again from here even if the room does not look enough (ms, the updater's clock). */
  retryAt: number;
}

export class DiskWaits {
  private readonly waits = new Map<string, Entry>();

  /** `free`: the bytes free on the data dir's disk now, undefined when unreadable. */
  constructor(private readonly free: () => number | undefined, readonly checkMs: number = DISK_CHECK_MS, private readonly now: () => number = Date.now) {}

  /**
   * `model`@`version` was refused for a full disk and waits; about `needed` bytes would let it through.
   * Returns what the reported state shows, and whether this refusal begins the wait (not a retry's).
   */
  refused(model: string, version: string, needed: number): DiskWait & { first: boolean } {
    const cur = this.waits.get(model);
    const tries = cur?.version === version ? cur.tries + 1 : 1;
    const wait = Math.min(DISK_RETRY_MAX_MS, this.checkMs * 2 ** Math.min(tries - 1, 30));
    const free = this.free();
    this.waits.set(model, { version, room: Math.max(needed, (free ?? 0) + 1), tries, retryAt: this.now() + wait });
    return { needed, ...(free !== undefined ? { free } : {}), first: tries === 1 };
  }

  /** Whether `model`@`version` waits for room and is not to be tried now (too little room, its wait not over). */
  holds(model: string, version: string): boolean {
    const w = this.waits.get(model);
    if (!w || w.version !== version) return false;
    if (this.now() >= w.retryAt) return false;
    const free = this.free();
    return free === undefined || free < w.room;
  }

  /** `model` does not wait (installed, failed otherwise, no longer asked for). */
  clear(model: string): void {
    this.waits.delete(model);
  }

  /** Keeps only the models in `keep` (what the current document names). */
  retain(keep: ReadonlySet<string>): void {
    for (const m of [...this.waits.keys()]) if (!keep.has(m)) this.waits.delete(m);
  }

  get size(): number {
    return this.waits.size;
  }
}

/** About the room a version takes while installed from the hub: its download and its files in the store. */
export function roomFor(bundleSize: number): number {
  return 2 * bundleSize;
}

/** How the wait is said, in the reported state's reason and the `waiting_for_disk` event. */
export function diskWaitMessage(target: string, w: DiskWait, cause: string): string {
  const free = w.free !== undefined ? `, ${formatBytes(w.free)} free` : '';
  return `waiting for disk space to install ${target}: about ${formatBytes(w.needed)} needed${free}; tried again by itself when there is room (${cause})`;
}

/**
 * The disk refused the download or install of `m` (a version to switch to, or a shadow candidate): what
 * the download left goes (its room is what is missing), `waits` notes the refusal, and a
 * `waiting_for_disk` event says so when the wait begins. Returns what the reported state shows.
 */
export function refusedForRoom(
  d: Pick<UpdaterDeps, 'downloader' | 'emit' | 'onError'>,
  waits: DiskWaits,
  m: { name: string; version: string; bundle: { sha256: string; size: number } },
  cause: string,
  shadow: boolean,
): { diskWait: DiskWait; message: string } {
  d.downloader.discard(m.bundle.sha256);
  const { first, ...diskWait } = waits.refused(m.name, m.version, roomFor(m.bundle.size));
  const message = diskWaitMessage(`${shadow ? 'shadow candidate ' : ''}${m.name}@${m.version}`, diskWait, cause);
  if (first) {
    // Written to agent.db and the outbox, which the full disk may refuse too: the state says it anyway.
    try {
      d.emit({ kind: 'waiting_for_disk', model: m.name, version: m.version, code: 'DISK_FULL', message, data: { ...diskWait, ...(shadow ? { shadow: true } : {}) } });
    } catch (err) {
      d.onError(err, `recording that ${m.name}@${m.version} waits for disk space`);
    }
  }
  return { diskWait, message };
}
