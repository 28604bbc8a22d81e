// REST bodies and responses of the hub's /api/v1 about the model registry (issue 4): a version as listed
// and in detail, the backends it loads on, and the bodies and answers of deprecating, deleting and
// dropping its bundle.
import { z } from 'zod';
import { Count, DeviceId, IsoTime, ModelName, SemVer, Sha256Hex, Signature } from './common.js';
import { RuntimeBackend } from './desired.js';
import { QueryCount } from './ids.js';
import { Reason } from './api.js';

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
