// REST bodies and responses of the hub's /api/v1 about devices (issue 4): a device as listed, pages of
// them and their query, the fleet's summary, and the bodies that add, revoke, rotate and re-tag one.
// The rest of the API's schemas: api.ts (errors, enrollment, tokens), api-models.ts, api-audit.ts.
import { z } from 'zod';
import { ClockMark, Count, DeviceId, IsoTime, ModelName, SemVer, TagKey, Tags } from './common.js';
import { Capabilities, DiskSpace, PreflightReport, ReplayReport, RuntimeBackend } from './desired.js';
import { ReportedConfig } from './agent-config.js';
import { QueryCount, shownId } from './ids.js';
import { DEVICE_PAGE } from '../pages.js';
import { DeviceFacts, Reason } from './api.js';

export const DeviceModelRun = z.object({
  name: ModelName,
  version: SemVer,
  status: z.string(),
  /** On the active version's row: the version a rollback returns to (from its last reported state; absent: none). */
  previous: SemVer.optional(),
  /** Sample latency the device measured at install (from its reported state), when the bundle has samples. */
  preflight: PreflightReport.omit({ version: true }).optional(),
  /** The model's last replay check of a candidate on this device (docs/rollouts.md "Replay check"). */
  replay: ReplayReport.optional(),
});
export const DeviceInfo = z.object({
  id: DeviceId,
  tags: Tags,
  facts: DeviceFacts.nullable(),
  revoked: z.boolean(),
  revokedAt: IsoTime.nullable(),
  online: z.boolean(),
  lastSeen: IsoTime.nullable(),
  created: IsoTime,
  models: z.array(DeviceModelRun),
  /** From the device's last reported state: its agent, the desired seq it applied, and why it refused the last document (if it did). */
  reported: z
    .object({
      at: IsoTime,
      agentVersion: z.string(),
      lastAppliedSeq: z.number().int().nonnegative(),
      /** The version of the trust document the device holds. */
      trustVersion: z.number().int().nonnegative().optional(),
      refusal: z.object({ seq: z.number().int().nonnegative(), code: z.string(), message: z.string(), at: IsoTime }).nullable(),
      /** The device's trust expiry as it reported it (older agents do not). */
      trust: z.object({ expires: IsoTime, expired: z.boolean() }).optional(),
      /** The remote agent configuration the device runs and whether the last one applied (docs/hub.md "Agent configuration"). */
      config: ReportedConfig.optional(),
      /** Entries in the device's outbox not yet acked, as of `at` (older agents do not report it). */
      outbox: z.object({ items: z.number().int().nonnegative() }).optional(),
      /** Room on the filesystem of the device's data dir, as of `at` (older agents do not report it). */
      disk: DiskSpace.optional(),
      /** The clock that stamped `at` (docs/decisions/0059-clock-marks.md; older agents do not say). */
      clock: ClockMark.optional(),
      /** What the box said it can do, as it said it (Capabilities). */
      capabilities: Capabilities,
      /** The runtime backend it runs models on (from `capabilities`); null: it did not say (an older agent, or no backend loaded yet). */
      backend: RuntimeBackend.nullable(),
      /** How many times its agent has started on its data directory (older agents do not say). */
      starts: Count.optional(),
    })
    .nullable(),
  /**
   * The device's clock against the hub's (from its presence and state): offset = device time − hub
   * receive time, when it was measured, and how many windows the hub placed by its own clock because
   * the offset was past its threshold (docs/operations.md "Clocks that are wrong"). Null: never measured.
   */
  clock: z.object({ offsetMs: z.number().int(), measuredAt: IsoTime, shiftedWindows: z.number().int().nonnegative() }).nullable().optional(),
  /**
   * The box enrolled again (`enroll --force`, same device key) as device `by` at `at`: this id is its old one, out of
   * every rollout while offline (docs/decisions/0155-a-box-enrolled-again-replaces-its-old-id.md). Null: not replaced.
   */
  replaced: z.object({ by: DeviceId, at: IsoTime }).nullable(),
  /** Reports the hub acked but refused as implausible since it started (hub/src/ingest/plausibility.ts), by reason. */
  ingestRefused: z
    .object({
      windows: z.record(z.string(), z.number().int().nonnegative()),
      events: z.record(z.string(), z.number().int().nonnegative()),
      last: z.object({ at: IsoTime, kind: z.enum(['window', 'event']), seq: z.number().int().positive(), reason: z.string() }).optional(),
    })
    .optional(),
  /**
   * Windows of model versions the registry does not hold, acked and kept until those versions are pushed
   * (hub/src/ingest/parked.ts; docs/operations.md "Backup and restore"): all of them, and by version the oldest parked 50.
   */
  parkedWindows: z
    .object({
      windows: z.number().int().nonnegative(),
      bytes: z.number().int().nonnegative(),
      versions: z.array(z.object({ model: z.string(), version: z.string(), windows: z.number().int().positive(), bytes: z.number().int().nonnegative(), since: IsoTime })),
    })
    .optional(),
  /**
   * Two connections with this device's credentials kept taking each other's session over: when the
   * embedded broker last reported it and how many takeovers within a minute (docs/mqtt.md). Absent: never since the hub started.
   */
  credentialsInUseTwice: z.object({ at: IsoTime, takeovers: z.number().int().positive() }).optional(),
  /**
   * Versions the device is assigned that the hub holds back, its backend known not to load them (docs/decisions/0129-model-backends-checked.md),
   * or, a version some backend cannot load, until the box's first state report says its backend: the deployment and its row's reason
   * (`BACKEND_UNSUPPORTED: …`, or `waiting for the box's first state report (its backend): …`), and since when the row holds it. Absent: none.
   */
  heldBack: z.array(z.object({ deploymentId: z.number().int().positive(), model: z.string(), version: z.string(), reason: z.string(), since: IsoTime })).optional(),
  /** Throttles and disconnects for going over its MQTT quotas since the hub started (hub/src/mqtt/quota.ts). */
  mqttQuota: z
    .object({
      throttled: z.number().int().nonnegative(),
      disconnected: z.number().int().nonnegative(),
      last: z.object({ at: IsoTime, kind: z.enum(['messages', 'bytes']), action: z.enum(['throttle', 'disconnect']), why: z.string() }).optional(),
    })
    .optional(),
});
export type DeviceInfo = z.infer<typeof DeviceInfo>;
/**
 * A page of devices by id (DEVICE_PAGE): `next` is the `?after=` of the following page, null after the last;
 * `total` counts the devices that match the query's filters, on every page (docs/decisions/0089-fleet-view-filtered-by-the-hub.md).
 */
/**
 * GET /devices: a page, `total` the devices matching; `totalExact` false when it is a lower bound, a search (q alone) of
 * more than SEARCH_COUNT_MAX matches on a hub of more than SHORT_SEARCH_MAX_DEVICES devices (shared/src/device-search-term.ts).
 */
export const DeviceList = z.object({ devices: z.array(DeviceInfo), next: DeviceId.nullable(), total: Count, totalExact: z.boolean() });
export type DeviceList = z.infer<typeof DeviceList>;
/** The most versions GET /fleet lists (`versionsTotal` counts them all). */
export const FLEET_VERSIONS_MAX = 50;
/** GET /fleet: the fleet's counts by status and the versions its devices not revoked run, most devices first. */
export const FleetSummary = z.object({
  online: Count,
  offline: Count,
  revoked: Count,
  versions: z.array(z.object({ model: ModelName, version: SemVer, devices: Count })),
  versionsTotal: Count,
});
export type FleetSummary = z.infer<typeof FleetSummary>;
/** A device's status as GET /devices?status= filters it: online and offline are of devices not revoked. */
export const DEVICE_STATUSES = ['online', 'offline', 'revoked'] as const;
/** The longest text GET /devices?q= searches for (a tag value holds at most 256 characters). */
export const DEVICE_SEARCH_MAX = 256;
const queryText = (name: string, expected: string, ok: (s: string) => boolean) => z.string().refine(ok, {
  error: (iss) => `${name} "${shownId(String(iss.input))}" (query parameter ${name}): ${expected}`,
});
/**
 * GET /devices?limit=&after=ID&q=&tag=&status=&version=&replaced=: `after` is the previous page's `next`, a device id (which
 * need not exist any more); the filters, each optional, all hold for every device listed.
 */
const devicePage = {
  limit: QueryCount('limit', DEVICE_PAGE.maxLimit).default(DEVICE_PAGE.defaultLimit),
  after: queryText('after', 'expected the `next` of the page before, a device id (letters, digits, ".", "_" or "-", at most 128)', (s) => DeviceId.safeParse(s).success).optional(),
};
/** GET /config/devices?limit=&after=ID: a page as GET /devices, without its filters (each one is refused, not ignored). */
export const DevicePageQuery = z.object(devicePage).strict();
export const DeviceListQuery = z.object({
  ...devicePage,
  q: queryText('q', `expected text to search for in device ids, tags and versions, 1 to ${DEVICE_SEARCH_MAX} characters`, (s) => s.trim().length > 0 && s.length <= DEVICE_SEARCH_MAX).optional(),
  tag: queryText('tag', 'expected a tag as key=value (a key of lowercase letters, digits, "_", "." or "-"; a value of at most 256 characters)', (s) => {
    const eq = s.indexOf('=');
    return eq > 0 && TagKey.safeParse(s.slice(0, eq)).success && s.length - eq - 1 <= 256;
  }).optional(),
  status: z.enum(DEVICE_STATUSES, { error: (iss) => `status "${shownId(String(iss.input))}" (query parameter status): expected online, offline or revoked` }).optional(),
  version: queryText('version', 'expected a model version as NAME@VERSION (audio-energy@1.2.0)', (s) => {
    const at = s.lastIndexOf('@');
    return at > 0 && ModelName.safeParse(s.slice(0, at)).success && SemVer.safeParse(s.slice(at + 1)).success;
  }).optional(),
  /** true: only devices replaced by a new enrollment of their box (DeviceInfo.replaced); false: only the others. */
  replaced: z.enum(['true', 'false'], { error: (iss) => `replaced "${shownId(String(iss.input))}" (query parameter replaced): expected true or false` }).transform((v) => v === 'true').optional(),
}).strict();
export type DeviceListQuery = z.output<typeof DeviceListQuery>;

export const DeviceAdd = z.object({ deviceId: DeviceId.optional(), tags: Tags.default({}) }).strict();
export type DeviceAdd = z.infer<typeof DeviceAdd>;
export const DeviceRevoke = z.object({ reason: Reason }).strict();
export const DeviceRotate = z.object({ reason: Reason.optional() }).strict();
export const DeviceTagsUpdate = z.object({ tags: Tags, reason: Reason.optional() }).strict();
