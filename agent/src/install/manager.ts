// Installs, activates and rolls back model versions: the one place that changes
// which version is active. Order for every switch: (verify,) copy files, load
// and warm the new session, THEN commit the switch in one transaction, THEN
// swap it into the runtime; a failure at any step leaves the old version serving.
// Every load warms up on the bundle's samples; install also runs preflight
// (outputs vs expected, sample latency) before the commit (docs/agent.md). Loading the active
// versions at start and picking up another process's switch: load-active.ts. What it is built from
// and what an install returns: manager-deps.ts. What an install checks
// of a bundle before copying its files: admit.ts.
import { AppError, toAppError, type LoadedSample, type PreflightResult, type SealedKey } from '@edgefleet/shared/core';
import type { Manifest } from '@edgefleet/shared';
import type { Progress } from '@edgefleet/shared/cli';
import { loadWire } from '../wire.js';
import { ModelFiles } from './model-files.js';
import type { ActiveEntry } from '../store/models-repo.js';
import { admitBundle, storeBundleFiles, verifyForInstall } from './admit.js';
import type { LoadedVersion, ModelRuntime } from '../runtime/runtime.js';
import type { PausePoint } from './pause.js';
import { pruneVersions } from './prune.js';
import type { Origin, Removal } from '../store/removals-repo.js';
import { forgetModel, stopServing, type StopOutcome } from './removal.js';
import { checkFiles, hashMismatch, loadActiveAtStart, reconcileActive, rottenFiles, type FellBack } from './load-active.js';
import type { InstallResult, ModelManagerDeps, Switched } from './manager-deps.js';

export type { InstallResult, ModelManagerDeps, Switched } from './manager-deps.js';

export class ModelManager {
  private chain: Promise<unknown> = Promise.resolve();
  /** Models of which no version loaded at start (loadIfNotServed). */
  private readonly notLoaded = new Set<string>();
  /** Models whose start served the previous version (load-active.ts): undoFallback puts the active one back. */
  readonly fellBack = new Map<string, FellBack>();
  readonly files: ModelFiles;

  constructor(private readonly d: ModelManagerDeps) {
    this.files = new ModelFiles(d);
  }

  /** Runs operations one at a time. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Keeps a content key sealed to this box (from a desired document) for the versions that need it. */
  rememberKey(sealed: SealedKey): void {
    this.d.contentKeys.put(sealed);
  }

  /**
   * `sealedKey`: the content key of an encrypted bundle, sealed to this box (`install --key`); it is
   * opened before any file is copied, and kept (sealed) only once the install succeeded. `diskFullIsWait`:
   * a full disk (DISK_FULL) records no `install_failed` event, the caller reports the wait for room (the
   * updater: docs/decisions/0064-full-disk-is-not-a-failed-install.md). `progress`: bars over the verify and the
   * copy, a note for the load (the CLI's on a terminal, docs/cli.md "Progress").
   */
  install(bundlePath: string, opts: { activate?: boolean; sealedKey?: SealedKey; diskFullIsWait?: boolean; progress?: Progress } = {}): Promise<InstallResult> {
    return this.serial(async () => {
      const activate = opts.activate ?? true;
      // Bundle verification and the trust document need the wire schemas (loaded on first install).
      const wire = await loadWire();
      const trust = this.d.trust.get();
      if (!trust) throw new AppError('UNTRUSTED_KEY', 'no trust document: provision one first with "edgefleet-agent trust set trust.json"');
      let name: string | undefined;
      let version: string | undefined;
      try {
        const b = await verifyForInstall(wire, bundlePath, trust.signed, opts.progress);
        const m = b.manifest;
        name = m.name;
        version = m.version;
        admitBundle(this.d, trust.signed, b, opts.sealedKey);
        const key = m.encryption ? this.files.contentKey(m, opts.sealedKey) : undefined;
        await storeBundleFiles(this.d, wire, bundlePath, b, () => this.pauseAt('install:before-rename'), opts.progress);
        opts.progress?.note?.(`loading ${m.name}@${m.version} with onnxruntime and running its preflight`);
        const samples = await this.files.samples(m, key);
        const loaded = await this.d.runtime.load(m, await this.files.model(m, key), samples);
        let active: ActiveEntry | undefined;
        let pf: PreflightResult | undefined;
        try {
          pf = await this.d.runtime.preflight(loaded, samples);
          await this.pauseAt('install:before-commit');
          active = this.d.models.transaction(() => {
            if (opts.sealedKey) this.d.contentKeys.put(opts.sealedKey);
            this.d.models.addVersion({ name: m.name, version: m.version, manifest: m, manifestSha256: b.manifestSha256, signatures: b.signatures });
            if (pf) this.d.models.setPreflight(m.name, m.version, { ...pf, at: new Date().toISOString() });
            const entry = activate ? this.d.models.setActive(m.name, m.version) : this.d.models.getActive(m.name);
            // With the switch, in the same transaction: a daemon that sees the switch sees why (policy/guard.ts).
            this.d.events.add({ kind: activate ? 'activated' : 'installed', model: m.name, version: m.version, message: activate ? `installed and activated ${m.name}@${m.version}` : `installed ${m.name}@${m.version} (not activated)`, data: { activated: activate, ...(pf ? { preflight: pf } : {}) } });
            return entry;
          });
        } catch (err) {
          await this.d.runtime.discard(loaded);
          throw err;
        }
        await this.pauseAt('install:after-commit');
        await this.adopt(loaded, activate);
        if (activate && active) this.switched({ name: m.name, version: m.version, previous: active.previous, reason: 'install' });
        this.d.logger.info({ model: m.name, version: m.version, activated: activate }, 'installed');
        this.pruneNext(m.name);
        return { name: m.name, version: m.version, manifestSha256: b.manifestSha256, activated: activate, active, preflight: pf };
      } catch (err) {
        const e = toAppError(err); // a full disk is DISK_FULL, an unwritable data dir IO_ERROR
        if (e.code === 'DISK_FULL' && opts.diskFullIsWait) throw e;
        this.d.events.add({ kind: 'install_failed', model: name, version, code: e.code, message: e.message, data: { bundle: bundlePath } });
        throw e;
      }
    });
  }

  /**
   * Switches to an installed version (verifying its files and loading it first). `gate`, once the version
   * is loaded and warm, just before the switch commits: it throws to call the switch off and the new
   * session is released (the update lock taken while the version loaded, sync/updater.ts).
   */
  activate(name: string, version: string, reason = 'activate', origin: Origin = 'local', gate?: () => void): Promise<ActiveEntry> {
    return this.serial(async () => {
      const v = this.d.models.getVersion(name, version);
      if (!v) {
        const have = this.d.models.listVersions(name).map((x) => x.version);
        throw new AppError('NOT_FOUND', have.length ? `model "${name}" has no installed version "${version}": expected one of [${have.join(', ')}]` : noSuchModel(this.d.models.listVersions(), name));
      }
      await checkFiles(this.d, v.manifest);
      const loaded = await this.load(v.manifest, true);
      let entry: ActiveEntry;
      try {
        await this.pauseAt('activate:loaded');
        gate?.();
        // The switch and its event commit together: a daemon that sees the switch (reconcile) also
        // sees whether it was a rollback (the policy guard watches forward switches only).
        entry = this.d.models.transaction(() => {
          const e = this.d.models.setActive(name, version, origin);
          // A rollback event names the version rolled back *from* (what the hub's deployment tracks).
          const rolledFrom = e.previous;
          if (reason === 'rollback' && rolledFrom) {
            this.d.events.add({ kind: 'rolled_back', model: name, version: rolledFrom, message: `rollback: ${name} now serves ${version} instead of ${rolledFrom}`, data: { to: version } });
          } else {
            this.d.events.add({ kind: 'activated', model: name, version, message: `${reason}: ${name} now serves ${version} (previous ${e.previous ?? 'none'})` });
          }
          return e;
        });
      } catch (err) {
        await this.d.runtime.discard(loaded);
        throw err;
      }
      await this.adopt(loaded, true);
      this.switched({ name, version, previous: entry.previous, reason });
      this.pruneNext(name);
      return entry;
    });
  }

  /**
   * Loads and warms an installed version (files re-hashed first) without making it active: a candidate
   * run in shadow (agent/src/shadow/runner.ts). The caller owns the session (runtime.discard).
   */
  loadInstalled(name: string, version: string): Promise<LoadedVersion> {
    return this.serial(async () => {
      const v = this.d.models.getVersion(name, version);
      if (!v) throw new AppError('NOT_FOUND', `model "${name}" has no installed version "${version}"`);
      await checkFiles(this.d, v.manifest);
      return this.load(v.manifest, true);
    });
  }

  /** Swaps back to the previous version (`origin`: the policy guard passes the current one; store/removals-repo.ts). */
  async rollback(name: string, origin: Origin = 'local'): Promise<ActiveEntry> {
    const cur = this.d.models.getActive(name);
    if (!cur) throw new AppError('NOT_FOUND', this.d.models.listVersions(name).length ? `model "${name}" has no active version to roll back from` : noSuchModel(this.d.models.listVersions(), name));
    if (!cur.previous) throw new AppError('CONFLICT', `model "${name}" has no previous version to roll back to (active ${cur.active})`);
    return this.activate(name, cur.previous, 'rollback', origin);
  }

  /** The hub removed the model: it stops serving unless installed on the box (removal.ts). */
  removeFromHub(r: Removal): Promise<StopOutcome> {
    return this.serial(async () => stopServing(this.d, r));
  }

  /** Forgets a removed model's rows and files (removal.ts), the files' idle time judged by this manager's clock. */
  forget(name: string, why: string): Promise<{ removal: Removal; versions: string[] } | undefined> {
    return this.serial(() => forgetModel(this.d, name, why, this.d.now ? () => this.d.now!().getTime() : undefined));
  }

  /** At start: loads each active version, falling back to the previous one on bit rot (load-active.ts). */
  loadActive(): Promise<void> {
    return this.serial(async () => {
      const r = await loadActiveAtStart(this.d, (m) => this.load(m, true));
      for (const name of r.notLoaded) this.notLoaded.add(name);
      for (const [name, f] of r.fellBack) this.fellBack.set(name, f);
    });
  }

  /**
   * Loads `name`'s active version when the runtime does not serve it: it failed to load at start, e.g. its
   * content key was sealed to a device key this box no longer has, and a desired document brings the key
   * sealed to the new one. Not a switch: no listener is told. True when it was loaded.
   */
  loadIfNotServed(name: string): Promise<boolean> {
    return this.serial(async () => {
      const entry = this.d.models.getActive(name);
      // Only what failed at start: a switch another process committed is reconcile()'s (its listener is told).
      if (!this.notLoaded.has(name) || !entry || this.d.runtime.active(name)?.version === entry.active) return false;
      const v = this.d.models.getVersion(name, entry.active);
      if (!v) return false;
      this.d.runtime.activate(await this.load(v.manifest));
      this.notLoaded.delete(name);
      this.d.logger.info({ model: name, version: entry.active }, 'loaded: it did not load at start');
      return true;
    });
  }

  /**
   * The paths of `name`@`version`'s stored files that no longer match their sha256 (bit rot, a file
   * deleted); empty when the version is not installed. The updater fetches such a version again from the
   * hub (sync/updater.ts): an install replaces the rotten files and keeps the good ones.
   */
  rotten(name: string, version: string): Promise<string[]> {
    return this.serial(async () => {
      const v = this.d.models.getVersion(name, version);
      return v ? rottenFiles(this.d.blobs, v.manifest) : [];
    });
  }

  /** Daemon: picks up switches committed by another process (the CLI; load-active.ts). */
  reconcile(): Promise<void> {
    return this.serial(() => reconcileActive(this.d, (m) => this.load(m), (s) => this.switched(s)));
  }

  /**
   * Old versions of `name` and unused files leave the box (prune.ts) as the next operation: the caller of
   * an install or switch does not wait for it (settled() does).
   */
  private pruneNext(name: string): void {
    this.serial(() => pruneVersions({ models: this.d.models, blobs: this.d.blobs, logger: this.d.logger }, name)).catch(() => undefined); // it never throws
  }

  /** Resolves once every operation queued so far (installs, switches, the prunes after them) has ended. */
  settled(): Promise<void> {
    return this.chain.then(() => undefined);
  }

  private switched(s: Switched): void {
    if (!this.d.serving || !this.d.onSwitch) return;
    try {
      this.d.onSwitch(s);
    } catch (err) {
      // The switch is committed and serving: a listener's failure must not turn it into an error.
      this.d.logger.error({ err, model: s.name, version: s.version }, 'switch listener failed');
    }
  }

  /** The bundle's samples, read from the blob store (files are installed before any load). */
  samplesOf(m: Manifest): Promise<LoadedSample[]> {
    return this.files.samples(m);
  }

  /** `verified`: the files were re-hashed just before (a switch, the start), so a sealed one is not hashed twice. */
  private async load(m: Manifest, verified = false, runtime = this.d.runtime): Promise<LoadedVersion> {
    const key = m.encryption ? this.files.contentKey(m) : undefined;
    return runtime.load(m, await this.files.model(m, key, verified), await this.files.samples(m, key));
  }

  /**
   * Whether `name`'s active version (or `version`) loads in `runtime` (other settings than the serving one's: config-start.ts).
   * Rotten files fail it as they failed the start; the session is released at once. Undefined: it loads.
   */
  async loadsIn(name: string, runtime: ModelRuntime, version?: string): Promise<AppError | undefined> {
    const entry = this.d.models.getActive(name);
    const v = entry && this.d.models.getVersion(name, version ?? entry.active);
    if (!v) return new AppError('NOT_FOUND', `model "${name}" has no active version installed`);
    const rotten = await rottenFiles(this.d.blobs, v.manifest);
    if (rotten.length) return hashMismatch(v.manifest, rotten);
    try {
      await runtime.discard(await this.load(v.manifest, true, runtime));
      return undefined;
    } catch (err) {
      return toAppError(err);
    }
  }

  /** A start's fallback of `name` blamed on new runtime settings: the version it fell back from is active again (with the one it served as previous). */
  undoFallback(name: string): void {
    const f = this.fellBack.get(name);
    if (!f) return;
    this.d.models.setActivePair(name, f.from, f.to);
    this.d.events.add({ kind: 'activated', model: name, version: f.from, message: `${name}@${f.from} is active again: the fallback to ${f.to} at start was the new runtime settings' failure (refused)` });
    this.fellBack.delete(name);
  }

  private async adopt(loaded: LoadedVersion, activate: boolean): Promise<void> {
    if (activate && this.d.serving) this.d.runtime.activate(loaded);
    else await this.d.runtime.discard(loaded);
  }

  private async pauseAt(point: PausePoint): Promise<void> {
    if (this.d.pause) await this.d.pause(point);
  }
}

/** NOT_FOUND text for a model name no installed version has, naming the models that are (activate, rollback). */
function noSuchModel(installed: readonly { name: string }[], name: string): string {
  const names = [...new Set(installed.map((v) => v.name))].sort();
  return names.length ? `no model "${name}" is installed: expected one of [${names.join(', ')}]` : `no model "${name}" is installed: no model is (install a bundle first)`;
}
