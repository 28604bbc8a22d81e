// The updater's part of a hub's removal (docs/agent.md "Removed models",
// docs/decisions/0066-models-leave-a-box-by-an-explicit-removal.md): for each `removed` entry of an
// accepted desired document whose model the document does not name, the manager stops serving the model
// (install/removal.ts) unless its active version was installed on the box (a `removal_kept_local` event,
// once per entry). A removed model's files stay for sync.removedKeepSec, then it is forgotten; sooner
// when a version waiting for disk space needs the room (forgetAll, decision 0064). An entry for a model
// the box does not have asks nothing. A model a document merely omits keeps serving.
import { DEFAULT_REMOVED_KEEP_SEC, type DesiredBody } from '@edgefleet/shared';
import type { ModelManager } from '../install/manager.js';
import type { Removal, RemovalsRepo } from '../store/removals-repo.js';
import type { UpdaterDeps } from './updater.js';

export interface RemovalStepDeps extends Pick<UpdaterDeps, 'emit' | 'changed' | 'onError'> {
  manager: Pick<ModelManager, 'removeFromHub' | 'forget'>;
  removals: RemovalsRepo;
  /** The box's clock (ms). */
  now: () => number;
  /** sync.removedKeepSec now (read at each removal; default DEFAULT_REMOVED_KEEP_SEC). */
  keepSec?: (() => number) | undefined;
  /** Look at the kept removals at least this often (ms): the clock may jump. */
  checkMs: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class RemovalStep {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly d: RemovalStepDeps) {}

  /** Acts on `doc`'s removals, then forgets the removed models whose keep time is over. */
  async apply(doc: DesiredBody): Promise<void> {
    const { manager, removals, emit } = this.d;
    const named = new Set(doc.models.map((m) => m.name));
    for (const e of doc.removed ?? []) {
      // A model named again wins over its removal (the updater activates it).
      if (this.stopped || named.has(e.name)) continue;
      const now = this.d.now();
      const r = { name: e.name, seq: doc.seq, at: e.at, reason: e.reason, stoppedAt: iso(now), keepUntil: iso(now + (this.d.keepSec?.() ?? DEFAULT_REMOVED_KEEP_SEC) * 1000) };
      const res = await manager.removeFromHub(r);
      if (res.outcome === 'kept_local') {
        if (removals.noteKeptLocal(e.name, e.at)) {
          emit({ kind: 'removal_kept_local', model: e.name, message: `the hub removed ${e.name} (desired document seq ${doc.seq}, reason: ${JSON.stringify(e.reason)}), but its active version was installed on this box: it keeps serving`, data: { seq: doc.seq, at: e.at, reason: e.reason } });
        }
      } else if (res.outcome === 'removed') {
        emit({
          kind: 'model_removed', model: e.name, version: res.version, code: 'MODEL_REMOVED',
          message: `${e.name}@${res.version} is no longer served: the hub removed it (desired document seq ${doc.seq}, reason: ${JSON.stringify(e.reason)}); its files are kept until ${r.keepUntil}`,
          data: { seq: doc.seq, at: e.at, reason: e.reason, keepUntil: r.keepUntil, installed: res.installed },
        });
        this.d.changed();
      }
    }
    await this.forgetDue();
  }

  /** Forgets the removed models whose keep time is over; looks again when the next one's is, at most checkMs later. */
  async forgetDue(): Promise<void> {
    this.clearTimer();
    const now = this.d.now();
    try {
      for (const r of this.d.removals.list()) {
        if (this.stopped) continue;
        const stoppedAt = Date.parse(r.stoppedAt);
        if (stoppedAt > now) this.rebase(r, stoppedAt, now);
        else if (Date.parse(r.keepUntil) <= now) await this.forget(r.name, `kept until ${r.keepUntil} (sync.removedKeepSec)`);
      }
    } finally {
      this.schedule();
    }
  }

  /**
   * Serving stopped "after" now: the clock was ahead at the removal and has been set back. The keep time
   * runs again from now, as long as it was: kept by the stamp, the files would stay for as long as the
   * clock had been ahead (years for an RTC set wrong; docs/agent.md "Removed models").
   */
  private rebase(r: Removal, stoppedAt: number, now: number): void {
    this.d.removals.put({ ...r, stoppedAt: iso(now), keepUntil: iso(now + Math.max(0, Date.parse(r.keepUntil) - stoppedAt)) });
    this.d.changed();
  }

  /** Forgets every removed model now (`why`: a version waiting for disk space needs the room); true when one went. */
  async forgetAll(why: string): Promise<boolean> {
    let any = false;
    for (const r of this.d.removals.list()) if (!this.stopped && (await this.forget(r.name, why))) any = true;
    return any;
  }

  stop(): void {
    this.stopped = true;
    this.clearTimer();
  }

  private async forget(name: string, why: string): Promise<boolean> {
    const f = await this.d.manager.forget(name, why);
    if (!f) return false;
    this.d.emit({ kind: 'model_forgotten', model: name, message: `${name} forgotten (${why}): versions ${f.versions.join(', ') || 'none'} and the files no other version uses deleted`, data: { seq: f.removal.seq, versions: f.versions, why } });
    this.d.changed();
    return true;
  }

  private schedule(): void {
    const next = this.d.removals.list()[0];
    if (!next || this.stopped) return;
    const ms = Math.max(0, Math.min(this.d.checkMs, Date.parse(next.keepUntil) - this.d.now()));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.forgetDue().catch((err: unknown) => this.d.onError(err, 'forgetting removed models'));
    }, ms);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
