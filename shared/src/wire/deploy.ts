// REST bodies for deployments (assign a model version to devices) and the stored-telemetry views.
import { z } from 'zod';
import { Count, DeviceId, IsoTime, ModelName, SemVer, Tags } from './common.js';
import { MaintenanceWindow, MaintenanceWindowInput } from './maintenance.js';
import { QueryCount } from './ids.js';

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
}).strict();
export type DeploymentCreate = z.infer<typeof DeploymentCreate>;

/** `deferred`: downloaded, the switch waits for the device's maintenance window or update lock (reason says until when). */
/** `refused`: the device refused the desired document (expired, issued in the future, ...) and keeps its version; not a success. */
export const DeploymentDeviceStatus = z.enum(['pending', 'downloading', 'activating', 'active', 'failed', 'refused', 'rolled_back', 'superseded', 'deferred']);
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
  counts: z.record(DeploymentDeviceStatus, Count),
  devices: z.array(DeploymentDevice),
});
export type Deployment = z.infer<typeof Deployment>;
export const DeploymentList = z.object({ deployments: z.array(Deployment.omit({ devices: true })) });

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
});
export type ModelTotals = z.infer<typeof ModelTotals>;

export const WindowsQuery = z.object({ model: ModelName.optional(), version: SemVer.optional(), since: IsoTime.optional(), limit: QueryCount('limit', 100_000).optional() });
export const TotalsQuery = z.object({ version: SemVer.optional(), since: IsoTime.optional() });
