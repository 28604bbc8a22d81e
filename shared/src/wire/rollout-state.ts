// A staged rollout as the hub reports it (GET /rollouts, GET /rollouts/{id}, the event stream; docs/rollouts.md):
// its state, each wave's devices, bake and gate results, and the devices it took. Requests are in rollout.ts.
import { z } from 'zod';
import { Count, IsoTime } from './common.js';
import { QueryCount } from './ids.js';
import { DeployTarget } from './deploy.js';
import { MaintenanceWindow } from './maintenance.js';
import { ConfigSubject, GateConfig, GateName, ShadowStage, Wave } from './rollout.js';

export const RolloutState = z.enum(['running', 'paused', 'completed', 'rolled_back', 'aborted']);
export type RolloutState = z.infer<typeof RolloutState>;
/** pending → deploying (fan-out at the rate cap) → baking → evaluating → passed | failed. */
/** `stopped`: the wave was under way (deploying, baking or evaluating) when its rollout was aborted or rolled back. */
/**
 * `skipped`: the wave had not started when its rollout was aborted or rolled back, and never will (shown by
 * the hub's view only: stored, it stays `pending`; docs/decisions/0118-a-wave-never-started-reads-skipped.md);
 * also a wave passed over by `promote --full` (stored so: docs/rollouts.md "Promoting to the full fleet").
 */
export const WaveState = z.enum(['pending', 'deploying', 'baking', 'evaluating', 'passed', 'failed', 'stopped', 'skipped']);
export type WaveState = z.infer<typeof WaveState>;

export const GateResult = z.object({
  name: GateName,
  value: z.number().nullable(),
  threshold: z.number(),
  verdict: z.enum(['pass', 'fail', 'pending']),
  /** Blocking gates decide the wave; input_drift is shown only. */
  blocking: z.boolean(),
  samples: z.object({ wave: Count, control: Count }),
  /** What the wave was compared with: control devices on the previous version, or the manifest reference. */
  against: z.enum(['control', 'reference', 'absolute']),
  note: z.string().optional(),
  /** Accepted by an operator for this wave (`promote` with `acceptGates`, docs/rollouts.md "Accepting a gate"): it no longer blocks the wave, whatever its verdict. */
  accepted: z.object({ by: z.string(), reason: z.string(), at: IsoTime }).optional(),
});
export type GateResult = z.infer<typeof GateResult>;

/**
 * The told devices of a wave that did not install its version (failed, refused the desired document, rolled
 * back on the device), recorded when the wave failed so that its rollback does not hide them: the first
 * ones by place, each with its deployment status and reason, and how many more (docs/rollouts.md "Gates").
 */
export const NotInstalledDevice = z.object({ deviceId: z.string(), status: z.enum(['failed', 'refused', 'rolled_back']), reason: z.string().nullable() });
export type NotInstalledDevice = z.infer<typeof NotInstalledDevice>;
export const NotInstalled = z.object({
  devices: z.array(NotInstalledDevice),
  more: Count,
});
export type NotInstalled = z.infer<typeof NotInstalled>;

/** Most devices a page of GET /rollouts/{id}/not-installed holds (?limit=, default 100). */
export const NOT_INSTALLED_PAGE_MAX = 1000;
export const NotInstalledQuery = z.object({ limit: QueryCount('limit', NOT_INSTALLED_PAGE_MAX).optional(), after: z.string().min(1).max(200).optional() }).strict();
export type NotInstalledQuery = z.infer<typeof NotInstalledQuery>;
/** GET /rollouts/{id}/not-installed: every told device of the wave that failed that did not install, by place; `next` is the ?after= of the following page. */
export const NotInstalledPage = z.object({ devices: z.array(NotInstalledDevice.extend({ place: z.number() })), next: z.string().nullable() });
export type NotInstalledPage = z.infer<typeof NotInstalledPage>;

export const RolloutWave = Wave.extend({
  /** Set on the shadow stage: its devices run the new version in shadow, not as active. */
  shadow: ShadowStage.optional(),
  state: WaveState,
  /** Devices of the target in this wave (its share, nested: earlier waves' devices included). */
  devices: Count,
  /** Of those, devices told to switch so far. */
  notified: Count,
  /** Of those told, devices that reported the new version active. */
  active: Count,
  startedAt: IsoTime.nullable(),
  bakeUntil: IsoTime.nullable(),
  /**
   * The current wave of a running rollout while its gates are judged: when it pauses if a blocking gate is
   * still pending then (gates.stuckSec after it began judging, or after a device last deferred); else absent.
   */
  pausesAt: IsoTime.optional(),
  gates: z.array(GateResult),
  /** Set on a wave an operator promoted to the full fleet (`promote --full`): once it passes, the last wave opens and the waves between read `skipped`. */
  full: z.object({ by: z.string(), reason: z.string(), at: IsoTime }).optional(),
  /** Set on a wave that failed with told devices not installed: which, and why. */
  notInstalled: NotInstalled.optional(),
});
export type RolloutWave = z.infer<typeof RolloutWave>;

export const RolloutDevice = z.object({
  deviceId: z.string(),
  place: z.number(),
  wave: z.string(),
  /** The model version it ran before; in a configuration rollout, the scope's document version (0: none). */
  previous: z.string().nullable(),
  notifiedAt: IsoTime.nullable(),
  /** Its deployment's status, or `not started`; `replaced`: its box enrolled again as another id and it is offline, out of the rollout (listed last, in no wave's count; docs/rollouts.md "Cohorts"). */
  status: z.string(),
  /**
   * Why, when its model deployment's row says (its first 160 characters): the hub holding the version back
   * (`BACKEND_UNSUPPORTED: …`, or waiting for the box's first state report), a refusal, a deferral; for `replaced`, by which id; absent else.
   */
  reason: z.string().optional(),
});
export type RolloutDevice = z.infer<typeof RolloutDevice>;

export const Rollout = z.object({
  id: z.string(),
  /** The model; `config:SCOPE` in a configuration rollout (then `config` says more). */
  model: z.string(),
  /** The model version; in a configuration rollout, the scope's new document version. */
  version: z.string(),
  /** The version most of the target ran when the rollout began (control devices run it). */
  fromVersion: z.string().nullable(),
  /** Set on a configuration rollout (docs/rollouts.md "Configuration rollouts"). */
  config: ConfigSubject.optional(),
  target: DeployTarget,
  advance: z.enum(['auto', 'manual']),
  onFailure: z.enum(['rollback', 'pause']),
  gates: GateConfig,
  window: MaintenanceWindow.optional(),
  /** Created with allowBackendMismatch: its devices get the version whatever their backend (RolloutCreate). */
  allowBackendMismatch: z.literal(true).optional(),
  state: RolloutState,
  /** The wave being worked on (index into waves). */
  currentWave: Count,
  reason: z.string(),
  /** Why the rollout is paused, completed, aborted or rolled back. */
  stateReason: z.string().nullable(),
  /** Who made the last state change (pause, resume, abort, rollback, completion): the operator's name, or `hub` for the engine's own; null before the first. */
  stateBy: z.string().nullable(),
  /** When that change was made. */
  stateAt: IsoTime.nullable(),
  createdBy: z.string(),
  created: IsoTime,
  updated: IsoTime,
  waves: z.array(RolloutWave),
  devices: z.array(RolloutDevice).optional(),
  /** With `devices`: how many the rollout has, when `?devices=N` listed fewer (the first N by place). */
  devicesTotal: Count.optional(),
});
export type Rollout = z.infer<typeof Rollout>;
/** The most devices one GET /rollouts/{id}?devices=N lists (without `devices`: all of them). */
export const ROLLOUT_DEVICES_MAX = 100_000;
/** GET /rollouts/{id}: `devices` lists at most that many devices, lowest places first (a console shows a page, not 10,000 rows). */
export const RolloutViewQuery = z.object({ devices: QueryCount('devices', ROLLOUT_DEVICES_MAX).optional() });
export type RolloutViewQuery = z.infer<typeof RolloutViewQuery>;
/** GET /rollouts: a page, newest first; `next` is the cursor to pass as `?before=` for the older page (CreatedCursor), null after the last. */
export const RolloutList = z.object({ rollouts: z.array(Rollout.omit({ devices: true })), next: z.string().nullable() });
export type RolloutList = z.infer<typeof RolloutList>;
