// A trust document from ef/v1/trust (docs/architecture.md section 4): applied only when it is newer
// and chains from what this agent trusts. When it changes the hub keys, a new seq space begins
// (docs/operations.md "A stolen hub key"): floors stay with their keys, a removed key can no longer
// sign, and blocks measured in the old space lift at the next document.
import { TRUST_CHAIN_MAX, toAppError, verifyTrustRotation, type TrustBody, type TrustDocument } from '@edgefleet/shared';
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
    const steps = chainTo(current.signed, next, (next as { chain?: unknown }).chain, d.now);
    const before = [...current.signed.roles.hub.keyIds].sort().join(',');
    const after = [...next.signed.roles.hub.keyIds].sort().join(',');
    d.trust.put({ signed: next.signed, signatures: next.signatures }, next.signed.version);
    if (before !== after) d.store.newSeqSpace();
    d.emit({
      kind: 'trust_rotated',
      message: `trust rotated from version ${current.signed.version} to ${next.signed.version}${steps.length ? ` through version${steps.length > 1 ? 's' : ''} ${steps.join(', ')}` : ''}`
        + `${before !== after ? '; the hub keys changed: documents signed by removed keys are refused and new keys start a new seq space' : ''}`,
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

/**
 * Verifies `next` from `current`: directly, or, when that fails, through the versions between them in
 * `chain` (the hub's earlier documents, ef/v1/trust), each signed by a threshold of the roots before it
 * and of its own. An intermediate may have expired since; the newest may not. Returns the versions passed
 * through (none for a direct rotation); throws the direct rotation's error when no chain leads there.
 */
function chainTo(current: TrustBody, next: TrustDocument, chain: unknown, now: Date): number[] {
  let direct: unknown;
  try {
    verifyTrustRotation(current, next, { now });
    return [];
  } catch (err) {
    direct = err;
  }
  if (!Array.isArray(chain)) throw direct;
  const between = chain.slice(-TRUST_CHAIN_MAX)
    .filter((c): c is TrustDocument => typeof (c as TrustDocument | null)?.signed?.version === 'number' && c.signed.version > current.version && c.signed.version < next.signed.version)
    .sort((a, b) => a.signed.version - b.signed.version);
  let at = current;
  const steps: number[] = [];
  try {
    for (const c of between) {
      if (c.signed.version <= at.version) continue;
      at = verifyTrustRotation(at, c, { now: new Date(0) });
      steps.push(at.version);
    }
    verifyTrustRotation(at, next, { now });
  } catch {
    throw direct;
  }
  return steps;
}
