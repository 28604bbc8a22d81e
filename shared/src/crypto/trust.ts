// Trust documents (edgefleet.trust/v1, docs/architecture.md section 4): creation,
// verification (self-signed by a threshold of its root keys, not expired),
// root rotation, and the generic signed-envelope verifier used for desired state.
import type { z } from 'zod';
import { canonicalBytes } from '../canonical.js';
import { AppError } from '../errors.js';
import { parseWire, Signature, signedEnvelope } from '../wire/common.js';
import { type Role, TRUST_SCHEMA, TrustBody, TrustDocument } from '../wire/trust.js';
import type { PubKey } from './keys.js';
import { assertThreshold, checkThreshold } from './threshold.js';

export interface TrustInput {
  version: number;
  /** ISO date-time or Date. */
  expires: string | Date;
  root: PubKey[];
  release: PubKey[];
  hub: PubKey[];
  /** Defaults to 1 per role. */
  thresholds?: Partial<Record<Role, number>>;
}

/** Builds a schema-valid trust body; a key may serve in several roles. */
export function createTrustBody(input: TrustInput): TrustBody {
  const keys: Record<string, { alg: 'ed25519'; public: string }> = {};
  const ids = (list: PubKey[]) => {
    const out: string[] = [];
    for (const k of list) {
      keys[k.keyId] = { alg: 'ed25519', public: Buffer.from(k.publicKey).toString('base64') };
      if (!out.includes(k.keyId)) out.push(k.keyId);
    }
    return out;
  };
  const t = input.thresholds ?? {};
  const body = {
    schema: TRUST_SCHEMA,
    version: input.version,
    expires: typeof input.expires === 'string' ? input.expires : input.expires.toISOString(),
    keys,
    roles: {
      root: { keyIds: ids(input.root), threshold: t.root ?? 1 },
      release: { keyIds: ids(input.release), threshold: t.release ?? 1 },
      hub: { keyIds: ids(input.hub), threshold: t.hub ?? 1 },
    },
  };
  return parseWire(TrustBody, body, 'trust document');
}

function rawSigned(doc: unknown): unknown {
  return (doc as { signed?: unknown } | null)?.signed;
}

function assertNotExpired(body: TrustBody, now: Date, code: 'TRUST_EXPIRED'): void {
  if (Date.parse(body.expires) <= now.getTime()) {
    throw new AppError(code, `trust document version ${body.version} expired at ${body.expires} (now ${now.toISOString()}); expected a trust document that has not expired`);
  }
}

/**
 * Verifies a trust document on its own: schema, a threshold of its own root keys
 * over canonicalJson(signed), and expiry (TRUST_EXPIRED). Returns the body.
 */
export function verifyTrustDocument(doc: unknown, opts: { now: Date }): TrustBody {
  // Another of our files given as --trust (a key, a manifest) has its schema on top: say which it is.
  const other = doc && typeof doc === 'object' && !('signed' in doc) ? (doc as { schema?: unknown }).schema : undefined;
  if (typeof other === 'string') {
    throw new AppError('SCHEMA_INVALID', `invalid trust document: this is a ${JSON.stringify(other).slice(0, 80)} file; expected a signed ${TRUST_SCHEMA} document ({signed, signatures}, as "edgefleet trust init" writes trust.json)`);
  }
  const env = parseWire(TrustDocument, doc, 'trust document');
  // Signatures cover the document as sent (before zod defaults), see decision 0004.
  assertThreshold(env.signed, 'root', canonicalBytes(rawSigned(doc)), env.signatures, `trust document version ${env.signed.version}`);
  assertNotExpired(env.signed, opts.now, 'TRUST_EXPIRED');
  return env.signed;
}

/**
 * Accepts `next` in place of `current` only when its version is higher and it is
 * signed by a threshold of the CURRENT root keys and a threshold of its own root
 * keys; otherwise TRUST_ROTATION_INVALID naming what was missing.
 */
export function verifyTrustRotation(current: TrustBody, next: unknown, opts: { now: Date }): TrustBody {
  const env = parseWire(TrustDocument, next, 'new trust document');
  const body = env.signed;
  if (body.version <= current.version) {
    throw new AppError('TRUST_ROTATION_INVALID', `trust rotation refused: new version ${body.version} is not higher than the current version ${current.version}`);
  }
  const bytes = canonicalBytes(rawSigned(next));
  const old = checkThreshold(current, 'root', bytes, env.signatures);
  const own = checkThreshold(body, 'root', bytes, env.signatures);
  const missing: string[] = [];
  if (!old.ok) missing.push(`not signed by a threshold of the current (version ${current.version}) root keys: ${old.message}`);
  if (!own.ok) missing.push(`not signed by a threshold of its own (version ${body.version}) root keys: ${own.message}`);
  if (missing.length) {
    throw new AppError('TRUST_ROTATION_INVALID', `trust rotation to version ${body.version} refused: ${missing.join('; ')}`, { details: { current: old, next: own } });
  }
  assertNotExpired(body, opts.now, 'TRUST_EXPIRED');
  return body;
}

/**
 * Verifies a `{signed, signatures}` envelope: schema (bodySchema, named `what`)
 * and a threshold of `role` keys of `trust` over canonicalJson(signed as sent).
 * Used for desired-state documents signed by hub keys. Returns the parsed body.
 */
export function verifyEnvelope<S extends z.ZodType>(doc: unknown, trust: TrustBody, role: Role, bodySchema: S, what: string): z.infer<S> {
  const env = parseWire(signedEnvelope(bodySchema), doc, what) as { signed: z.infer<S>; signatures: Signature[] };
  if (env.signatures.length === 0) {
    throw new AppError('THRESHOLD_NOT_MET', `${what} is unsigned; expected signatures by a threshold of ${trust.roles[role].threshold} ${role} key(s)`);
  }
  assertThreshold(trust, role, canonicalBytes(rawSigned(doc)), env.signatures, what);
  return env.signed;
}
