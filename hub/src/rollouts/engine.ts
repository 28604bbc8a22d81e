// The rollout engine (docs/rollouts.md): a part with start()/stop() that steps every running rollout on a
// timer. Each step places devices that joined the target, tells the next devices of the open waves to
// switch (at most desiredPerMinute documents a minute across the hub, ticks jittered), and moves the
// current wave along pending → deploying → baking → evaluating → passed | failed. Every transition is
// stored with its audit entry (the numbers that caused it) in one transaction, so a hub killed at any
// point resumes from hub.db exactly where it was.
import { LogThrottle } from '../log-throttle.js';
import type { AuditAction, ConfigRolloutCreate, RingTags, RolloutCreate, RolloutPreview, RolloutPreviewRequest } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import type { RolloutRecord } from '../store/rollouts-repo.js';
import type { DeploymentService } from '../deployments/service.js';
import type { LoggerPort } from '../mqtt/ports.js';
import type { Clock } from '../clock.js';
import type { GateData } from './gate-data.js';
import { heldByOthers, planRollout, placeDevice, previewRollout, ringTagsOf, targetDevices } from './plan.js';
import { waveOf } from './cohort.js';
import { cutTimesAhead } from './clock-step.js';
import { finishVerdict, judgeWave } from './judge.js';
import { act, view, type ActOptions, type RolloutActionName } from './actions.js';
import { type Rollout, type RolloutList, type RolloutListQuery } from '@edgefleet/shared';
import { ConfigService } from '../config/service.js';
import { configDevice, planConfigRollout } from './config-rollout.js';
import { tellDevices } from './tell.js';
import { pauseIfNotSendable } from './trust-pause.js';

export interface RolloutOptions {
  /** How often running rollouts are stepped. */
  tickMs: number;
  /** Desired documents a minute, across all rollouts of the hub. */
  desiredPerMinute: number;
  /** Each tick's interval varies by up to this share either way, so batches do not beat in step. */
  jitter: number;
  /** Every rollout must start with a staging ring selecting these tags (docs/rollouts.md "Staging rings"). */
  requireStagingRing?: RingTags | undefined;
}

/** The transitions whose actor the rollout keeps as `stateBy` (shown with the state: who paused it, who rolled it back). */
const STATE_CHANGES: ReadonlySet<AuditAction> = new Set(['rollout.paused', 'rollout.resumed', 'rollout.aborted', 'rollout.rolled_back', 'rollout.completed']);

export const DEFAULT_ROLLOUT_OPTIONS: RolloutOptions = { tickMs: 5_000, desiredPerMinute: 600, jitter: 0.2 };

export interface RolloutEngineDeps {
  store: Store;
  deployments: DeploymentService;
  gateData: GateData;
  clock: Clock;
  logger: LoggerPort;
  options?: Partial<RolloutOptions>;
  random?: () => number;
  /**
   * Several hubs (docs/hub.md "Several hubs"): steps run only while this returns true (this hub holds the
   * lease); on the other hubs create() and actions store their change and the holder steps it.
   */
  leader?: () => boolean;
  /** Throws unless this hub still holds the lease; called inside each step's write transactions. */
  fence?: () => void;
  /** The hub's configuration service, with its limits (maxPayloadBytes); default one without them. */
  config?: ConfigService;
}

export interface Actor {
  name: string;
  id?: string | null;
}

export class RolloutEngine {
  readonly opts: RolloutOptions;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;
  /** Documents that may go out now (refilled by elapsed time, capped at one tick's worth and at least 1). */
  private tokens = 0;
  private refilledAt = 0;
  /** Failed steps (a database that is down) logged once a minute while they repeat. */
  private readonly failures: LogThrottle;

  constructor(private readonly deps: RolloutEngineDeps) {
    this.opts = { ...DEFAULT_ROLLOUT_OPTIONS, ...deps.options };
    this.failures = new LogThrottle(() => deps.clock.now().getTime());
  }

  start(): Promise<void> {
    this.stopped = false;
    this.refilledAt = this.deps.clock.now().getTime();
    this.tokens = Math.max(1, this.burst() / 2);
    this.schedule();
    return Promise.resolve();
  }

  /** Stops the timer and waits for a step in progress (its publishes are bounded by the link's own deadlines). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Stores a rollout (with its audit entry) and steps it at once. */
  async create(req: RolloutCreate, actor: Actor): Promise<RolloutRecord> {
    const { store, clock } = this.deps;
    const now = clock.now();
    const { record, devices } = planRollout(store, req, actor.name, now, this.opts.requireStagingRing);
    // A sealed version without its content key would leave every wave's devices unable to load it.
    this.deps.deployments.requireContentKey(req.model, req.version);
    await this.deps.deployments.requireTrusted(req.model, req.version);
    store.db.transaction(() => {
      store.rollouts.create(record);
      for (const d of devices) store.rollouts.addDevice(record.id, d);
      store.audit.append({
        actor: actor.name, actorId: actor.id ?? null, action: 'rollout.create', target: record.id, reason: req.reason, at: now,
        details: { model: record.model, version: record.version, fromVersion: record.fromVersion, target: record.target, devices: devices.length, waves: record.waves, gates: record.gates, window: record.window, advance: record.advance, onFailure: record.onFailure, ...(record.allowBackendMismatch ? { allowBackendMismatch: true } : {}) },
      });
    })();
    await this.tick();
    return store.rollouts.get(record.id);
  }

  /**
   * A configuration rollout (config-rollout.ts): stores the scope's new document version, the rollout and
   * both audit entries in one transaction (every device is held at the previous version until its wave is
   * told), then steps it at once.
   */
  async createConfig(req: ConfigRolloutCreate, actor: Actor): Promise<RolloutRecord> {
    const { store, clock } = this.deps;
    const now = clock.now();
    const config = this.deps.config ?? new ConfigService(store);
    const { record, devices, scope } = planConfigRollout(store, config, req, actor.name, now, this.opts.requireStagingRing);
    const c = record.config!;
    store.db.transaction(() => {
      store.rollouts.create(record);
      for (const d of devices) store.rollouts.addDevice(record.id, d);
      const before = config.document(scope).settings;
      const put = config.put(scope, req.settings, actor.name, `rollout ${record.id}: ${req.reason}`, now, true);
      if (put.version !== c.version) throw new Error(`configuration version ${put.version} stored, ${c.version} planned`);
      store.audit.append({ actor: actor.name, actorId: actor.id ?? null, action: 'config.set', target: c.scope, reason: req.reason, at: now, details: { version: c.version, before, after: req.settings, devices: 0, rollout: record.id } });
      store.audit.append({
        actor: actor.name, actorId: actor.id ?? null, action: 'rollout.create', target: record.id, reason: req.reason, at: now,
        details: { config: c, target: record.target, devices: devices.length, waves: record.waves, gates: record.gates, advance: record.advance, onFailure: record.onFailure },
      });
    })();
    await this.tick();
    return store.rollouts.get(record.id);
  }

  /** Which devices each wave of `req` would take (nothing stored; create with the answered id to get them). */
  async preview(req: RolloutPreviewRequest, actor: Actor): Promise<RolloutPreview> {
    const preview = previewRollout(this.deps.store, req, actor.name, this.deps.clock.now(), this.opts.requireStagingRing);
    this.deps.deployments.requireContentKey(req.model, req.version);
    await this.deps.deployments.requireTrusted(req.model, req.version);
    return preview;
  }

  /** An operator action with its reason (actions.ts). */
  act(id: string, action: RolloutActionName, reason: string, actor: Actor, opts?: ActOptions): Promise<RolloutRecord> {
    return act(this, this.deps, id, action, reason, actor, opts);
  }

  /** `deviceLimit`: list at most that many devices, lowest places first (`devicesTotal` then says how many there are). */
  view(id: string, withDevices = true, deviceLimit?: number): Rollout {
    return view(this.deps.store, this.deps.store.rollouts.get(id), withDevices, deviceLimit);
  }

  /** A page of rollouts, newest first, and the cursor of the older page (GET /rollouts). */
  list(q: RolloutListQuery): RolloutList {
    const page = this.deps.store.rollouts.list(q);
    return { rollouts: page.rollouts.map((r) => view(this.deps.store, r, false)), next: page.next };
  }

  /**
   * Waits until no step is in progress. An operator action calls it first and then loads, changes and
   * saves the rollout without yielding, so a step never saves a rollout it loaded before the action.
   */
  async settle(): Promise<void> {
    while (this.running) await this.running.catch(() => undefined);
  }

  /** One step of every running rollout (also called by tests with a manual clock). */
  tick(): Promise<void> {
    if (this.deps.leader && !this.deps.leader()) return this.running ?? Promise.resolve();
    this.running ??= this.stepAll().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private burst(): number {
    return (this.opts.desiredPerMinute * this.opts.tickMs * (1 + this.opts.jitter)) / 60_000;
  }

  private schedule(): void {
    if (this.stopped) return;
    const r = this.deps.random ?? Math.random;
    const ms = this.opts.tickMs * (1 + this.opts.jitter * (2 * r() - 1));
    this.timer = setTimeout(() => {
      this.tick().catch((err: unknown) => this.failures.error(this.deps.logger, err, 'stepping rollouts failed')).finally(() => this.schedule());
    }, ms);
    this.timer.unref();
  }

  private async stepAll(): Promise<void> {
    const now = this.deps.clock.now();
    const t = now.getTime();
    // Refilled by the time that passed; capped at one step's worth, or at what accrued when a step ran
    // longer than tickMs (a slow step must not lower the rate below the cap).
    const accrued = (Math.max(0, t - this.refilledAt) * this.opts.desiredPerMinute) / 60_000;
    this.tokens = Math.min(Math.max(1, this.burst(), accrued), this.tokens + accrued);
    this.refilledAt = t;
    for (const r of this.deps.store.rollouts.active()) {
      if (r.state !== 'running') continue;
      try {
        await this.step(r.id, now);
      } catch (err) {
        this.deps.logger.error({ err, rollout: r.id }, 'rollout step failed');
      }
    }
  }

  private audit(r: RolloutRecord, action: AuditAction, reason: string | null, details: object, now: Date, actor: Actor = { name: 'hub' }): void {
    this.deps.store.audit.append({ actor: actor.name, actorId: actor.id ?? null, action, target: r.id, reason, details: { model: r.model, version: r.version, ...(r.config ? { config: r.config } : {}), wave: r.waves[r.currentWave]?.name ?? null, ...details }, at: now });
  }

  /** Saves the rollout and its audit entry together. */
  transition(r: RolloutRecord, action: AuditAction, reason: string | null, details: object, now: Date, actor?: Actor): void {
    r.updatedAt = now.toISOString();
    if (STATE_CHANGES.has(action)) {
      r.stateBy = actor?.name ?? 'hub';
      r.stateAt = r.updatedAt;
    }
    this.deps.store.db.transaction(() => {
      if (!actor) this.deps.fence?.(); // the hub's own step; an operator's action is stored on any hub
      this.deps.store.rollouts.save(r);
      this.audit(r, action, reason, details, now, actor);
    })();
  }

  private async step(id: string, now: Date): Promise<void> {
    const { store } = this.deps;
    const r = store.rollouts.get(id);
    // Devices that joined the target (enrolled, re-tagged) take their place, but not one another active
    // rollout of the model (of a configuration rollout: any other configuration rollout) holds: it joins
    // once that one has ended (plan.ts heldByOthers).
    const known = new Set(store.rollouts.devices(id).map((d) => d.deviceId));
    let joined = targetDevices(store, r.target).filter((d) => !known.has(d));
    if (joined.length) {
      const held = heldByOthers(store, r);
      joined = joined.filter((d) => !held.has(d));
    }
    const row = (d: string) => (r.config ? configDevice(id, d, r.config.fromVersion) : placeDevice(store, id, r.model, d));
    if (joined.length) store.db.transaction(() => { for (const d of joined) store.rollouts.addDevice(id, row(d)); })();
    const devices = store.rollouts.devices(id);
    const waveIndex = waveOf(devices, r.waves, ringTagsOf(store, r.waves));
    const k = r.currentWave;
    const wave = r.waves[k];
    const p = r.progress[k];
    if (!wave || !p) return;
    if (cutTimesAhead(p, wave.bakeSec, now)) {
      this.deps.logger.warn({ rollout: id, wave: wave.name, bakeUntil: p.bakeUntil, evaluatingSince: p.evaluatingSince }, 'the hub clock went back: the wave\'s times ahead of it were cut to now');
      store.rollouts.save(r);
    }
    if (await finishVerdict(this, this.deps, r, now)) return;
    const members = devices.filter((d) => (waveIndex.get(d.deviceId) ?? Infinity) <= k);
    // A passed shadow stage waiting for promote (manual advance) tells nobody: passing marked its devices
    // not told, for the first wave to tell them to switch (docs/rollouts.md "Shadow stage").
    const due = wave.shadow && p.state === 'passed' ? [] : members.filter((d) => d.notifiedAt === null);
    // A version deprecated since, or one the hub's trust no longer accepts, reaches no more devices: the rollout pauses (trust-pause.ts).
    if (due.length && !r.config && (await pauseIfNotSendable(this, this.deps, r, now))) return;

    if (p.state === 'pending') {
      p.state = 'deploying';
      p.startedAt = now.toISOString();
      this.transition(r, 'rollout.wave_deploying', null, { devices: members.length, ...(wave.tags ? { tags: wave.tags } : { percent: wave.percent }) }, now);
    }
    await this.notify(r, k, due, now);
    const waiting = store.rollouts.devices(id).filter((d) => (waveIndex.get(d.deviceId) ?? Infinity) <= k && d.notifiedAt === null).length;
    if (p.state === 'deploying' && waiting === 0) {
      p.state = 'baking';
      p.bakeUntil = new Date(now.getTime() + wave.bakeSec * 1000).toISOString();
      this.transition(r, 'rollout.wave_baking', null, { devices: members.length, bakeSec: wave.bakeSec, bakeUntil: p.bakeUntil }, now);
    }
    if (p.state === 'baking' && p.bakeUntil && now.getTime() >= Date.parse(p.bakeUntil)) {
      p.state = 'evaluating';
      p.evaluatingSince = now.toISOString();
      this.transition(r, 'rollout.wave_evaluating', null, { devices: members.length }, now);
    }
    if (p.state === 'evaluating') await judgeWave(this, this.deps, r, now);
  }

  /** Tells up to the available budget of devices (lowest places first): stored, then published (tell.ts). */
  private async notify(r: RolloutRecord, k: number, due: ReadonlyArray<{ deviceId: string; previous: string | null }>, now: Date): Promise<void> {
    const n = Math.min(due.length, Math.floor(this.tokens));
    if (n <= 0) return;
    this.tokens -= n;
    await tellDevices(this.deps, r, k, due.slice(0, n), now);
  }
}
