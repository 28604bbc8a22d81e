// The candidate a desired document names in shadow of a model (docs/agent.md "Shadow evaluation",
// decision 0032): installed like any version (not activated), loaded beside the active one and handed to
// the shadow runner; none named, the runner drops the model's shadow. A download or install the disk
// refuses (DISK_FULL) is no failure of the candidate, as for an update (decision 0064): it is reported
// waiting for disk space (`models[].shadow` in the state, a `waiting_for_disk` event with `shadow: true`)
// and tried again by itself when there is room (disk-wait.ts), after the models the hub removed gave up
// theirs (decision 0066). Any other failure is an `error` event and leaves the active version serving as before.
import { toAppError, type DesiredModel, type ReportedShadow } from '@edgefleet/shared';
import { DiskWaits, refusedForRoom } from './disk-wait.js';
import { fetchInstall } from './fetch-install.js';
import type { UpdaterDeps } from './updater.js';

export class ShadowApplier {
  /** Per model: its candidate while it waits for disk space (the reported state's `models[].shadow`). */
  readonly waiting = new Map<string, ReportedShadow>();
  private readonly room: DiskWaits;

  /**
   * `fetched`: runs a download and install, its full-disk outcome noted (the updater's); `stopped`: the
   * updater stops; `makeRoom`: forgets the removed models (true when one went), before any wait for room.
   */
  constructor(
    private readonly d: UpdaterDeps, now: () => number, private readonly fetched: (work: () => Promise<void>) => Promise<void>,
    private readonly stopped: () => boolean, private readonly makeRoom: (why: string) => Promise<boolean> = () => Promise.resolve(false),
  ) {
    this.room = new DiskWaits(d.diskFree ?? (() => undefined), d.diskCheckMs, now);
  }

  /** Candidates waiting for room (the updater looks at the disk again while there are any). */
  get roomWaits(): number {
    return this.room.size;
  }

  /** Models the current document no longer names wait for nothing. */
  retain(named: ReadonlySet<string>): void {
    this.room.retain(named);
    for (const name of [...this.waiting.keys()]) if (!named.has(name)) this.settled(name);
  }

  /** Applies `m`'s shadow: 'waits' when its candidate waits for room (the document is applied again later). */
  async apply(m: DesiredModel, retried = false): Promise<'waits' | void> {
    const runner = this.d.shadow;
    if (!runner) return;
    const s = m.shadow;
    if (!s || s.version === m.version) {
      this.settled(m.name);
      await runner.clear(m.name);
      return;
    }
    const settings = { sampleRate: s.sampleRate, tolerance: s.tolerance, threshold: s.threshold, replay: s.replay };
    if (runner.current(m.name)?.version === s.version) {
      this.settled(m.name);
      runner.configure(m.name, settings);
      return;
    }
    // Refused for a full disk before: tried again once there is room (or its wait is over).
    if (this.room.holds(m.name, s.version)) return 'waits';
    try {
      if (s.contentKey) this.d.manager.rememberKey(s.contentKey);
      await this.fetched(() => fetchInstall(this.d, { name: m.name, ...s }));
      const v = await this.d.manager.loadInstalled(m.name, s.version);
      await runner.set(m.name, v, settings);
      this.settled(m.name);
      this.d.emit({ kind: 'installed', model: m.name, version: s.version, message: s.replay !== undefined ? `${m.name}@${s.version} loaded beside ${m.version} to replay up to ${s.replay} recent requests` : `${m.name}@${s.version} runs in shadow beside ${m.version} on ${s.sampleRate} of requests`, data: { shadow: true, sampleRate: s.sampleRate, ...(s.replay !== undefined ? { replay: s.replay } : {}) } });
    } catch (err) {
      const e = toAppError(err);
      await runner.clear(m.name);
      if (e.code === 'DISK_FULL' && !retried && !this.stopped() && (await this.makeRoom(`room for the shadow candidate ${m.name}@${s.version}`))) return this.apply(m, true);
      if (e.code === 'DISK_FULL' && !this.stopped()) {
        const { diskWait, message } = refusedForRoom(this.d, this.room, { name: m.name, version: s.version, bundle: s.bundle }, e.message, true);
        this.waiting.set(m.name, { version: s.version, status: 'waiting_for_disk', reason: { code: 'DISK_FULL', message }, diskWait });
        this.d.changed();
        return 'waits';
      }
      this.settled(m.name);
      this.d.emit({ kind: 'error', model: m.name, version: s.version, code: e.code, message: `shadow ${m.name}@${s.version} not started: ${e.message}` });
    }
  }

  /** `name`'s candidate waits for room no more (running, failed otherwise, not named). */
  private settled(name: string): void {
    this.room.clear(name);
    if (this.waiting.delete(name)) this.d.changed();
  }
}
