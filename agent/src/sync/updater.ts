// Applies an accepted desired-state document: for each model, download the bundle (blocks over MQTT),
// install it through the same path as `edgefleet-agent install` (verify signatures against trust,
// copy content-addressed, load + warm, swap). The policy guard (policy/guard.ts) watches the new version
// and rolls back locally on a breach; it tells the updater, which blocks the version for this document.
// Documents are applied one at a time; a newer document waiting replaces an older one that waits.
// A switch may be deferred (switch-gate.ts: the box's update lock, the model's maintenance window): the
// version is downloaded and verified at once, reported `deferred`, and the document is applied again when
// the lock goes or the window opens (checked at least every deferCheckMs), unless a newer one came.
// A download or install the disk refuses (DISK_FULL) blocks nothing: the version is reported
// `waiting_for_disk` and tried again by itself when there is room (disk-wait.ts, decision 0064), and so
// is a shadow candidate's (shadow-apply.ts), after the models the hub removed gave up their room.
// A document's `removed` entries stop serving those models (removals.ts); one it merely omits keeps serving.
// What it is given and the phases it reports: updater-deps.ts.
import { toAppError, type DesiredBody, type DesiredModel, type ReportedShadow } from '@edgefleet/shared';
import type { Breach, PolicyListener } from '../policy/guard.js';
import { SwitchDeferred, switchVerdict, type Deferral } from './switch-gate.js';
import { DiskWaits, refusedForRoom } from './disk-wait.js';
import { ShadowApplier } from './shadow-apply.js';
import { fetchInstall } from './fetch-install.js';
import { RemovalStep } from './removals.js';
import { DEFER_CHECK_MS, type ModelPhase, type UpdaterDeps } from './updater-deps.js';

export { DEFER_CHECK_MS, type ModelPhase, type UpdaterDeps } from './updater-deps.js';

export class Updater implements PolicyListener {
  /** Per model: what the updater is doing or why it last failed (for the reported state). */
  readonly phases = new Map<string, ModelPhase>();
  private running: Promise<void> | null = null;
  private next: DesiredBody | null = null;
  private stopped = false;
  /** The last document, when it has a deferred switch: applied again by recheck(). */
  private waiting: DesiredBody | null = null;
  private recheckTimer: NodeJS.Timeout | null = null;
  /** Versions refused for a full disk, waiting for room. */
  private readonly roomWaits: DiskWaits;
  /** The shadow candidates the documents name (shadow-apply.ts). */
  private readonly shadows: ShadowApplier;
  /** The document's removals, and forgetting removed models (removals.ts). */
  private readonly removed: RemovalStep | undefined;

  constructor(private readonly d: UpdaterDeps) {
    this.roomWaits = new DiskWaits(d.diskFree ?? (() => undefined), d.diskCheckMs, () => this.now());
    // A candidate the disk refuses gets the removed models' room first too (decision 0066), read lazily: `removed` comes next.
    this.shadows = new ShadowApplier(d, () => this.now(), (work) => this.fetched(work), () => this.stopped, async (why) => (await this.removed?.forgetAll(why)) ?? false);
    this.removed = d.removals && new RemovalStep({ ...d, removals: d.removals, now: () => this.now(), keepSec: d.removedKeepSec, checkMs: d.deferCheckMs ?? DEFER_CHECK_MS });
  }

  /** Per model: its shadow candidate while it waits for disk space (for the reported state). */
  get shadowWaits(): ReadonlyMap<string, ReportedShadow> {
    return this.shadows.waiting;
  }

  private now(): number {
    return this.d.now ? this.d.now() : Date.now();
  }

  /** Looks at a deferred switch or a version waiting for room again now (the lock changed; the timer). A newer document waiting wins. */
  recheck(): void {
    const doc = this.waiting;
    if (!doc || this.stopped || this.next) return;
    this.apply(doc).catch((err: unknown) => this.d.onError(err, 'looking at a deferred switch again'));
  }

  /** Models whose switch is deferred now, with why and until when. */
  deferred(): Array<{ model: string; version: string; code: string; message: string; until: string | null }> {
    return [...this.phases].flatMap(([model, p]) => (p.status === 'deferred' ? [{ model, version: p.target, code: p.reason?.code ?? '', message: p.reason?.message ?? '', until: p.until ?? null }] : []));
  }

  /** Queues `doc`; resolves when the queue is empty. Never rejects: failures go to onError. */
  apply(doc: DesiredBody): Promise<void> {
    this.next = doc;
    if (!this.running) {
      this.running = this.loop()
        .catch((err: unknown) => this.d.onError(err, `applying desired document ${doc.seq}`))
        .finally(() => {
          this.running = null;
        });
    }
    return this.running;
  }

  stop(): void {
    this.stopped = true;
    this.next = null;
    this.waiting = null;
    this.clearRecheck();
    this.removed?.stop();
  }

  private clearRecheck(): void {
    if (this.recheckTimer) clearTimeout(this.recheckTimer);
    this.recheckTimer = null;
  }

  /**
   * Looks again when the earliest deferral may end, and at least every deferCheckMs (the clock may jump);
   * with a version waiting for room, at least every diskCheckMs.
   */
  private scheduleRecheck(): void {
    this.clearRecheck();
    const now = this.now();
    const untils = [...this.phases.values()].flatMap((p) => (p.status === 'deferred' && p.until ? [Date.parse(p.until) - now] : []));
    const ms = Math.min(this.d.deferCheckMs ?? DEFER_CHECK_MS, this.roomWaits.size + this.shadows.roomWaits ? this.roomWaits.checkMs : Infinity, ...untils.map((u) => Math.max(100, u)));
    this.recheckTimer = setTimeout(() => {
      this.recheckTimer = null;
      this.recheck();
    }, ms);
    this.recheckTimer.unref();
  }

  /** Resolves when no document is being applied (after stop(): when the current step ended). */
  async idle(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  private async loop(): Promise<void> {
    while (this.next && !this.stopped) {
      const doc = this.next;
      this.next = null;
      this.waiting = null;
      this.clearRecheck();
      // A switch deferred (or a version waiting for room) under an older document that this one no longer
      // asks for is not waiting any more.
      const named = new Set(doc.models.map((m) => m.name));
      for (const [name, p] of [...this.phases]) if ((p.status === 'deferred' || p.status === 'waiting_for_disk') && !named.has(name)) this.setPhase(name, undefined);
      this.roomWaits.retain(named);
      this.shadows.retain(named);
      // Removals first: a version of this document that waits for room gets theirs.
      for (const r of doc.removed ?? []) if (!named.has(r.name)) this.setPhase(r.name, undefined);
      await this.removed?.apply(doc);
      let waits = false;
      for (const m of doc.models) {
        if (this.stopped) return;
        if ((await this.applyModel(doc.seq, m)) === 'waits') waits = true;
        if ((await this.shadows.apply(m)) === 'waits') waits = true;
      }
      if (waits && !this.next && !this.stopped) {
        this.waiting = doc;
        this.scheduleRecheck();
      }
      // A model the document no longer names runs no shadow either.
      for (const name of this.d.shadow?.names() ?? []) if (!named.has(name)) await this.d.shadow?.clear(name);
      if (!this.stopped && !this.next) this.pruneDownloads(doc);
    }
  }

  /** Downloads of bundles this document does not name leave the disk (BlobDownloader.prune). */
  private pruneDownloads(doc: DesiredBody): void {
    const keep = new Set(doc.models.flatMap((m) => [m.bundle.sha256, ...(m.shadow ? [m.shadow.bundle.sha256] : [])]));
    try {
      this.d.downloader.prune(keep);
    } catch (err) {
      this.d.onError(err, 'removing downloads no longer asked for');
    }
  }

  private setPhase(name: string, p: ModelPhase | undefined): void {
    this.showPhase(name, p, true);
  }

  /** `notify`: a state report should show it now (else it goes with the next one). */
  private showPhase(name: string, p: ModelPhase | undefined, notify: boolean): void {
    if (p) this.phases.set(name, p);
    else this.phases.delete(name);
    if (notify) this.d.changed();
  }

  /** Applies one model of document `seq`; 'waits' when its switch is deferred or it waits for room. */
  private async applyModel(seq: number, m: DesiredModel, retried = false): Promise<'waits' | void> {
    const { manager, models, store, emit } = this.d;
    // The content key of a sealed bundle, sealed to this box: kept for every later load, also when the
    // version already runs (a re-sealed key after this box's device key changed).
    if (m.contentKey) {
      try {
        manager.rememberKey(m.contentKey);
      } catch (err) {
        this.d.onError(err, `keeping the content key of ${m.name}@${m.version}`);
      }
    }
    const active = models.getActive(m.name);
    if (active?.active === m.version) {
      this.roomWaits.clear(m.name);
      // A version that did not load at start loads now (its key sealed to this box's new device key came),
      // or is reported failed with the reason rather than active.
      try {
        await manager.loadIfNotServed(m.name);
      } catch (err) {
        if (!retried && (await this.repaired(m))) return this.applyModel(seq, m, true);
        const e = toAppError(err);
        this.setPhase(m.name, { status: 'failed', target: m.version, reason: { code: e.code, message: e.message } });
        return;
      }
      if (this.phases.get(m.name)?.status !== 'rolled_back') this.setPhase(m.name, undefined);
      return;
    }
    const blocked = store.blocked(m.name, m.version, seq);
    if (blocked) {
      this.setPhase(m.name, { status: 'rolled_back', target: m.version, reason: { code: 'VERSION_BLOCKED', message: `not retried until the hub sends a newer desired document (it failed or was rolled back here): ${blocked}` } });
      return;
    }
    // Refused for a full disk before: tried again once there is room (or its wait is over).
    if (this.roomWaits.holds(m.name, m.version)) return 'waits';
    try {
      await this.fetched(() => fetchInstall(this.d, m, (p, notify) => this.showPhase(m.name, p, notify)));
      this.roomWaits.clear(m.name);
      // A switch under a running version waits for the update lock and the maintenance window; a first
      // install (nothing served yet) does not. Asked again once the version is loaded, just before the
      // switch commits: a lock an app took while it loaded (an answer of 200 to its POST) holds it too.
      const verdict = () => switchVerdict({ window: m.maintenance, lock: this.d.lock?.() ?? null, now: this.now() });
      const first = active ? verdict() : ({ ok: true } as const);
      if (!first.ok) return this.defer(m, first);
      this.setPhase(m.name, { status: 'activating', target: m.version, progress: 1 });
      emit({ kind: 'activating', model: m.name, version: m.version, message: `activating ${m.name}@${m.version}`, data: { progress: 1 } });
      const gate = () => {
        const v = verdict();
        if (!v.ok) throw new SwitchDeferred(v);
      };
      try {
        await manager.activate(m.name, m.version, 'desired state', 'hub', active ? gate : undefined);
      } catch (err) {
        if (err instanceof SwitchDeferred) return this.defer(m, err.verdict);
        throw err;
      }
      emit({ kind: 'activated', model: m.name, version: m.version, message: `${m.name}@${m.version} is active`, data: { progress: 1, seq } });
      this.setPhase(m.name, undefined);
    } catch (err) {
      // A stop (SIGTERM, a restart) aborts the download or install under way: that is no failure of the
      // version. Nothing is blocked or reported; the next start applies the document again and the
      // download resumes from its last commit (docs/agent.md "Connecting to a hub").
      if (this.stopped) return;
      // Its stored files rotted (a switch checks them): fetched again once, then switched to.
      if (!retried && (await this.repaired(m))) return this.applyModel(seq, m, true);
      const e = toAppError(err);
      if ((e.details as { hubRefused?: string } | undefined)?.hubRefused === 'NOT_FOUND') {
        // The hub no longer assigns this blob to the box: a newer deployment replaced this one while it
        // downloaded, and its desired document is on the way. Superseded, not failed: nothing is
        // blocked or reported as an install failure; the partial file stays for a later resume.
        this.setPhase(m.name, undefined);
        return;
      }
      // Removed models are forgotten before any wait for room begins (decision 0066), and the version tried again.
      if (e.code === 'DISK_FULL' && !retried && (await this.removed?.forgetAll(`room for ${m.name}@${m.version}`))) return this.applyModel(seq, m, true);
      if (e.code === 'DISK_FULL') return this.waitForRoom(m, e.message);
      this.roomWaits.clear(m.name);
      store.block(m.name, m.version, seq, `${e.code}: ${e.message}`);
      this.setPhase(m.name, { status: 'failed', target: m.version, reason: { code: e.code, message: e.message } });
      emit({ kind: 'install_failed', model: m.name, version: m.version, code: e.code, message: e.message });
    }
  }

  /**
   * When `m`'s installed files no longer match their sha256 (bit rot, a deleted file: found at start or by
   * a switch), fetches the bundle from the hub again and installs it over them: true when it did. A box
   * whose only version rotted served nothing until an operator reinstalled it by hand (docs/agent.md
   * "Bit rot"). A failure of the repair is reported as the version's (false).
   */
  private async repaired(m: DesiredModel): Promise<boolean> {
    const rotten = await this.d.manager.rotten(m.name, m.version).catch(() => []);
    if (!rotten.length || this.stopped) return false;
    this.d.emit({ kind: 'bit_rot', model: m.name, version: m.version, code: 'HASH_MISMATCH', message: `${m.name}@${m.version}: ${rotten.join(', ')} no longer match their sha256: fetching the bundle from the hub again`, data: { files: rotten } });
    try {
      await this.fetched(() => fetchInstall(this.d, m, (p, notify) => this.showPhase(m.name, p, notify), true));
      return true;
    } catch (err) {
      this.d.onError(err, `fetching ${m.name}@${m.version} again over its rotten files`);
      return false;
    }
  }

  /** The switch to `m` waits for the update lock or the maintenance window (`v`): the state says so. */
  private defer(m: DesiredModel, v: Deferral): 'waits' {
    const until = v.until === null ? null : new Date(v.until).toISOString();
    const cur = this.phases.get(m.name);
    if (cur?.status !== 'deferred' || cur.target !== m.version || cur.until !== until || cur.reason?.code !== v.code) {
      this.setPhase(m.name, { status: 'deferred', target: m.version, progress: 1, reason: { code: v.code, message: v.message }, until });
    }
    return 'waits';
  }

  /**
   * The disk refused `m`'s download or install: not the version's failure, so nothing is blocked; the
   * state says `waiting_for_disk` with the room needed and free, and recheck() tries again (disk-wait.ts).
   */
  private waitForRoom(m: DesiredModel, cause: string): 'waits' {
    const { diskWait, message } = refusedForRoom(this.d, this.roomWaits, { name: m.name, version: m.version, bundle: m.bundle }, cause, false);
    this.setPhase(m.name, { status: 'waiting_for_disk', target: m.version, reason: { code: 'DISK_FULL', message }, diskWait });
    return 'waits';
  }

  /** A download and install, its full-disk outcome noted (disk-full.ts). */
  private fetched(work: () => Promise<void>): Promise<void> {
    return this.d.disk ? this.d.disk.run('model downloads', work) : work();
  }

  /** The policy guard found a breach: the current document does not install this version again. */
  policyBreached(b: Breach): void {
    this.d.store.block(b.model, b.version, this.d.store.lastAppliedSeq(), b.reason);
  }

  /** The policy guard rolled back (or could not): the reported state says why. */
  policyRolledBack(b: Breach, rolledBack: boolean): void {
    if (rolledBack) this.setPhase(b.model, { status: 'rolled_back', target: b.version, reason: { code: 'POLICY_BREACH', message: b.reason } });
    else this.d.changed();
  }
}
