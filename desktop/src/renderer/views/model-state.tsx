// What a version's state means where more than the models view says it (the drift view, New rollout): why the hub
// refuses to deploy one (not trusted, bundle dropped) and the models list's loading state. Apart from views/models.tsx,
// so those views do not load the models view's signature checks and Try it (docs/console.md "Bundle size").
import type { ModelVersionInfo } from '@edgefleet/shared';
import { loadModels, models, modelsRead } from '../store.js';
import { ListLoad, time } from '../ui/states.js';
import { background } from '../background.js';

export const short = (k: string) => k.slice(0, 12);
/** A version no threshold of the hub's current release keys signed (`trusted: false` in GET /models; docs/security.md "Key rotation and stored versions"). */
export const SIGNED_BY_ROTATED_OUT = 'signed by rotated-out keys: sign it with a current release key and push it as a new version';
export const NOT_TRUSTED = `Not deployable: the hub refuses deploys and rollouts of it (VERSION_NOT_TRUSTED): ${SIGNED_BY_ROTATED_OUT}`;
/** Said of a version whose bundle was dropped (`bundleDropped` in GET /models), as the hub's BUNDLE_DROPPED refusal says it. */
export function droppedText(v: Pick<ModelVersionInfo, 'bundleDropped' | 'bundle'>): string | null {
  const d = v.bundleDropped;
  return d ? `bundle dropped at ${time(d.at)} by ${d.by} (its history is kept): the hub refuses deploys, rollouts and downloads of it (BUNDLE_DROPPED); `
    + `push the same bundle again (sha256 ${short(v.bundle.sha256)}…) to use it, or use a newer version` : null;
}
/** Why the hub refuses to deploy or roll out a version (not trusted, bundle dropped), or null. */
export const notDeployable = (v: ModelVersionInfo): string | null => droppedText(v) ?? (v.trusted === false ? NOT_TRUSTED : null);
/** The models' state where a view needs it (models, drift, New rollout): ui/states.tsx ListLoad. */
export const ModelsLoad = () => <ListLoad what="models" list={models.value} read={modelsRead.value} retry={() => background(loadModels())} />;
