// What building a device's desired document reads of the device (desired.ts storeDesired): its last seq, the seq it
// reported applying, its tags, its assignments and its shadow candidates. Read for every device of a call at once, a chunk
// of ids a statement, instead of five statements a device (docs/decisions/0188-deployment-commit-set-based.md). Read in
// the transaction that builds and stores the documents, before the first: a device's document writes only that device's
// rows (its document, its rows' holds, its removals carried), so what was read of the others is what a read at their turn
// finds. A device named twice is read again at its second turn (its first document raised its seq).
import type { ShadowRow } from '../store/shadows-repo.js';
import type { EffectiveModel } from '../store/deployments-repo.js';
import type { Store } from '../store/index.js';
import { InList } from '../store/in-list.js';

export interface DeviceInputs {
  lastSeq: number;
  /** The last seq the device reported applying (0 when it never reported). */
  reportedSeq: number;
  /** Its tags, as the configuration layers read them; undefined: read them there. */
  tags: Record<string, string> | undefined;
  effective: EffectiveModel[];
  /** Its shadow candidates by model. */
  shadows: ReadonlyMap<string, ShadowRow>;
}

const NONE: ReadonlyMap<string, ShadowRow> = new Map();
const deviceQueries = new WeakMap<Store, InList>();

/** The inputs of each of `deviceIds`, read at once; the returned function gives a device's (read again for a device asked twice). */
export function desiredInputs(store: Store, deviceIds: readonly string[]): (deviceId: string) => DeviceInputs {
  const seqs = store.desired.lastSeqs(deviceIds);
  const effective = store.deployments.effectiveForMany(deviceIds);
  const shadows = store.shadows.forDevices(deviceIds);
  const devices = deviceRows(store, deviceIds);
  const taken = new Set<string>();
  return (id) => {
    if (taken.has(id)) {
      return { lastSeq: store.desired.lastSeq(id), reportedSeq: store.devices.reportedSeq(id), tags: undefined, effective: store.deployments.effectiveFor(id), shadows: store.shadows.forDevices([id]).get(id) ?? NONE };
    }
    taken.add(id);
    const d = devices.get(id);
    return { lastSeq: seqs.get(id) ?? 0, reportedSeq: d?.reportedSeq ?? 0, tags: d?.tags ?? {}, effective: effective.get(id) ?? [], shadows: shadows.get(id) ?? NONE };
  };
}

/** Tags and reported seq of each device (as DevicesRepo.reportedSeq and ConfigRepo.tagsOf read them, one device at a time). */
function deviceRows(store: Store, deviceIds: readonly string[]): Map<string, { tags: Record<string, string>; reportedSeq: number }> {
  let q = deviceQueries.get(store);
  if (!q) deviceQueries.set(store, (q = new InList(store.db, (n) => `SELECT id, tags, reported FROM devices WHERE id IN (${InList.marks(n)})`)));
  const out = new Map<string, { tags: Record<string, string>; reportedSeq: number }>();
  for (const [st, ids] of q.chunks(deviceIds)) {
    for (const r of st.all(...ids) as Array<{ id: string; tags: string; reported: string | null }>) {
      const s = r.reported ? (JSON.parse(r.reported) as { lastAppliedSeq?: unknown }).lastAppliedSeq : undefined;
      out.set(r.id, { tags: JSON.parse(r.tags) as Record<string, string>, reportedSeq: typeof s === 'number' && Number.isSafeInteger(s) && s > 0 ? s : 0 });
    }
  }
  return out;
}
