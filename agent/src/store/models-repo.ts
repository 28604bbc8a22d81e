// Installed model versions and, per model name, the active and previous
// version. Every switch of the active version is one transaction.
import { AppError, type PreflightResult } from '@edgefleet/shared/core';
import type { Manifest, SignaturesFile } from '@edgefleet/shared';
import type { Db } from './db.js';
import type { Origin } from './removals-repo.js';

export interface InstalledVersion {
  name: string;
  version: string;
  manifest: Manifest;
  manifestSha256: string;
  signatures: SignaturesFile;
  installedAt: string;
}

/** What preflight measured for a version at install (docs/agent.md). */
export type VersionPreflight = PreflightResult & { at: string };

export interface ActiveEntry {
  name: string;
  active: string;
  previous: string | undefined;
  updatedAt: string;
}

interface VersionRow { name: string; version: string; manifest: string; manifest_sha256: string; signatures: string; installed_at: string }
interface ActiveRow { name: string; active_version: string; previous_version: string | null; updated_at: string }

export class ModelsRepo {
  constructor(private readonly db: Db) {}

  /** Records a version (idempotent for the same manifest hash). */
  addVersion(v: Omit<InstalledVersion, 'installedAt'>, at: Date = new Date()): void {
    this.db
      .prepare('INSERT INTO model_versions (name, version, manifest, manifest_sha256, signatures, installed_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name, version) DO UPDATE SET manifest = excluded.manifest, manifest_sha256 = excluded.manifest_sha256, signatures = excluded.signatures')
      .run(v.name, v.version, JSON.stringify(v.manifest), v.manifestSha256, JSON.stringify(v.signatures), at.toISOString());
  }

  getVersion(name: string, version: string): InstalledVersion | undefined {
    const row = this.db.prepare('SELECT * FROM model_versions WHERE name = ? AND version = ?').get(name, version) as VersionRow | undefined;
    return row ? toVersion(row) : undefined;
  }

  listVersions(name?: string): InstalledVersion[] {
    const rows = (name
      ? this.db.prepare('SELECT * FROM model_versions WHERE name = ? ORDER BY name, installed_at').all(name)
      : this.db.prepare('SELECT * FROM model_versions ORDER BY name, installed_at').all()) as VersionRow[];
    return rows.map(toVersion);
  }

  getActive(name: string): ActiveEntry | undefined {
    const row = this.db.prepare('SELECT * FROM active_models WHERE name = ?').get(name) as ActiveRow | undefined;
    return row ? toActive(row) : undefined;
  }

  listActive(): ActiveEntry[] {
    return (this.db.prepare('SELECT * FROM active_models ORDER BY name').all() as ActiveRow[]).map(toActive);
  }

  /**
   * Makes `version` active, put there by `origin` (removals-repo.ts); the version active before becomes
   * `previous` (unless it is the same version), and a removal of the model by the hub ends. Call inside a
   * transaction with addVersion when installing.
   */
  setActive(name: string, version: string, origin: Origin = 'local', at: Date = new Date()): ActiveEntry {
    const cur = this.getActive(name);
    const previous = cur && cur.active !== version ? cur.active : cur?.previous;
    this.db
      .prepare('INSERT INTO active_models (name, active_version, previous_version, updated_at, origin) VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET active_version = excluded.active_version, previous_version = excluded.previous_version, updated_at = excluded.updated_at, origin = excluded.origin')
      .run(name, version, previous === version ? null : (previous ?? null), at.toISOString(), origin);
    this.db.prepare('DELETE FROM model_removals WHERE name = ?').run(name);
    return this.getActive(name)!;
  }

  /** Who put `name`'s active version there (store/removals-repo.ts); undefined when none is active. */
  originOf(name: string): Origin | undefined {
    return (this.db.prepare('SELECT origin FROM active_models WHERE name = ?').get(name) as { origin: Origin } | undefined)?.origin;
  }

  /** `name` has no active version any more (the hub removed it): nothing of it is served or loaded at start. */
  clearActive(name: string): void {
    this.db.prepare('DELETE FROM active_models WHERE name = ?').run(name);
  }

  /** Swaps active and previous. */
  setActivePair(name: string, active: string, previous: string | undefined, at: Date = new Date()): void {
    this.db
      .prepare('INSERT INTO active_models (name, active_version, previous_version, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET active_version = excluded.active_version, previous_version = excluded.previous_version, updated_at = excluded.updated_at')
      .run(name, active, previous ?? null, at.toISOString());
  }

  /**
   * Forgets an installed version (its files are the caller's: install/prune.ts); never the active or
   * previous one of its model. Returns whether it was there.
   */
  removeVersion(name: string, version: string): boolean {
    const a = this.getActive(name);
    if (a && (a.active === version || a.previous === version)) {
      throw new AppError('CONFLICT', `${name}@${version} is the ${a.active === version ? 'active' : 'previous'} version: it is kept`);
    }
    this.db.prepare('DELETE FROM kv WHERE key = ?').run(`preflight:${name}@${version}`);
    return this.db.prepare('DELETE FROM model_versions WHERE name = ? AND version = ?').run(name, version).changes > 0;
  }

  /** Records the sample latency measured by preflight at install (kept in kv: no schema change). */
  setPreflight(name: string, version: string, p: VersionPreflight): void {
    this.db
      .prepare('INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value')
      .run(`preflight:${name}@${version}`, JSON.stringify(p));
  }

  preflightOf(name: string, version: string): VersionPreflight | undefined {
    const row = this.db.prepare('SELECT value FROM kv WHERE key = ?').get(`preflight:${name}@${version}`) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as VersionPreflight) : undefined;
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}

function toVersion(r: VersionRow): InstalledVersion {
  return {
    name: r.name,
    version: r.version,
    manifest: storedManifest(r),
    manifestSha256: r.manifest_sha256,
    signatures: JSON.parse(r.signatures) as SignaturesFile,
    installedAt: r.installed_at,
  };
}

/**
 * A stored manifest is the output of the zod schema at install (verifyBundle validated it before
 * addVersion stored it), so reading it back only checks that the row is intact, not the schema
 * again: zod is not loaded at start-up (docs/performance.md).
 */
function storedManifest(r: VersionRow): Manifest {
  let m: unknown;
  try {
    m = JSON.parse(r.manifest);
  } catch (err) {
    throw new AppError('SCHEMA_INVALID', `invalid stored manifest of ${r.name}@${r.version}: not JSON (${(err as Error).message})`);
  }
  const o = m as Partial<Manifest> | null;
  const io = o?.io;
  if (typeof o !== 'object' || o === null || o.name !== r.name || o.version !== r.version || typeof o.entrypoint !== 'string'
    || !Array.isArray(o.files) || typeof io !== 'object' || io === null || !Array.isArray(io.inputs) || !Array.isArray(io.outputs)) {
    throw new AppError('SCHEMA_INVALID', `invalid stored manifest of ${r.name}@${r.version}: expected the manifest stored at install (name, version, entrypoint, files, io); reinstall the bundle`);
  }
  return o as Manifest;
}

function toActive(r: ActiveRow): ActiveEntry {
  return { name: r.name, active: r.active_version, previous: r.previous_version ?? undefined, updatedAt: r.updated_at };
}
