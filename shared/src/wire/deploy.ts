// REST bodies for deployments (assign a model version to devices) and the stored-telemetry views.
import { z } from 'zod';
import { Count, DeviceId, IsoTime, ModelName, QueryTime, SemVer, Tags } from './common.js';
import { MaintenanceWindow, MaintenanceWindowInput } from './maintenance.js';
import { QueryCount } from './ids.js';
import { HistoryQuery } from './history-page.js';
import { DeviceEvent, SummaryWindow } from './telemetry.js';
import { TELEMETRY_PAGE } from '../pages.js';

/**
 * Which devices a deployment, rollout or capture is for. A tag target needs a tag: `{}` matched every
 * device, those enrolled later too, which is what `all: true` says out loud.
 */
export const DeployTarget = z
  .object({
    devices: z.array(DeviceId).min(1).optional(),
    tags: Tags.refine((t) => Object.keys(t).length > 0, { error: 'expected at least one tag ({"key": "value"}); use {"all": true} for every device' }).optional(),
    all: z.literal(true).optional(),
  })
  .refine((t) => [t.devices, t.tags, t.all].filter((x) => x !== undefined).length === 1, {
    error: 'expected exactly one of devices (ids), tags ({key: value}) or all: true',
  });
export type DeployTarget = z.infer<typeof DeployTarget>;

export const DeploymentCreate = z.object({
  model: ModelName,
  version: SemVer,
  target: DeployTarget,
  reason: z.string().trim().min(1, 'expected a reason').max(1000),
  /** Devices switch only inside this window (docs/rollouts.md "Maintenance windows"). */
  window: MaintenanceWindowInput.optional(),
  /**
   * Send the version to devices whose backend the hub's check says cannot load it (not refused with 422
   * BACKEND_UNSUPPORTED, not held back later; audited): docs/decisions/0129-model-backends-checked.md.
   */
  allowBackendMismatch: z.boolean().optional(),
}).strict();
export type DeploymentCreate = z.infer<typeof DeploymentCreate>;

/**
 * `deferred`: downloaded, the switch waits for the device's maintenance window or update lock (reason says until when).
 * `refused`: the device refused the desired document (expired, issued in the future, ...) and keeps its version; not a success.
 * `waiting_for_disk`: the device's disk is full; it installs the version by itself once there is room (not a failure).
 * `removing`: undeployed (or re-tagged out of a tag target); the device's documents tell it to stop serving the model.
 * `removed`: the device reported the model removed (docs/decisions/0066-models-leave-a-box-by-an-explicit-removal.md).
 */
export const DeploymentDeviceStatus = z.enum(['pending', 'downloading', 'activating', 'active', 'failed', 'refused', 'rolled_back', 'superseded', 'deferred', 'waiting_for_disk', 'removing', 'removed']);
export type DeploymentDeviceStatus = z.infer<typeof DeploymentDeviceStatus>;

export const DeploymentDevice = z.object({
  deviceId: DeviceId,
  status: DeploymentDeviceStatus,
  progress: z.number().min(0).max(1).nullable(),
  reason: z.string().nullable(),
  updated: IsoTime,
});
export type DeploymentDevice = z.infer<typeof DeploymentDevice>;

export const Deployment = z.object({
  id: z.number().int().positive(),
  model: ModelName,
  version: SemVer,
  target: DeployTarget,
  reason: z.string(),
  createdBy: z.string(),
  created: IsoTime,
  window: MaintenanceWindow.optional(),
  /** Created with allowBackendMismatch: devices get it whatever their backend (DeploymentCreate). */
  allowBackendMismatch: z.literal(true).optional(),
  /** Present once undeployed (DELETE /deployments/{id}): it takes no device in any more. */
  undeployed: z.object({ at: IsoTime, by: z.string(), reason: z.string() }).optional(),
  /**
   * The rollout that grows this deployment wave by wave (docs/rollouts.md): `target` then lists only the
   * first wave's devices, and the rollout's target says which devices it reaches.
   */
  rollout: z.string().optional(),
  counts: z.record(DeploymentDeviceStatus, Count),
  devices: z.array(DeploymentDevice),
  /** With `?devices=N`: how many devices the deployment has, when it listed fewer (`counts` always covers them all). */
  devicesTotal: Count.optional(),
});
export type Deployment = z.infer<typeof Deployment>;
/** The most devices one GET /deployments/{id}?devices=N lists (without `devices`: all of them, by id). */
export const DEPLOYMENT_DEVICES_MAX = 100_000;
/**
 * GET /deployments/{id}: `devices` lists at most that many, those needing attention first (failed, refused,
 * rolled back, waiting for disk, deferred, then the ones under way, then the settled ones; by id within a status).
 */
export const DeploymentViewQuery = z.object({ devices: QueryCount('devices', DEPLOYMENT_DEVICES_MAX).optional() });
export type DeploymentViewQuery = z.infer<typeof DeploymentViewQuery>;
/** GET /deployments: a page, newest first; `next` is the id to pass as `?before=` for the older page, null after the last. */
export const DeploymentList = z.object({ deployments: z.array(Deployment.omit({ devices: true })), next: Count.nullable() });
export type DeploymentList = z.infer<typeof DeploymentList>;
/** GET /deployments?limit=&before= */
export const DeploymentListQuery = HistoryQuery('deployment');

/**
 * DELETE /deployments/{id}?reason=&confirmDevices=&dryRun= (docs/hub.md "Undeploy"): `confirmDevices` is the
 * number of devices the operator confirms (needed above 10), `dryRun=true` answers and changes nothing.
 */
export const UndeployQuery = z.object({
  reason: z.string({ error: 'expected ?reason=TEXT: why the model is taken off the devices (audited, and shown to callers of the boxes\' API)' })
    .trim().min(1, 'expected a reason: why the model is taken off the devices').max(500),
  confirmDevices: z.string().regex(/^(0|[1-9][0-9]{0,8})$/, 'expected the number of devices the undeploy reaches (digits only), as its dry run answered').transform(Number).optional(),
  dryRun: z.enum(['true', 'false'], 'expected true or false').transform((v) => v === 'true').optional(),
}).strict();
export type UndeployQuery = z.output<typeof UndeployQuery>;
/**
 * What an undeploy did (or, in a dry run, would do): `devices` told to remove the model (`deviceIds`),
 * and `superseded`: rows a newer deployment replaced, marked `removed` with no document change.
 */
export const UndeployResult = z.object({
  deploymentId: z.number().int().positive(),
  dryRun: z.boolean(),
  devices: Count,
  deviceIds: z.array(DeviceId),
  superseded: Count,
});
export type UndeployResult = z.infer<typeof UndeployResult>;

/** Merged totals of stored windows (windowTotals): what a user compares with the devices' own totals. */
export const ModelTotals = z.object({
  model: ModelName,
  version: SemVer.nullable(),
  since: IsoTime.nullable(),
  windows: Count,
  devices: Count,
  count: Count,
  errors: z.record(z.string(), Count),
  /** `errors` summed by kind (shared/src/error-kinds.ts): only `model` counts against the model. */
  errorKinds: z.object({ input: Count, load: Count, model: Count }),
  latencyCount: Count,
  features: z.record(z.string(), z.unknown()),
  outputs: z.record(z.string(), z.unknown()),
  inputs: z.record(z.string(), z.unknown()),
  /** Sums past 2^53 - 1, kept as floats and so perhaps off by their rounding (WindowTotals.inexact); absent when every sum is exact. */
  inexact: z.array(z.string()).optional(),
});
export type ModelTotals = z.infer<typeof ModelTotals>;

export const TotalsQuery = z.object({ version: SemVer.optional(), since: QueryTime.optional() });

const CURSOR_RE = /^(.+),(0|[1-9]\d{0,15})$/;
const CURSOR_EXPECTED = 'expected the `next` of the page before (a stored time and a seq, e.g. 2026-10-01T00:05:00.000Z,17)';

/** A page's `next`: the time of its last row as stored and the row's device seq, `TIME,SEQ`. */
export function telemetryCursor(time: string, seq: number): string {
  return `${time},${seq}`;
}

/** `?after=`: a page's `next`, read back into the (time, seq) of the row the next page follows. */
export const TelemetryCursor = z.string().transform((raw, ctx) => {
  const m = CURSOR_RE.exec(raw);
  const seq = m ? Number(m[2]) : NaN;
  if (m && IsoTime.safeParse(m[1]).success && Number.isSafeInteger(seq)) return { time: m[1] as string, seq };
  ctx.addIssue({ code: 'custom', message: `after "${raw.length > 80 ? `${raw.slice(0, 80)}…` : raw}" (query parameter after): ${CURSOR_EXPECTED}` });
  return z.NEVER;
});
export type TelemetryCursor = z.output<typeof TelemetryCursor>;

const PageQuery = {
  since: QueryTime.optional(),
  limit: QueryCount('limit', TELEMETRY_PAGE.maxLimit).optional(),
  after: TelemetryCursor.optional(),
  /** `newest`: newest first (the console's latest events); `after` then goes on to older rows. */
  order: z.enum(['oldest', 'newest'], { error: 'expected order=oldest (the default) or order=newest' }).optional(),
};
export const WindowsQuery = z.object({ model: ModelName.optional(), version: SemVer.optional(), ...PageQuery });
export const EventsQuery = z.object(PageQuery);

export const StoredWindow = SummaryWindow.extend({ deviceId: z.string(), seq: z.number().int() });
export type StoredWindow = z.infer<typeof StoredWindow>;
export const StoredEvent = DeviceEvent.extend({ deviceId: z.string() });
export type StoredEvent = z.infer<typeof StoredEvent>;
export const WindowPage = z.object({ windows: z.array(StoredWindow), next: z.string().nullable() });
export type WindowPage = z.infer<typeof WindowPage>;
export const EventPage = z.object({ events: z.array(StoredEvent), next: z.string().nullable() });
export type EventPage = z.infer<typeof EventPage>;
