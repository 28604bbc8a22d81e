// A deploy or rollout to devices whose onnxruntime backend cannot load the version is refused before
// anything is stored, naming each such device and why (docs/decisions/0129-model-backends-checked.md):
// the hub knows at push which backends load it (model-backends.ts) and each device's backend
// (reported.backend, from its capabilities), so those boxes would only fail MODEL_LOAD_FAILED one by one.
import { AppError, runtimeBackendOf, type ReportedState } from '@edgefleet/shared';
import type { Store } from '../store/index.js';

/** How many devices the refusal names in its message (all of them in details, up to 100). */
const NAMED = 3;

/**
 * BACKEND_UNSUPPORTED when a device of `devices` reported a backend the version is known not to load on
 * (a version not checked, and a device that never said its backend, pass).
 */
export function refuseUnloadableBackends(store: Store, model: string, version: string, devices: readonly string[]): void {
  const b = store.models.get(model, version).backends;
  if (!b || Object.keys(b.refused).length === 0) return;
  // One query per backend the version refuses (the devices that said it among their capabilities), not one per device of the target.
  const wanted = new Set(devices);
  const refused: Array<{ device: string; backend: string }> = [];
  for (const k of Object.keys(b.refused) as Array<keyof typeof b.refused>) {
    const rows = store.db.prepare('SELECT id, reported FROM devices WHERE reported LIKE ? ORDER BY id').all(`%"backend-${k}"%`) as Array<{ id: string; reported: string }>;
    for (const r of rows) {
      if (wanted.has(r.id) && runtimeBackendOf((JSON.parse(r.reported) as ReportedState).capabilities ?? []) === k) refused.push({ device: r.id, backend: k });
    }
  }
  if (refused.length === 0) return;
  const kinds = [...new Set(refused.map((r) => r.backend))] as Array<keyof typeof b.refused>;
  const named = `${refused.slice(0, NAMED).map((r) => `${r.device} (${r.backend})`).join(', ')}${refused.length > NAMED ? `, … (${refused.length} in all)` : ''}`;
  const why = kinds.map((k) => `${model} ${version} does not load on the ${k} backend: ${b.refused[k]}`).join('; ');
  throw new AppError('BACKEND_UNSUPPORTED', `${refused.length} device(s) of the target run a backend that cannot load it: ${named}; ${why}. `
    + `Leave those devices out of the target (by --devices or tags), or push a version that loads on ${kinds.join(', ')} (edgefleet model show ${model} ${version} says which backends load it)`,
  { details: { model, version, devices: refused.slice(0, 100) } });
}
