// Threshold verification of signatures against a trust document's role (after
// TUF): each keyId counts once, signatures by keys outside the role are ignored
// (they neither count nor fail, and the message names the role's keys), invalid
// signatures by role keys are reported.
import { AppError } from '../errors.js';
import type { Signature } from '../wire/common.js';
import type { Role, TrustBody } from '../wire/trust.js';
import { verifyBytes } from './sign.js';

export interface ThresholdResult {
  ok: boolean;
  role: Role;
  threshold: number;
  /** keyIds of role keys with a valid signature (each once). */
  valid: string[];
  /** keyIds of role keys whose signatures all failed to verify. */
  invalid: string[];
  /** keyIds of signers outside the role (not counted, not failed). */
  ignored: string[];
  /** keyIds that signed more than once (counted once). */
  duplicates: string[];
  message: string;
}

const short = (k: string) => `${k.slice(0, 8)}…`;
const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** The public key of `keyId` from the trust document, if it decodes to 32 bytes. */
export function trustPublicKey(trust: TrustBody, keyId: string): Uint8Array | null {
  const entry = trust.keys[keyId];
  if (!entry) return null;
  const raw = Buffer.from(entry.public, 'base64');
  return raw.length === 32 ? new Uint8Array(raw) : null;
}

export function checkThreshold(trust: TrustBody, role: Role, bytes: Uint8Array, signatures: Signature[]): ThresholdResult {
  const spec = trust.roles[role];
  const roleKeys = new Set(spec.keyIds);
  const valid = new Set<string>();
  const tried = new Set<string>();
  const ignored = new Set<string>();
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const s of signatures) {
    if (seen.has(s.keyId)) duplicates.add(s.keyId);
    seen.add(s.keyId);
    if (!roleKeys.has(s.keyId)) { ignored.add(s.keyId); continue; }
    tried.add(s.keyId);
    const pub = trustPublicKey(trust, s.keyId);
    if (s.alg === 'ed25519' && pub && verifyBytes(pub, bytes, s.sig)) valid.add(s.keyId);
  }
  const invalid = [...tried].filter((k) => !valid.has(k));
  const ok = valid.size >= spec.threshold;
  const notes = [
    // An unsigned document (a bundle straight from `model pack`) says so, with the keys that would count.
    ...(signatures.length === 0 ? [`unsigned: expected ${plural(spec.threshold, 'signature', 'signatures')} by the ${role} keys ${spec.keyIds.map(short).join(', ')}`] : []),
    ...invalid.map((k) => `key ${short(k)} signature invalid`),
    ...(duplicates.size ? [`${plural(duplicates.size, 'key', 'keys')} signed more than once, counted once (${[...duplicates].map(short).join(', ')})`] : []),
    // A key outside the role is unknown or rotated out: name it and the keys that do count.
    ...(ignored.size ? [`${plural(ignored.size, 'signature by a key', 'signatures by keys')} not among the ${role} keys of trust version ${trust.version} ignored (${[...ignored].map(short).join(', ')}); expected ${role} keys: ${spec.keyIds.map(short).join(', ')}`] : []),
  ];
  const message = `${role} signatures: ${valid.size} of threshold ${spec.threshold} valid${notes.length ? ` (${notes.join('; ')})` : ''}`;
  return { ok, role, threshold: spec.threshold, valid: [...valid], invalid, ignored: [...ignored], duplicates: [...duplicates], message };
}

/**
 * Throws unless a threshold of `role` keys signed `bytes`: SIGNATURE_INVALID when
 * some role key's signature failed (tampering), else THRESHOLD_NOT_MET. `what`
 * prefixes the message (e.g. "bundle demo-1.0.0").
 */
export function assertThreshold(trust: TrustBody, role: Role, bytes: Uint8Array, signatures: Signature[], what?: string): ThresholdResult {
  const r = checkThreshold(trust, role, bytes, signatures);
  if (r.ok) return r;
  const message = what ? `${what}: ${r.message}` : r.message;
  throw new AppError(r.invalid.length > 0 ? 'SIGNATURE_INVALID' : 'THRESHOLD_NOT_MET', message, { details: r });
}
