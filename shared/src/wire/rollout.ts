// REST bodies for staged rollouts (docs/rollouts.md): a model version walks waves of a target's devices,
// each wave judged by gates computed from the windows its devices upload against control devices still
// on the previous version. Defaults are exported so the hub, the CLI and the docs name the same numbers.
import { z } from 'zod';
import { Count, ModelName, SemVer } from './common.js';
import { DeployTarget } from './deploy.js';
import { MaintenanceWindowInput } from './maintenance.js';
import { RemoteSettingsSchema } from './agent-config.js';
import { PsiThreshold } from './drift.js';
import { MAX_REPLAY } from './desired.js';

/** The longest gates.deferTimeoutSec: a monthly window plus margin. */
export const DEFER_TIMEOUT_MAX_SEC = 35 * 86400;

/**
 * Upper bounds of the rollout numbers that had none (docs/rollouts.md "Gates"): far past any useful value,
 * so that a typo (an extra few zeros) is refused naming the field instead of making a wave that can never
 * pass, or a rollout that never pauses, and holds its devices from every other rollout.
 */
export const ROLLOUT_BOUNDS = {
  minPredictions: 100_000_000,
  minDevices: 1_000_000,
  latencyRatio: 100,
  latencySlackMs: 60_000,
  preflightP95Ms: 60_000,
  stuckSec: 30 * 86400,
  shadowMinSamples: 1_000_000,
} as const;

/** A whole number in [min, max]; every message says what was expected. */
const bounded = (what: string, min: number, max: number) => {
  const msg = `expected ${what} from ${min} to ${max}`;
  return z.number({ error: msg }).int(msg).min(min, msg).max(max, msg);
};

const WaveName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'expected a wave name of lowercase letters, digits, "-" or "_" (at most 32)');

/** Tags a staging ring selects devices by (each must match, as in a deployment target). */
export const RingTags = z.record(z.string().min(1).max(64), z.string().max(256))
  .refine((t) => Object.keys(t).length >= 1 && Object.keys(t).length <= 8, 'expected 1 to 8 tags, e.g. {"env": "staging"}');
export type RingTags = z.infer<typeof RingTags>;

/** A percent wave, or a staging ring (`tags` instead of `percent`): exactly one of the two (checked by RolloutCreate). */
/** What a wave list outside its bound is told (docs/rollouts.md "The rollout resource"). */
/** What a bake outside its bound is told: at most 30 days, as gates.stuckSec. */
const BAKE_BOUND = `expected a whole number of seconds from 0 to ${ROLLOUT_BOUNDS.stuckSec} (30 days)`;
/** What a share gate's threshold outside [0, 1] is told. */
const SHARE_BOUND = 'expected a share from 0 to 1, e.g. 0.95';
const WAVES_BOUND = 'expected 1 to 10 waves, e.g. [{"name": "canary", "percent": 5, "minDevices": 1, "bakeSec": 1800}, {"name": "all", "percent": 100, "bakeSec": 0}]';

export const Wave = z.object({
  name: WaveName,
  /**
   * Cumulative share in (0, 100] of the target's devices outside the rings: wave k holds the devices
   * whose place is below it (and every ring before it).
   */
  percent: z.number().gt(0, 'expected a percent above 0').max(100, 'expected a percent of at most 100').optional(),
  /** A staging ring: every device of the target with these tags, whatever its place (docs/rollouts.md "Staging rings"). */
  tags: RingTags.optional(),
  /** At least this many devices (fewer only when the target has fewer); a ring with fewer is refused. */
  minDevices: bounded('a whole number of devices', 0, ROLLOUT_BOUNDS.minDevices).optional(),
  /** How long the wave runs on the new version before its gates are judged. */
  bakeSec: z.number().int(BAKE_BOUND).min(0, BAKE_BOUND).max(ROLLOUT_BOUNDS.stuckSec, BAKE_BOUND),
});
export type Wave = z.infer<typeof Wave>;

export const GateName = z.enum(['install_success', 'reporting', 'predictions', 'model_error_rate', 'latency_p95', 'output_shift', 'preflight_p95', 'input_drift', 'shadow_agreement', 'config_applied', 'restarts', 'replay_agreement']);
export type GateName = z.infer<typeof GateName>;

/** Thresholds; each overridable per rollout. `input_drift` is shown and never blocks (it explains, it does not blame the model). */
/** gates.maxDeviceShare when not given: a device with more than half of a group's numbers is left out of them. */
export const MAX_DEVICE_SHARE_DEFAULT = 0.5;

export const GateConfig = z.object({
  /** Share of the wave's devices whose install succeeded (active on the new version). */
  installSuccess: z.number().min(0, SHARE_BOUND).max(1, SHARE_BOUND).default(0.95),
  /** Share of the wave's active devices that sent windows of the new version. */
  reporting: z.number().min(0, SHARE_BOUND).max(1, SHARE_BOUND).default(0.8),
  /**
   * Predictions the wave (and control) must have answered: a wave never passes on too few reports, and
   * PSI over ten bins is noise below a few hundred (docs/rollouts.md "Gates").
   */
  minPredictions: bounded('a whole number of predictions', 0, ROLLOUT_BOUNDS.minPredictions).default(1000),
  /** Model failures (decision 0012: not invalid input, not shed load) may exceed control by this many points. */
  errorRatePoints: z.number().min(0, 'expected percentage points from 0 to 100').max(100, 'expected percentage points from 0 to 100').default(1),
  /** p95 of answered latency at most this multiple of control's. */
  latencyRatio: z.number().positive('expected a latency ratio above 0').max(ROLLOUT_BOUNDS.latencyRatio, `expected a latency ratio of at most ${ROLLOUT_BOUNDS.latencyRatio}`).default(1.2),
  /**
   * ...or control's plus this many milliseconds, whichever is larger: latency is kept in log buckets
   * about 19 % apart, so at a millisecond a ratio of 1.2 is one bucket and noise would fail a good version.
   */
  latencySlackMs: z.number().nonnegative('expected milliseconds, at least 0').max(ROLLOUT_BOUNDS.latencySlackMs, `expected at most ${ROLLOUT_BOUNDS.latencySlackMs} ms`).default(1),
  /** PSI of each output's distribution against control (or the manifest reference) at most this. */
  outputPsi: PsiThreshold.default(0.2),
  /** p95 of the install preflight latency at most this many milliseconds (0 = not judged). */
  preflightP95Ms: z.number().nonnegative('expected milliseconds, at least 0 (0: not judged)').max(ROLLOUT_BOUNDS.preflightP95Ms, `expected at most ${ROLLOUT_BOUNDS.preflightP95Ms} ms (0: not judged)`).default(0),
  /** PSI of each feature against the manifest reference, shown only. */
  inputPsi: PsiThreshold.default(0.2),
  /**
   * A device holding more than this share of a wave's (or its control's) predictions or requests, in a
   * group of at least 3 reporting devices, is left out of that group's numbers and named in a note: one
   * box's reports cannot carry a gate (docs/decisions/0079-no-one-device-carries-a-gate.md). 1: never.
   * Default MAX_DEVICE_SHARE_DEFAULT.
   */
  maxDeviceShare: z.number().min(0.5, 'expected a share from 0.5 to 1 (1: no device is left out)').max(1, 'expected a share from 0.5 to 1 (1: no device is left out)').optional(),
  /** A wave that cannot be judged (too few reports) this long after its bake pauses with a reason. */
  stuckSec: bounded('a whole number of seconds', 1, ROLLOUT_BOUNDS.stuckSec).default(3600),
  /**
   * A device deferring its switch (maintenance window, update lock) counts as pending this long after it
   * was told; then the wave goes on without it (decision 0031). Default: 3600 s, or with a window the
   * longest a device told at the worst moment waits for its next window to end, plus 3600 s.
   */
  deferTimeoutSec: z.number().int().positive().max(DEFER_TIMEOUT_MAX_SEC, 'expected at most 35 days (3024000 s)').optional(),
  /**
   * Configuration rollouts (decision 0045): agent starts a wave device may make after it was told before
   * the `restarts` gate fails (default MAX_RESTARTS_DEFAULT: a setting applied by restart costs one).
   */
  maxRestarts: z.number().int().nonnegative().max(1000).optional(),
}).strict();
/** gates.maxRestarts when not set. */
export const MAX_RESTARTS_DEFAULT = 2;
export type GateConfig = z.infer<typeof GateConfig>;

/**
 * The optional first stage of a rollout (docs/rollouts.md "Shadow stage", decision 0032): the first wave's
 * devices run the new version in shadow beside their current one on `sampleRate` of their answered
 * requests for `bakeSec`, answering with the current one; the stage passes when the share of shadow runs
 * that agreed is at least `minAgreement` over at least `minSamples` runs, and only then does any device switch.
 */
export const ShadowStage = z.object({
  sampleRate: z.number().gt(0, 'expected a sample rate above 0').max(1, 'expected a sample rate of at most 1').default(0.1),
  bakeSec: z.number().int().nonnegative().max(30 * 86400).default(1800),
  minAgreement: z.number().min(0).max(1).default(0.95),
  minSamples: bounded('a whole number of shadow runs', 1, ROLLOUT_BOUNDS.shadowMinSamples).default(200),
  /** Float outputs of one value per row agree within tolerance * max(1, |current|) (classes: the same argmax). */
  tolerance: z.number().nonnegative().finite().default(0.01),
  /**
   * For a float output of one value per row that is a class score (a probability, as in the example model):
   * agree when both sides are on the same side of this threshold, instead of within the tolerance.
   */
  threshold: z.number().finite().optional(),
  /**
   * A replay check instead of live sampling (docs/rollouts.md "Replay check", decision 0045): each device
   * of the stage runs up to this many of its recently answered requests (kept in memory on the box) through
   * the candidate and compares them with the answers its current version gave; the stage is judged by
   * `replay_agreement` (at least `minAgreement` over at least `minSamples` replayed requests). Needs the
   * first wave to be a staging ring.
   */
  replay: z.number().int().positive().max(MAX_REPLAY).optional(),
}).strict();
export type ShadowStage = z.infer<typeof ShadowStage>;
/** The wave name the shadow stage takes (a wave of the rollout: listed first, `shadow` set). */
export const SHADOW_WAVE = 'shadow';

export const DEFAULT_WAVES: readonly Wave[] = [
  { name: 'canary', percent: 5, minDevices: 1, bakeSec: 1800 },
  { name: 'all', percent: 100, bakeSec: 0 },
];

/** A rollout's id: `ro-` and 10 hex digits (the hub draws it; a preview proposes one). */
export const RolloutId = z.string().regex(/^ro-[0-9a-f]{10}$/, 'expected a rollout id like ro-1a2b3c4d5e (as a preview answered it)');

const RolloutFields = z.object({
  /**
   * The id a preview answered (POST /rollouts/preview): places are hashed from it, so the waves take
   * exactly the previewed devices. Absent: the hub draws one. A used id is refused (409).
   */
  id: RolloutId.optional(),
  model: ModelName,
  version: SemVer,
  target: DeployTarget,
  waves: z.array(Wave).min(1, WAVES_BOUND).max(10, WAVES_BOUND).optional(),
  gates: GateConfig.partial().optional(),
  /** Start with a shadow stage on the first wave's devices (optional). */
  shadow: ShadowStage.optional(),
  advance: z.enum(['auto', 'manual']).default('auto'),
  onFailure: z.enum(['rollback', 'pause']).default('rollback'),
  reason: z.string().trim().min(1, 'expected a reason').max(1000),
  /** Devices switch only inside this window (docs/rollouts.md "Maintenance windows"). */
  window: MaintenanceWindowInput.optional(),
  /** Not refused for devices whose backend the hub found cannot load the version, and none held back (decision 0129), as deploy's. */
  allowBackendMismatch: z.boolean().optional(),
}).strict();

/** Waves: unique names, cumulative percents, the last at 100. */
function checkWaves(r: { waves?: Wave[] | undefined; shadow?: ShadowStage | undefined }, ctx: z.RefinementCtx): void {
  const waves = r.waves ?? DEFAULT_WAVES;
  const names = new Set<string>();
  let last = 0;
  for (const [i, w] of waves.entries()) {
    if (r.shadow && w.name === SHADOW_WAVE) ctx.addIssue({ code: 'custom', path: ['waves', i, 'name'], message: `wave name "${SHADOW_WAVE}" is the shadow stage's` });
    if (names.has(w.name)) ctx.addIssue({ code: 'custom', path: ['waves', i, 'name'], message: `wave name "${w.name}" is used twice` });
    names.add(w.name);
    if (w.tags !== undefined) {
      if (w.percent !== undefined) ctx.addIssue({ code: 'custom', path: ['waves', i, 'tags'], message: 'expected either tags (a staging ring) or percent, not both' });
      else if (last > 0) ctx.addIssue({ code: 'custom', path: ['waves', i, 'tags'], message: 'expected staging rings (tags) before the percent waves' });
      continue;
    }
    if (w.percent === undefined) {
      ctx.addIssue({ code: 'custom', path: ['waves', i, 'percent'], message: 'expected a percent (a share of the target) or tags (a staging ring)' });
      continue;
    }
    if (w.percent <= last) ctx.addIssue({ code: 'custom', path: ['waves', i, 'percent'], message: `expected a cumulative percent above the previous wave's ${last}` });
    last = w.percent;
  }
  if (last !== 100 && waves.length > 0) ctx.addIssue({ code: 'custom', path: ['waves', waves.length - 1, 'percent'], message: 'expected the last wave to reach 100 percent' });
  if (r.shadow?.replay !== undefined && !waves[0]?.tags) ctx.addIssue({ code: 'custom', path: ['shadow', 'replay'], message: 'a replay check runs on a staging ring\'s boxes: expected the first wave to be a ring (tags), e.g. --wave staging:tag=env=staging' });
}

export const RolloutCreate = RolloutFields.superRefine(checkWaves);

/**
 * What a configuration rollout rolls (docs/rollouts.md "Configuration rollouts", decision 0045): a new
 * version of one scope's agent configuration document; devices of the scope not yet told keep
 * `fromVersion` (0: no document) in their desired documents.
 */
export const ConfigSubject = z.object({ scope: z.string(), version: z.number().int().positive(), fromVersion: z.number().int().nonnegative() });
export type ConfigSubject = z.infer<typeof ConfigSubject>;

/**
 * POST /rollouts/config: a new version of a scope's document (checked as PUT /config/{scope} checks it),
 * rolled through waves and gates instead of sent to every device at once. No shadow stage, no window.
 */
export const ConfigRolloutCreate = z.object({
  id: RolloutFields.shape.id,
  scope: z.string().min(1).max(300),
  settings: RemoteSettingsSchema,
  waves: RolloutFields.shape.waves,
  gates: RolloutFields.shape.gates,
  advance: RolloutFields.shape.advance,
  onFailure: RolloutFields.shape.onFailure,
  reason: RolloutFields.shape.reason,
}).strict().superRefine(checkWaves);
export type ConfigRolloutCreate = z.infer<typeof ConfigRolloutCreate>;

// A wave as the CLI and logs name it: defined with what a rollout waits for, which the console bundle imports too.
export { waveLabel } from '../rollout-wait.js';

/** Whether a ring's tags select every device `required` does (the same pairs, maybe more). */
export function ringCovers(tags: RingTags | undefined, required: RingTags): boolean {
  return tags !== undefined && Object.entries(required).every(([k, v]) => tags[k] === v);
}
export type RolloutCreate = z.infer<typeof RolloutCreate>;

export const RolloutAction = z.object({ reason: z.string().trim().min(1, 'expected a reason').max(1000) }).strict();
export type RolloutAction = z.infer<typeof RolloutAction>;
/**
 * POST /rollouts/{id}/promote: with `acceptGates`, the current wave's named blocking gates, pending or failed
 * on a paused rollout, no longer block it (docs/decisions: accepting a gate for a wave).
 */
export const RolloutPromote = RolloutAction.extend({
  acceptGates: z.array(GateName, { message: `expected gate names (${GateName.options.join(', ')})` }).min(1, 'expected at least one gate name to accept').max(GateName.options.length).optional(),
  /** Once the current wave passes, open the last wave (every remaining device) at once: the waves between are skipped. */
  full: z.boolean().optional(),
}).strict();
export type RolloutPromote = z.infer<typeof RolloutPromote>;

/** POST /rollouts/{id}/unaccept: take back acceptances of the current wave's gates while it is still judged. */
export const RolloutUnaccept = RolloutAction.extend({
  gates: z.array(GateName, { message: `expected gate names (${GateName.options.join(', ')})` }).min(1, 'expected at least one gate name to un-accept').max(GateName.options.length),
}).strict();
export type RolloutUnaccept = z.infer<typeof RolloutUnaccept>;

/** POST /rollouts/preview: a create request whose reason may still be empty. */
export const RolloutPreviewRequest = RolloutFields.extend({ reason: z.string().max(1000).optional() }).superRefine(checkWaves);
export type RolloutPreviewRequest = z.infer<typeof RolloutPreviewRequest>;

/** Device ids listed per wave in a preview (the count is always exact). */
export const PREVIEW_DEVICES_PER_WAVE = 200;

/** What a create with the same body and `id` would do: each wave's devices, by the same code (hub/src/rollouts/plan.ts). */
export const RolloutPreview = z.object({
  /** Send it back as `id` in POST /rollouts so the waves take these devices. */
  id: RolloutId,
  model: ModelName,
  version: SemVer,
  fromVersion: SemVer.nullable(),
  /** Devices of the target. */
  devices: Count,
  waves: z.array(Wave.extend({
    /** Devices in this wave, earlier waves' included (waves nest). */
    devices: Count,
    /** Devices this wave adds, lowest places first (at most PREVIEW_DEVICES_PER_WAVE listed). */
    joining: z.array(z.object({ deviceId: z.string(), previous: SemVer.nullable() })),
    /** Devices this wave adds. */
    joiningCount: Count,
  })),
});
export type RolloutPreview = z.infer<typeof RolloutPreview>;
