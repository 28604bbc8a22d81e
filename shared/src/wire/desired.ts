// Desired state (hub → device, signed by the hub key) and reported state and presence (device → hub).
import { z } from 'zod';
import { SealedKeySchema, DevicePublicKey } from './sealed.js';
import { CAPTURE_LIMITS, DesiredCapture } from './capture.js';
import { DesiredConfig, ReportedConfig } from './agent-config.js';
import { MaintenanceWindow } from './maintenance.js';
import { ClockMark, Count, DeviceId, ErrorInfo, IsoTime, ModelName, SemVer, Sha256Hex, schemaTag, signedEnvelope } from './common.js';

/** Most recently answered requests a box is asked to replay through a candidate (docs/rollouts.md "Replay check"). */
export const MAX_REPLAY = 1000;

/**
 * A candidate version the device runs beside the current one on a sampled share of answered requests,
 * off the request path, never answering with it (docs/rollouts.md "Shadow stage"): the rollout's shadow stage.
 */

export const DesiredShadow = z.object({
  version: SemVer,
  manifestSha256: Sha256Hex,
  bundle: z.object({ sha256: Sha256Hex, size: Count }),
  /** Share of answered requests run on the candidate too. */
  sampleRate: z.number().gt(0).max(1),
  /** A float output of one value per row agrees when |current - candidate| <= tolerance * max(1, |current|). */
  tolerance: z.number().nonnegative().finite().optional(),
  /** Set: a float output of one value per row is a class score, and agrees when both sides are on the same side of it. */
  threshold: z.number().finite().optional(),
  contentKey: SealedKeySchema.optional(),
  /**
   * Set: no live sampling; the box replays up to this many of its recently answered requests through the
   * candidate once and reports the agreement (`models[].replay`; docs/agent.md "Replay check").
   */
  replay: z.number().int().positive().max(MAX_REPLAY).optional(),
});
export type DesiredShadow = z.infer<typeof DesiredShadow>;

export const DesiredModel = z.object({
  name: ModelName,
  version: SemVer,
  manifestSha256: Sha256Hex,
  /** The bundle file itself is the blob, fetched over blob/get by its sha256. */
  bundle: z.object({ sha256: Sha256Hex, size: Count }),
  previous: SemVer.optional(),
  /** For an encrypted bundle: its content key sealed to this device's key (absent: not entitled, or no device key yet). */
  contentKey: SealedKeySchema.optional(),
  /** Switch to this version only inside this window (downloaded and verified at once); absent: at once. */
  maintenance: MaintenanceWindow.optional(),
  /** A candidate to evaluate in shadow beside `version` (optional: absent, the device runs no shadow of this model). */
  shadow: DesiredShadow.optional(),
});
export type DesiredModel = z.infer<typeof DesiredModel>;

/**
 * A model the hub tells this box to stop serving (docs/decisions/0066-models-leave-a-box-by-an-explicit-removal.md):
 * written only for an operator's undeploy or a re-tag out of a tag target, and kept in the device's documents
 * until it reports the model removed. A model the document merely omits is never removed; one it names in
 * `models` too is not removed (the assignment wins).
 */
export const DesiredRemoval = z.object({
  name: ModelName,
  /** When the operator removed it (the hub's clock). */
  at: IsoTime,
  /** The operator's reason, shown to callers of the box's API in MODEL_REMOVED. */
  reason: z.string().min(1).max(500),
});
export type DesiredRemoval = z.infer<typeof DesiredRemoval>;
/** At most this many removals in one document. */
export const MAX_REMOVALS = 1000;

export const DESIRED_SCHEMA = 'edgefleet.desired/v1' as const;
export const DesiredBody = z.object({
  schema: schemaTag(DESIRED_SCHEMA),
  deviceId: DeviceId,
  seq: z.number().int().positive(),
  issued: IsoTime,
  expires: IsoTime,
  models: z.array(DesiredModel),
  config: z.record(z.string(), z.unknown()).default({}),
  /** Data captures this device takes part in (docs/decisions/0035-data-capture.md); absent: none. */
  capture: z.array(DesiredCapture).max(CAPTURE_LIMITS.maxActive).optional(),
  /** The device's layered remote configuration (docs/agent.md "Remote configuration"); absent: the hub manages none. */
  agentConfig: DesiredConfig.optional(),
  /** Models this box is to stop serving (DesiredRemoval); absent: none. */
  removed: z.array(DesiredRemoval).max(MAX_REMOVALS).optional(),
});
export type DesiredBody = z.infer<typeof DesiredBody>;
export const DesiredDocument = signedEnvelope(DesiredBody);
export type DesiredDocument = z.infer<typeof DesiredDocument>;

/**
 * `deferred`: installed and verified, the switch waits for a maintenance window or the box's update lock.
 * `waiting_for_disk`: the download or install was refused for a full disk (DISK_FULL); not a failure of
 * the version, which is tried again when there is room (docs/decisions/0064-full-disk-is-not-a-failed-install.md).
 * `removed`: the hub removed the model (DesiredRemoval); not served, its files kept until `removedUntil`.
 */
export const ModelStatus = z.enum(['pending', 'downloading', 'verifying', 'activating', 'active', 'failed', 'rolled_back', 'deferred', 'waiting_for_disk', 'removed']);
export type ModelStatus = z.infer<typeof ModelStatus>;

/** Sample latency preflight measured when a version was installed (docs/agent.md). */
export const PreflightReport = z.object({
  version: SemVer,
  samples: Count,
  runs: Count,
  p50Ms: z.number().nonnegative(),
  p95Ms: z.number().nonnegative(),
  at: IsoTime,
});
export type PreflightReport = z.infer<typeof PreflightReport>;

/**
 * A replay check's result on the box (docs/agent.md "Replay check"): recently answered requests of the
 * model run through `version` (a candidate loaded in shadow) and compared with the answers `against` gave.
 */
export const ReplayReport = z.object({
  version: SemVer,
  /** The version(s) that answered the replayed requests (the active one, usually). */
  against: z.array(SemVer).max(8),
  /** Requests replayed so far, of them agreeing (argmax / label / within tolerance), failed on the candidate. */
  samples: Count.max(MAX_REPLAY, `expected at most ${MAX_REPLAY} replayed requests (the most a box is asked to replay)`),
  agree: Count,
  errors: Count,
  /** Largest absolute difference between an answer's and the candidate's float outputs. */
  maxAbsDiff: z.number().nonnegative().nullable(),
  done: z.boolean(),
  at: IsoTime,
}).superRefine((r, ctx) => {
  // Each replayed request agrees, disagrees or fails on the candidate once (agent/src/shadow/replay.ts): one
  // box's agree of 1e12 over 50 requests passed a ring's replay_agreement whatever its other boxes reported.
  if (r.agree + r.errors > r.samples) ctx.addIssue({ code: 'custom', path: ['agree'], message: `expected agree + errors <= samples (each replayed request agrees, disagrees or fails once), got ${r.agree} + ${r.errors} > ${r.samples}` });
});
export type ReplayReport = z.infer<typeof ReplayReport>;

/** A version waiting for room on the box's disk: the bytes it needs (an estimate) and those free now. */
export const DiskWait = z.object({ needed: Count, free: Count.optional() });
export type DiskWait = z.infer<typeof DiskWait>;

/**
 * The shadow candidate the document names for this model, while it is not running: `waiting_for_disk`,
 * its download or install refused for a full disk and tried again when there is room (decision 0064;
 * docs/agent.md "Shadow evaluation"). Not a failure: the rollout's shadow stage counts it pending.
 */
export const ReportedShadow = z.object({ version: SemVer, status: z.enum(['waiting_for_disk']), reason: ErrorInfo, diskWait: DiskWait });
export type ReportedShadow = z.infer<typeof ReportedShadow>;

export const ReportedModel = z.object({
  name: ModelName,
  active: SemVer.nullable(),
  previous: SemVer.nullable().default(null),
  installed: z.array(SemVer),
  status: ModelStatus,
  /** The version the agent is working towards (download, verify, activate), if any. */
  target: SemVer.nullable().default(null),
  progress: z.number().min(0).max(1).optional(),
  reason: ErrorInfo.optional(),
  /** While `deferred` (reason OUTSIDE_WINDOW or UPDATE_LOCKED): when the switch may happen, by the box's clock (null: its window never opens again). */
  deferredUntil: IsoTime.nullable().optional(),
  /** While `waiting_for_disk`: about the bytes the download and install need on the data dir's disk, and those free there when it was refused (absent: unreadable). */
  diskWait: DiskWait.optional(),
  /** Per installed version that has samples. */
  preflight: z.array(PreflightReport).optional(),
  /** The last replay check of a candidate of this model (decision 0045). */
  replay: ReplayReport.optional(),
  /** The shadow candidate, while it waits for disk space (absent: none named, or it runs, or it failed: an `error` event). */
  shadow: ReportedShadow.optional(),
  /** While `removed`: until when the box keeps the versions' files (a redeploy before then needs no download), by its clock. */
  removedUntil: IsoTime.optional(),
});
export type ReportedModel = z.infer<typeof ReportedModel>;

/**
 * The filesystem that holds the agent's data dir (its database, model files, downloads): bytes free to
 * the agent and in all (statfs). Checked before the hub keeps it: free at most total.
 */
export const DiskSpace = z.object({ free: Count, total: Count }).refine((d) => d.free <= d.total, { message: 'free bytes may not exceed total bytes' });
export type DiskSpace = z.infer<typeof DiskSpace>;

/**
 * What a box says about itself in its state reports (docs/agent.md "Reported state"): `blob-blocks`,
 * `policy-rollback`, `outbox-v1`, `sealed-models` (it holds a device key) and `backend-native` or
 * `backend-wasm`, the runtime's backend in use (docs/agent.md "Runtime"). Stored by the hub as reported
 * and shown by GET /devices/{id}.
 */
export const Capabilities = z.array(z.string());
export const RuntimeBackend = z.enum(['native', 'wasm']);
export type RuntimeBackend = z.infer<typeof RuntimeBackend>;
/** The runtime backend a box's capabilities name (`backend-native`, `backend-wasm`), or null (older agents, or none loaded yet). */
export function runtimeBackendOf(capabilities: readonly string[]): RuntimeBackend | null {
  for (const c of capabilities) {
    const b = RuntimeBackend.safeParse(c.startsWith('backend-') ? c.slice('backend-'.length) : '');
    if (b.success) return b.data;
  }
  return null;
}

export const STATE_SCHEMA = 'edgefleet.state/v1' as const;
export const ReportedState = z.object({
  schema: schemaTag(STATE_SCHEMA),
  deviceId: DeviceId,
  at: IsoTime,
  /** The clock that stamped `at` (ClockMark); optional: older agents send none. */
  clock: ClockMark.optional(),
  agentVersion: SemVer,
  lastAppliedSeq: Count,
  trustVersion: Count,
  /** When the box's trust expires, and whether it has (past the skew allowance): then installs and desired documents are refused until fresh trust arrives. */
  trust: z.object({ expires: IsoTime, expired: z.boolean() }).optional(),
  models: z.array(ReportedModel),
  /** Why the last desired document was refused, if it was. */
  refusal: z.object({ seq: Count, code: z.string(), message: z.string(), at: IsoTime }).optional(),
  capabilities: Capabilities.default([]),
  /** The box's X25519 public key, for content keys of encrypted bundles (accepted by the hub over this authenticated link). */
  deviceKey: DevicePublicKey.optional(),
  /** The remote configuration in effect and whether the last one was applied (docs/agent.md "Remote configuration"). */
  config: ReportedConfig.optional(),
  /** How many times this agent has started on this data directory (a configuration rollout's `restarts` gate, decision 0045). */
  starts: Count.optional(),
  /**
   * Entries (windows, events) in the box's outbox not yet acked by the hub, as of `at`. Reported with
   * every state report and whenever its order of magnitude changes (0, 1-9, 10-99, ...), so a draining
   * backlog does not cost a state report per message.
   */
  outbox: z.object({ items: Count }).optional(),
  /** Room on the data dir's filesystem, as of `at`; reported again when its band changes (docs/agent.md "Disk space"). */
  disk: DiskSpace.optional(),
});
export type ReportedState = z.infer<typeof ReportedState>;

export const PRESENCE_SCHEMA = 'edgefleet.presence/v1' as const;
export const Presence = z.object({ schema: schemaTag(PRESENCE_SCHEMA), online: z.boolean(), at: IsoTime, clock: ClockMark.optional() });
export type Presence = z.infer<typeof Presence>;
