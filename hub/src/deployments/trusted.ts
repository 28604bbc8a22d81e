// Whether a stored model version is still signed the way the fleet's trust requires. A version is
// verified against the trust of the day it was pushed; after a rotation (docs/security.md "Key rotation
// and stored versions") its signers may no longer be release keys, and every agent would refuse the
// bundle at verification. The hub checks the bundle's signatures against its current trust exactly as
// an agent does (shared/src/crypto/threshold.ts) before it sends the version to any device.
import { AppError, checkThreshold, manifestSigningBytes, readBundle, type ModelVersionInfo, type TrustBody } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import { bundleDropped } from '../store/models-repo.js';

const short = (keyId: string) => `${keyId.slice(0, 12)}…`;
const list = (ids: readonly string[]) => (ids.length ? ids.map(short).join(', ') : 'none');

export interface VersionTrust {
  ok: boolean;
  /** The current trust document's version and release threshold. */
  trustVersion: number;
  threshold: number;
  /** Every key that signed the bundle (full key ids). */
  signedBy: string[];
  /** Signers the current trust counts (a valid signature by a current release key). */
  valid: string[];
  /** The release keys the current trust accepts. */
  accepted: string[];
}

/**
 * The verdicts already reached, by bundle and release role: a stored bundle never changes under its
 * sha256, so GET /models and a running rollout's steps read each bundle once per trust, not per call.
 * Bounded: emptied when it reaches CACHE_MAX entries (each is a few hundred bytes).
 */
const verdicts = new Map<string, VersionTrust>();
const CACHE_MAX = 10_000;

/** Reads the version's manifest and signatures from its stored bundle (files not hashed) and checks them against `trust`. */
export async function versionTrust(store: Store, trust: TrustBody, model: string, version: string): Promise<VersionTrust> {
  const v = store.models.get(model, version);
  if (v.bundleDropped) throw bundleDropped(v); // no bundle to read (store/bundle-drop.ts): deploys and rollouts get BUNDLE_DROPPED
  const key = `${v.bundle.sha256}|${trust.version}|${JSON.stringify(trust.roles.release)}|${JSON.stringify(trust.keys)}`;
  const known = verdicts.get(key);
  // A stored bundle that is gone is NOT_FOUND naming its file (readBundle), cached verdict or not.
  if (known && store.blobs.has(v.bundle.sha256)) return known;
  const info = await readBundle(store.blobs.pathOf(v.bundle.sha256), { verifyFiles: false, what: `${model}@${version}: stored bundle` });
  const r = checkThreshold(trust, 'release', manifestSigningBytes(info), info.signatures.signatures);
  const signedBy = [...new Set(info.signatures.signatures.map((s) => s.keyId))];
  const t = { ok: r.ok, trustVersion: trust.version, threshold: r.threshold, signedBy, valid: r.valid, accepted: [...trust.roles.release.keyIds] };
  if (verdicts.size >= CACHE_MAX) verdicts.clear();
  verdicts.set(key, t);
  return t;
}

/** VERSION_NOT_TRUSTED naming the version, its signers, the keys the trust accepts and what to do. */
export function untrustedVersionError(model: string, version: string, t: VersionTrust): AppError {
  return new AppError('VERSION_NOT_TRUSTED',
    `${model}@${version} is signed by release key(s) ${list(t.signedBy)}, but the hub's trust (version ${t.trustVersion}) accepts ${t.threshold} of release key(s) ${list(t.accepted)} `
    + `(${t.valid.length} valid): every device would refuse the bundle. Sign it with a current release key ("edgefleet model sign BUNDLE --key RELEASE.key") and push it again `
    + `(the registry keeps one bundle per version: "edgefleet model delete ${model} ${version}" first if nothing refers to it, else pack it as a new version)`,
    { details: { model, version, ...t } });
}

/**
 * Throws VERSION_NOT_TRUSTED unless a threshold of the current release keys signed the version, or every
 * device in `holders` (a deployment's targets) already holds it: an agent switches to a version it holds
 * without verifying it again (docs/operations.md "Keys"), so that deploy still works.
 */
export async function assertVersionTrusted(store: Store, trust: TrustBody, model: string, version: string, holders: readonly string[] = []): Promise<void> {
  const t = await versionTrust(store, trust, model, version);
  if (t.ok) return;
  const held = new Set(store.devices.runningVersion(model, version).map((d) => d.id));
  if (holders.length > 0 && holders.every((id) => held.has(id))) return;
  throw untrustedVersionError(model, version, t);
}

/** Listings (GET /models, model ls): each version with `trusted`, left out when its bundle or the trust cannot be read. */
export async function withTrusted<T extends ModelVersionInfo>(store: Store, trust: () => TrustBody, versions: readonly T[]): Promise<T[]> {
  const out: T[] = [];
  for (const v of versions) {
    try {
      out.push({ ...v, trusted: (await versionTrust(store, trust(), v.name, v.version)).ok });
    } catch {
      out.push(v);
    }
  }
  return out;
}

/**
 * The open (tag/all) deployments whose version no threshold of the current release keys signed: a device
 * enrolled, added or re-tagged later does not join them, since it would refuse the bundle. Read before the
 * transaction that joins (a verdict reads the bundle once per trust). A bundle that cannot be read is not
 * skipped: the device reports the failure as before. No trust (tests of other parts): none.
 */
export async function untrustedTargets(store: Store, trust: (() => TrustBody) | undefined, open: ReadonlyArray<{ id: number; model: string; version: string }>): Promise<ReadonlySet<number>> {
  const out = new Set<number>();
  if (!trust) return out;
  for (const d of open) {
    try {
      if (!(await versionTrust(store, trust(), d.model, d.version)).ok) out.add(d.id);
    } catch { /* unreadable bundle: not ours to judge here */ }
  }
  return out;
}
