// A model the hub removed (docs/decisions/0066-models-leave-a-box-by-an-explicit-removal.md, docs/agent.md
// "Removed models"): serving stops at once, its versions' rows and files stay until the removal's
// keep-until (a redeploy before then activates the kept version with no download), then the model is
// forgotten (prune.ts deletes the files no kept version names). Run by ModelManager one operation at a
// time with installs and switches, so an activation and a removal of one model never interleave. The
// events (model_removed, model_forgotten) are the caller's: the updater emits them to the hub's outbox.
import type { Logger } from '../log.js';
import type { BlobStore } from '../store/blobs.js';
import type { ModelsRepo } from '../store/models-repo.js';
import type { Removal, RemovalsRepo } from '../store/removals-repo.js';
import type { ModelRuntime } from '../runtime/runtime.js';
import { sweepFiles } from './prune.js';

export interface RemovalDeps {
  models: ModelsRepo;
  removals: RemovalsRepo;
  blobs: Pick<BlobStore, 'removeIfIdle' | 'list'>;
  runtime: ModelRuntime;
  /** True in the daemon: the model's sessions are unloaded. */
  serving: boolean;
  logger: Logger;
}

/**
 * `removed`: serving `version` stopped now (`installed`: the versions kept); `kept_local`: its active
 * version was installed on the box, not acted on; `absent`: nothing to stop (none active, or removed already).
 */
export type StopOutcome = { outcome: 'removed'; version: string; installed: string[] } | { outcome: 'kept_local' | 'absent' };

/** Stops serving `r.name` for the hub's removal `r`: its active row goes, the removal is recorded, its sessions are unloaded. */
export function stopServing(d: RemovalDeps, r: Removal): StopOutcome {
  const active = d.models.getActive(r.name);
  if (!active || d.removals.get(r.name)) return { outcome: 'absent' };
  if (d.models.originOf(r.name) === 'local') return { outcome: 'kept_local' };
  d.models.transaction(() => {
    d.models.clearActive(r.name);
    d.removals.put(r);
  });
  if (d.serving) d.runtime.unload(r.name);
  return { outcome: 'removed', version: active.active, installed: d.models.listVersions(r.name).map((v) => v.version) };
}

/**
 * Forgets removed model `name` (`why`: its keep time is over, or a version waiting for disk space needs the
 * room): its versions' rows and the removal go, then every file no kept version names. `wallNow`: the
 * clock the files' last use is compared with (prune.ts BLOB_GRACE_MS). Returns the removal and the versions
 * forgotten; undefined when it is not removed (any more).
 */
export async function forgetModel(d: RemovalDeps, name: string, why: string, wallNow?: () => number): Promise<{ removal: Removal; versions: string[] } | undefined> {
  const r = d.removals.get(name);
  if (!r || d.models.getActive(name)) return undefined;
  const versions = d.models.listVersions(name).map((v) => v.version);
  d.models.transaction(() => {
    for (const v of versions) d.models.removeVersion(name, v);
    d.removals.clear(name);
  });
  let files = 0;
  try {
    files = await sweepFiles({ ...d, ...(wallNow ? { wallNow } : {}) });
  } catch (err) {
    d.logger.warn({ model: name, err: (err as Error).message }, 'deleting the files of a forgotten model failed: they go with the next prune');
  }
  d.logger.info({ model: name, versions, files, why }, 'removed model forgotten');
  return { removal: r, versions };
}
