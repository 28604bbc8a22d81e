// Model versions in the registry: manifest, signatures, bundle blob, who pushed
// it, and deprecation (kept and downloadable, not assignable).
import { AppError, notFound, type Manifest, type ModelBackends, type ModelVersionInfo, type Signature } from '@edgefleet/shared';
import { closest } from '@edgefleet/shared/cli';
import type { Db } from './db.js';
import type { Migration } from './migrations.js';
import { Statements } from './statements.js';

/** The backends each version loads on, found at push (hub/src/model-backends.ts); null for versions pushed before. */
export const MODEL_BACKENDS_MIGRATION: Migration = {
  version: 86,
  name: 'model versions: the onnxruntime backends they load on',
  sql: 'ALTER TABLE model_versions ADD COLUMN backends TEXT;',
};

interface Row {
  name: string;
  version: string;
  manifest: string;
  manifest_sha256: string;
  signatures: string;
  bundle_sha256: string;
  bundle_size: number;
  created_at: string;
  pushed_by: string;
  deprecated_at: string | null;
  deprecated_reason: string | null;
  backends: string | null;
  bundle_dropped_at?: string | null;
  bundle_dropped_by?: string | null;
}

export interface StoredVersion extends ModelVersionInfo {
  manifest: Manifest;
  signatures: Signature[];
}

export interface NewVersion {
  manifest: Manifest;
  manifestSha256: string;
  signatures: Signature[];
  bundleSha256: string;
  bundleSize: number;
  pushedBy: string;
  at: Date;
  /** The backends it loads on; undefined when not checked (an encrypted model). */
  backends?: ModelBackends | undefined;
}

export class ModelsRepo {
  /** find() runs on deployment, rollout and ingest paths: prepared once. */
  private readonly stmts: Statements;

  constructor(private readonly db: Db) {
    this.stmts = new Statements(db);
  }

  /** Inserts a version; the same bundle again is a no-op ('exists'); other content under the same version is CONFLICT. */
  insert(v: NewVersion): 'created' | 'exists' {
    const { name, version } = v.manifest;
    if (this.check(name, version, v.bundleSha256, v.manifestSha256) === 'exists') {
      // The same bundle again makes a version whose bundle was dropped whole (store/bundle-drop.ts): the push placed its blob.
      this.db.prepare('UPDATE model_versions SET bundle_dropped_at = NULL, bundle_dropped_by = NULL WHERE name = ? AND version = ? AND bundle_dropped_at IS NOT NULL').run(name, version);
      return 'exists';
    }
    this.db
      .prepare(`INSERT INTO model_versions (name, version, manifest, manifest_sha256, signatures, bundle_sha256, bundle_size, created_at, pushed_by, backends)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(name, version, JSON.stringify(v.manifest), v.manifestSha256, JSON.stringify(v.signatures), v.bundleSha256, v.bundleSize, v.at.toISOString(), v.pushedBy, v.backends ? JSON.stringify(v.backends) : null);
    // Boxes that hold it already (installed from a file before the upload) have now reported it (device-reports.ts).
    this.db
      .prepare('INSERT INTO device_versions_seen (device_id, name, version) SELECT device_id, name, version FROM device_models WHERE name = ? AND version = ? ON CONFLICT DO NOTHING')
      .run(name, version);
    return 'created';
  }

  /**
   * 'new' for an unknown version, 'exists' for the same bundle, CONFLICT for other content under the
   * version; one with the same manifest and other signatures (re-signed after a release-key rotation)
   * is told how to replace it.
   */
  check(name: string, version: string, bundleSha256: string, manifestSha256?: string): 'new' | 'exists' {
    const existing = this.find(name, version);
    if (!existing) return 'new';
    if (existing.bundle.sha256 === bundleSha256) return 'exists';
    const bundles = `(bundle ${existing.bundle.sha256.slice(0, 12)}…, this one ${bundleSha256.slice(0, 12)}…)`;
    if (existing.manifestSha256 === manifestSha256) {
      throw new AppError('CONFLICT', `${name} ${version} is already in the registry with this manifest and other signatures ${bundles}, re-signed after a release-key rotation? `
        + `The registry keeps one bundle per version: "edgefleet model delete ${name} ${version} --reason TEXT" first if nothing refers to it, else pack it as a new version`);
    }
    throw new AppError('CONFLICT', `${name} ${version} is already in the registry with other content ${bundles}: publish a new version instead`);
  }

  find(name: string, version: string): StoredVersion | undefined {
    const r = this.stmts.of('SELECT * FROM model_versions WHERE name = ? AND version = ?').get(name, version) as Row | undefined;
    return r ? toStored(r) : undefined;
  }

  get(name: string, version: string): StoredVersion {
    const v = this.find(name, version);
    if (!v) throw missingVersion(this.db, name, version);
    return v;
  }

  list(name?: string): ModelVersionInfo[] {
    const rows = (name
      ? this.db.prepare('SELECT * FROM model_versions WHERE name = ? ORDER BY name, created_at').all(name)
      : this.db.prepare('SELECT * FROM model_versions ORDER BY name, created_at').all()) as Row[];
    return rows.map((r) => toInfo(r));
  }

  /** A version whose bundle (by hash) was dropped and is not whole under another version, if any. */
  droppedBundle(sha256: string): ModelVersionInfo | undefined {
    const rows = this.db.prepare('SELECT * FROM model_versions WHERE bundle_sha256 = ? ORDER BY name, version').all(sha256) as Row[];
    return rows.every((r) => r.bundle_dropped_at) ? rows.map(toInfo)[0] : undefined;
  }

  deprecate(name: string, version: string, reason: string, at: Date): void {
    const v = this.get(name, version);
    if (v.deprecated) throw new AppError('CONFLICT', `${name} ${version} is already deprecated`);
    this.db.prepare('UPDATE model_versions SET deprecated_at = ?, deprecated_reason = ? WHERE name = ? AND version = ?').run(at.toISOString(), reason, name, version);
  }

  /** For deployments (issue 5): a version that may be assigned to devices, or a clear refusal. */
  assignable(name: string, version: string): StoredVersion {
    const v = this.get(name, version);
    if (v.deprecated) throw new AppError('CONFLICT', `${name} ${version} is deprecated (${v.deprecatedReason ?? 'no reason'}) and cannot be assigned`);
    if (v.bundleDropped) throw bundleDropped(v);
    return v;
  }
}

function toInfo(r: Row): ModelVersionInfo {
  return {
    name: r.name,
    version: r.version,
    manifestSha256: r.manifest_sha256,
    bundle: { sha256: r.bundle_sha256, size: r.bundle_size },
    created: r.created_at,
    pushedBy: r.pushed_by,
    deprecated: r.deprecated_at !== null,
    deprecatedReason: r.deprecated_reason,
    backends: r.backends ? JSON.parse(r.backends) as ModelBackends : null,
    bundleDropped: r.bundle_dropped_at ? { at: r.bundle_dropped_at, by: r.bundle_dropped_by ?? '' } : null,
  };
}

/** BUNDLE_DROPPED for a version whose bundle was dropped: what to do to deploy or download it again. */
export function bundleDropped(v: ModelVersionInfo): AppError {
  return new AppError('BUNDLE_DROPPED', `the bundle of ${v.name} ${v.version} was dropped at ${v.bundleDropped?.at ?? '?'} by ${v.bundleDropped?.by ?? '?'} (its history is kept): `
    + `push the same bundle again (sha256 ${v.bundle.sha256.slice(0, 12)}…) to deploy or download it, or use a newer version`);
}

function toStored(r: Row): StoredVersion {
  return { ...toInfo(r), manifest: JSON.parse(r.manifest) as Manifest, signatures: JSON.parse(r.signatures) as Signature[] };
}

/**
 * NOT_FOUND for a model version the registry lacks, saying what it holds of `name`: its newest versions,
 * or that it has none and the model name likely meant (drift of "seqclff" for "seqclf").
 */
export function missingVersion(db: Db, name: string, version: string): AppError {
  const versions = db.prepare('SELECT version FROM model_versions WHERE name = ? ORDER BY created_at DESC, version DESC LIMIT 6').pluck().all(name) as string[];
  let has: string;
  if (!versions.length) {
    const guess = closest(name, db.prepare('SELECT DISTINCT name FROM model_versions').pluck().all() as string[]);
    has = `the registry has no model ${name}${guess ? `; did you mean ${guess}?` : ''} (edgefleet model ls lists the models; edgefleet model push BUNDLE adds one)`;
  } else {
    has = `the registry has ${name} ${versions.slice(0, 5).join(', ')}${versions.length > 5 ? ', …' : ''} (newest first; edgefleet model ls lists them all)`;
  }
  return notFound('model_version', `${name}@${version}`, `no model version ${name} ${version}: ${has}`);
}
