// REST bodies and responses of the hub's /api/v1 (issue 4). The OpenAPI
// document is generated from these schemas; the CLI and the agent's enroll
// command parse responses with them too.
import { z } from 'zod';
import { DevicePublicKey } from './sealed.js';
import { ClockMark, Count, DeviceId, IsoTime, ModelName, SemVer, Sha256Hex, Signature, TagKey, Tags, schemaTag } from './common.js';
import { TrustDocument } from './trust.js';
import { Capabilities, DiskSpace, PreflightReport, ReplayReport, RuntimeBackend } from './desired.js';
import { ReportedConfig } from './agent-config.js';
import { QueryCount, QueryId, shownId } from './ids.js';
import { DEVICE_PAGE } from '../pages.js';
import { NotFoundKind } from './not-found.js';

export const ApiRole = z.enum(['viewer', 'operator', 'admin']);
export type ApiRole = z.infer<typeof ApiRole>;

// `details` differs by code; a NOT_FOUND for a missing thing always has NotFoundDetails (not-found.ts).
const ERROR_DETAILS = 'What the code is about, for programs; its shape depends on the code. NOT_FOUND for a missing thing: '
  + `{kind, id, ids?}, kind one of ${NotFoundKind.options.join(', ')}; id the one asked for (NAME@VERSION for model_version `
  + 'and config_version), ids the first 100 missing when several were asked for.';

export const ApiErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional().describe(ERROR_DETAILS) }),
});
export type ApiErrorBody = z.infer<typeof ApiErrorBody>;


export const DeviceFacts = z.object({
  os: z.string().min(1).max(64),
  arch: z.string().min(1).max(32),
  cpus: z.number().int().positive(),
  memoryMb: z.number().int().nonnegative(),
  agentVersion: SemVer,
});
export type DeviceFacts = z.infer<typeof DeviceFacts>;

/** A reason is required for actions that change what a device may do. */
export const Reason = z.string().trim().min(1, 'expected a reason').max(1000);

// --- enrollment ---------------------------------------------------------------
export const EnrollmentTokenCreate = z.object({
  tags: Tags.default({}),
  ttlSec: z.number().int().positive().max(366 * 86400).default(86400),
  maxUses: z.number().int().positive().max(1_000_000).default(1),
  note: z.string().max(200).optional(),
}).strict();
export type EnrollmentTokenCreate = z.infer<typeof EnrollmentTokenCreate>;

export const EnrollmentTokenInfo = z.object({
  id: z.string(),
  tags: Tags,
  expires: IsoTime,
  maxUses: Count,
  uses: Count,
  created: IsoTime,
  createdBy: z.string(),
  note: z.string().nullable(),
  /** When and by whom it was revoked (POST /enrollment-tokens/{id}/revoke); null while it may enroll. */
  revoked: z.object({ at: IsoTime, by: z.string() }).nullable(),
});
export type EnrollmentTokenInfo = z.infer<typeof EnrollmentTokenInfo>;
/** GET /enrollment-tokens: a page, newest first; `next` is the cursor to pass as `?before=` for the older page (CreatedCursor), null after the last. */
export const EnrollmentTokenList = z.object({ tokens: z.array(EnrollmentTokenInfo), next: z.string().nullable() });
export type EnrollmentTokenList = z.infer<typeof EnrollmentTokenList>;
/** POST /enrollment-tokens/{id}/revoke: the token stops enrolling at once; the reason goes to the audit log. */
export const EnrollmentTokenRevoke = z.object({ reason: Reason }).strict();
export const EnrollmentTokenCreated = EnrollmentTokenInfo.extend({ token: z.string() });
export type EnrollmentTokenCreated = z.infer<typeof EnrollmentTokenCreated>;

export const EnrollRequest = z.object({
  token: z.string().min(1, 'expected the enrollment token'),
  deviceId: DeviceId.optional(),
  facts: DeviceFacts,
  /** The box's X25519 public key for sealed models (docs/security.md "Sealed models"). */
  deviceKey: DevicePublicKey.optional(),
});
export type EnrollRequest = z.infer<typeof EnrollRequest>;

/** What a device needs to connect: written by `edgefleet-agent enroll` and by `edgefleet devices add`. */
export const CREDENTIALS_SCHEMA = 'edgefleet.credentials/v1' as const;
export const DeviceCredentials = z.object({
  schema: schemaTag(CREDENTIALS_SCHEMA),
  deviceId: DeviceId,
  secret: z.string().min(16),
  brokers: z.array(z.string().url()).min(1, 'expected at least one broker URL'),
  trust: TrustDocument,
});
export type DeviceCredentials = z.infer<typeof DeviceCredentials>;

// --- devices --------------------------------------------------------------------
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

// --- api tokens --------------------------------------------------------------------
export const TokenCreate = z.object({ name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, 'expected a token name of letters, digits, ".", "_", "@" or "-"'), role: ApiRole }).strict();
export type TokenCreate = z.infer<typeof TokenCreate>;
export const TokenInfo = z.object({ id: z.string(), name: z.string(), role: ApiRole, created: IsoTime, createdBy: z.string(), revoked: z.boolean() });
export type TokenInfo = z.infer<typeof TokenInfo>;
/** GET /tokens: a page, newest first, paged as GET /enrollment-tokens. */
export const TokenList = z.object({ tokens: z.array(TokenInfo), next: z.string().nullable() });
export type TokenList = z.infer<typeof TokenList>;
export const TokenCreated = TokenInfo.extend({ token: z.string() });
export type TokenCreated = z.infer<typeof TokenCreated>;

// --- registry --------------------------------------------------------------------
/**
 * Which onnxruntime backends load a version, as the hub found at push (hub/src/model-backends.ts,
 * docs/decisions/0129-model-backends-checked.md): `loads` lists them, `refused` says why each other did not,
 * `unchecked` why one was not tried (onnxruntime-web missing, a model above the check's size bound, a deadline).
 */
export const ModelBackends = z.object({
  loads: z.array(RuntimeBackend),
  refused: z.partialRecord(RuntimeBackend, z.string()),
  unchecked: z.partialRecord(RuntimeBackend, z.string()).optional(),
});
export type ModelBackends = z.infer<typeof ModelBackends>;
export const ModelVersionInfo = z.object({
  name: ModelName,
  version: SemVer,
  manifestSha256: Sha256Hex,
  bundle: z.object({ sha256: Sha256Hex, size: Count }),
  created: IsoTime,
  pushedBy: z.string(),
  deprecated: z.boolean(),
  deprecatedReason: z.string().nullable(),
  /** The backends it loads on; null when not checked (pushed before decision 0129, or encrypted: the hub has no content key). */
  backends: ModelBackends.nullable().optional(),
  /**
   * Listings only: whether a threshold of the hub's current release keys signed it. false: deploys and
   * rollouts of it are refused (VERSION_NOT_TRUSTED, docs/security.md "Key rotation and stored versions").
   */
  trusted: z.boolean().optional(),
  /** Set when its bundle was dropped (history kept; docs/hub.md "Dropping old bundles"): not deployable or downloadable until pushed again. */
  bundleDropped: z.object({ at: IsoTime, by: z.string() }).nullable().optional(),
});
export type ModelVersionInfo = z.infer<typeof ModelVersionInfo>;
export const ModelVersionList = z.object({ versions: z.array(ModelVersionInfo) });
export const ModelVersionDetail = ModelVersionInfo.extend({
  /** The manifest as stored (validated against the shared Manifest schema at push). */
  manifest: z.record(z.string(), z.unknown()),
  provenance: z.unknown(),
  signatures: z.array(Signature),
  /** The devices that run it, by id: all of them, or the first N with ?devices=N (then devicesTotal counts them all). */
  devices: z.array(z.object({ id: DeviceId, status: z.string() })),
  devicesTotal: Count.optional(),
});
export type ModelVersionDetail = z.infer<typeof ModelVersionDetail>;
/** GET /models/{name}/versions/{version}?devices=N: list the first N devices running it (the console asks for 500). */
export const ModelVersionQuery = z.object({ devices: QueryCount('devices', 100_000).optional() });
export const ModelDeprecate = z.object({ reason: Reason }).strict();
/** DELETE /models/{name}/versions/{version}?reason=: only a version nothing refers to (else 409). */
export const ModelDeleteQuery = z.object({ reason: Reason });
export const ModelDeleted = z.object({
  name: z.string(),
  version: z.string(),
  /** Whether the bundle file went too (false when another version is the same bundle). */
  bundleDeleted: z.boolean(),
});
export type ModelDeleted = z.infer<typeof ModelDeleted>;
/** DELETE /models/{name}/versions/{version}/bundle?reason=: the bundle goes, the version's history stays. */
export const BundleDropped = z.object({
  name: z.string(),
  version: z.string(),
  /** Bytes freed on disk: 0 when another version is the same file. */
  freedBytes: Count,
  at: IsoTime,
  by: z.string(),
});
export type BundleDropped = z.infer<typeof BundleDropped>;

// --- audit --------------------------------------------------------------------
export const AuditEntry = z.object({
  id: Count,
  at: IsoTime,
  actor: z.string(),
  /** The id of the API or enrollment token that acted (names are unique, ids never reused); null in entries older than hub migration 4. */
  actorId: z.string().nullable(),
  action: z.string(),
  target: z.string(),
  reason: z.string().nullable(),
  details: z.unknown(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;
/** The most entries one GET /audit answers (`?limit=`); 500 when not given. */
export const AUDIT_PAGE_MAX = 10000;
export const AUDIT_PAGE_DEFAULT = 500;
/**
 * GET /audit: a page of entries in id order, and `next`, the cursor of the following page (pass it as
 * `after`, or as `before` with `order=desc`), null when no matching entry is left. Ids are the audit
 * table's own and never reused, so paging by them loses and repeats nothing (timestamps are shared).
 */
export const AuditList = z.object({ entries: z.array(AuditEntry), next: Count.nullable() });
export type AuditList = z.infer<typeof AuditList>;
export const AuditQuery = z.object({
  actor: z.string().optional(),
  actorId: z.string().optional(),
  action: z.string().optional(),
  target: z.string().optional(),
  since: IsoTime.optional(),
  /** Only entries with a higher id (the previous page's `next`, oldest first). */
  after: QueryId('after', 'audit entry').optional(),
  /** Only entries with a lower id (the previous page's `next` with `order=desc`). */
  before: QueryId('before', 'audit entry').optional(),
  /** `asc` (default): oldest first; `desc`: newest first. */
  order: z.enum(['asc', 'desc'], { error: (iss) => `order "${String(iss.input)}" (query parameter order): expected asc (oldest first) or desc (newest first)` }).default('asc'),
  limit: QueryCount('limit', AUDIT_PAGE_MAX).default(AUDIT_PAGE_DEFAULT),
}).strict();
export type AuditQuery = z.infer<typeof AuditQuery>;
