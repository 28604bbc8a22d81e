// A trust document from ef/v1/trust (docs/architecture.md section 4): applied only when it is newer
// and chains from what this agent trusts. When it changes the hub keys, a new seq space begins
// (docs/operations.md "A stolen hub key"): floors stay with their keys, a removed key can no longer
// sign, and blocks measured in the old space lift at the next document.
import { toAppError, verifyTrustRotation, type TrustDocument } from '@edgefleet/shared';
import type { TrustRepo } from '../store/trust-repo.js';
import type { Emit } from './sync-deps.js';
import type { SyncStore } from './sync-store.js';

/** Returns the version now trusted when `payload` was a newer document (applied or refused), else null. */
export function onTrustDocument(payload: Buffer, d: { trust: TrustRepo; store: SyncStore; emit: Emit; now: Date }): number | null {
  const current = d.trust.get();
  if (!current) return null;
  let next: TrustDocument;
  try {
    next = JSON.parse(payload.toString('utf8')) as TrustDocument;
  } catch {
    return null;
  }
  if (!next?.signed || typeof next.signed.version !== 'number' || next.signed.version <= current.signed.version) return null;
  try {
    verifyTrustRotation(current.signed, next, { now: d.now });
    const before = [...current.signed.roles.hub.keyIds].sort().join(',');
    const after = [...next.signed.roles.hub.keyIds].sort().join(',');
    d.trust.put(next, next.signed.version);
    if (before !== after) d.store.newSeqSpace();
    d.emit({
      kind: 'trust_rotated',
      message: `trust rotated from version ${current.signed.version} to ${next.signed.version}${before !== after ? '; the hub keys changed: documents signed by removed keys are refused and new keys start a new seq space' : ''}`,
    });
    return next.signed.version;
  } catch (err) {
    const e = toAppError(err);
    // The retained document comes again at every connection: the same version refused the same way is told once.
    const key = `${next.signed.version}:${e.code}`;
    if (d.store.trustRefused() === key) return null;
    d.store.setTrustRefused(key);
    d.emit({ kind: 'trust_refused', code: e.code, message: `trust version ${next.signed.version} refused: ${e.message}` });
    return current.signed.version;
  }
}
