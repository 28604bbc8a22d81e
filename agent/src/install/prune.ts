// Old model versions leave the box (docs/agent.md "Installed versions"): after every install and switch
// the agent keeps, of each model, its active and previous versions and the KEEP_RECENT versions
// installed last (a version waiting for its maintenance window, a shadow candidate), and forgets the
// others, deleting the files no kept version uses. A box that gets a new version every week
// otherwise fills its disk with every version it ever ran. A forgotten version the hub deploys again is
// downloaded again; rollback needs only the previous version, which is kept.
// Files are shared between versions (content-addressed), so only those no kept version names go, and
// only when not used within BLOB_GRACE_MS: an install in another process (the CLI beside the daemon)
// writes or touches its files before it commits (ModelManager.install). Every prune looks at all stored
// files, so one spared by the grace, or left by a crash between the commit and the delete, goes later.
import type { Logger } from '../log.js';
import type { BlobStore } from '../store/blobs.js';
import type { ActiveEntry, InstalledVersion, ModelsRepo } from '../store/models-repo.js';

/** Versions of a model kept besides the active and previous ones: the ones installed last. */
export const KEEP_RECENT = 2;
/** A file written or reused within this long is never deleted by a prune. */
export const BLOB_GRACE_MS = 3600_000;

/** The versions of one model to forget: all but active, previous and the KEEP_RECENT installed last. */
export function versionsToPrune(versions: readonly InstalledVersion[], active: ActiveEntry | undefined): InstalledVersion[] {
  const newest = [...versions].sort((a, b) => (a.installedAt < b.installedAt ? 1 : a.installedAt > b.installedAt ? -1 : 0)).slice(0, KEEP_RECENT);
  const keep = new Set([active?.active, active?.previous, ...newest.map((v) => v.version)]);
  return versions.filter((v) => !keep.has(v.version));
}

export interface PruneDeps {
  models: ModelsRepo;
  blobs: Pick<BlobStore, 'removeIfIdle' | 'list'>;
  logger: Logger;
  /** Wall-clock ms, compared with the files' mtimes (tests move it); default Date.now. */
  wallNow?: () => number;
}

/**
 * Forgets the versions of `name` versionsToPrune names, then deletes every stored file no kept version
 * names and nobody used within BLOB_GRACE_MS; never throws.
 */
export async function pruneVersions(d: PruneDeps, name: string): Promise<{ versions: string[]; files: number }> {
  try {
    const doomed = versionsToPrune(d.models.listVersions(name), d.models.getActive(name));
    if (doomed.length) {
      d.models.transaction(() => {
        for (const v of doomed) d.models.removeVersion(v.name, v.version);
      });
    }
    const files = await sweepFiles(d);
    const versions = doomed.map((v) => v.version);
    if (versions.length || files) {
      d.logger.info({ model: name, versions, files }, `removed ${versions.length} old version(s) of ${name} and ${files} file(s) no kept version uses`);
    }
    return { versions, files };
  } catch (err) {
    d.logger.warn({ model: name, err: (err as Error).message }, 'removing old model versions failed: they stay until the next install or switch');
    return { versions: [], files: 0 };
  }
}

/** Deletes every stored file no kept version names and nobody used within BLOB_GRACE_MS; returns how many went. Throws what the store throws. */
export async function sweepFiles(d: PruneDeps): Promise<number> {
  const used = new Set(d.models.listVersions().flatMap((v) => v.manifest.files.map((f) => f.sha256)));
  let files = 0;
  for (const sha of await d.blobs.list()) {
    if (!used.has(sha) && (await d.blobs.removeIfIdle(sha, BLOB_GRACE_MS, d.wallNow?.()))) files++;
  }
  return files;
}
