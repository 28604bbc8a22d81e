// Building blocks shared by every wire schema: versioned tags, hashes, ids,
// the signed envelope, and one parse function that turns zod issues into an
// AppError naming the field and what was expected.
import { z } from 'zod';
import { AppError } from '../errors.js';
import { describePath } from './path.js';
import { withUnknownKeyHints } from './unknown-fields.js';

/** A schema tag such as "edgefleet.manifest/v1"; any other value is refused with UNSUPPORTED_VERSION. */
export function schemaTag<T extends string>(tag: T) {
  return z.literal(tag, {
    error: (iss) => `unsupported schema ${JSON.stringify(iss.input)}: expected "${tag}"`,
  });
}

export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256 as 64 lowercase hex characters');
export const KeyId = Sha256Hex;
export const Base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected base64');
export const IsoTime = z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date-time such as 2026-01-31T12:00:00Z' });
/**
 * A time a client writes into a query (`?since=`): any ISO 8601 date-time, handed on as canonical UTC
 * with milliseconds, the form stored times take, so that SQL comparing it as text compares times:
 * `…T00:05:00Z` and `…T02:05:00+02:00` both become `…T00:05:00.000Z` (as text, "Z" sorts after ".",
 * and an offset is not a time at all).
 */
export const QueryTime = IsoTime.transform((s) => new Date(s).toISOString());
/** Tags are key=value labels (devices, enrollment tokens, tag targets); keys are short identifiers so that `--tag k=v` stays unambiguous. */
export const TagKey = z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/, 'expected a tag key of lowercase letters, digits, "_", "." or "-" (at most 64)');
/** At most this many tags on a device or an enrollment token (keys at most 64, values 256 characters). */
export const MAX_TAGS = 64;
export const Tags = z
  .record(TagKey, z.string().max(256, 'expected a tag value of at most 256 characters'))
  .refine((t) => Object.keys(t).length <= MAX_TAGS, {
    error: (iss) => `expected at most ${MAX_TAGS} tags, got ${Object.keys(iss.input as object).length}`,
  });
export type Tags = z.infer<typeof Tags>;
export const SemVer = z
  .string()
  .regex(/^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/, 'expected a semantic version such as 1.2.3');
/** Model names: lowercase, digits, '.', '_' and '-', at most 64 characters. */
export const ModelName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'expected a model name of lowercase letters, digits, ".", "_" or "-" (at most 64)');
/** Device ids: the MQTT username and client id, and a topic level, so no '/', '+', '#'. */
/**
 * Which clock stamped a time on the box: the boot and how many times the wall clock stepped since
 * (docs/decisions/0059-clock-marks.md). Windows carry the mark of the clock that opened them, presence
 * and state the present one, so the hub places each window by the offset of the clock that recorded it.
 */
export const CLOCK_MARK_RE = /^[A-Za-z0-9._:-]{1,64}$/;
export const ClockMark = z.string().regex(CLOCK_MARK_RE, 'expected a clock mark of letters, digits, ".", "_", ":" or "-" (at most 64)');

export const DeviceId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'expected a device id of letters, digits, ".", "_" or "-" (at most 128)');
export const Count = z.number().int().nonnegative();

export const Signature = z.object({
  keyId: KeyId,
  alg: z.literal('ed25519', { error: 'expected alg "ed25519"' }),
  sig: Base64,
});
export type Signature = z.infer<typeof Signature>;

/** `{signed, signatures}`: signatures are over the canonical JSON bytes of `signed` (after TUF). */
export function signedEnvelope<S extends z.ZodType>(signed: S) {
  return z.object({ signed, signatures: z.array(Signature) });
}

export const ErrorInfo = z.object({ code: z.string(), message: z.string() });
export type ErrorInfo = z.infer<typeof ErrorInfo>;

export { describePath } from './path.js';

/**
 * Validates `value` against `schema` or throws an AppError naming `what`, each
 * failing field and what it expected. A wrong schema tag gives UNSUPPORTED_VERSION.
 */
export function parseWire<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  // A key a strict object does not know names the one most likely meant ("maxuses": did you mean maxUses?).
  const issues = r.error.issues.slice(0, 8).flatMap((i) =>
    i.code === 'unrecognized_keys' ? withUnknownKeyHints(schema, value, [i]).map((h) => `${describePath(h.path)}: ${h.message}`) : [`${describePath(i.path)}: ${issueText(i)}`]);
  const versionIssue = r.error.issues.find((i) => i.path.length === 1 && i.path[0] === 'schema')
    ?? r.error.issues.find((i) => i.message.startsWith('unsupported schema'));
  const code = versionIssue ? 'UNSUPPORTED_VERSION' : 'SCHEMA_INVALID';
  const more = r.error.issues.length > 8 ? ` (and ${r.error.issues.length - 8} more)` : '';
  return fail(code, `invalid ${what}: ${issues.join('; ')}${more}`, r.error.issues);
}

/**
 * An issue's message; zod's own for a field left out ("Invalid input: expected string, received
 * undefined") says it is required and missing instead, as a manifest written by hand leaves one out.
 */
function issueText(i: z.core.$ZodIssue): string {
  const m = i.code === 'invalid_type' ? /^Invalid input: (expected .+), received undefined$/.exec(i.message) : null;
  return m ? `required, but missing (${m[1]})` : i.message;
}

function fail(code: 'UNSUPPORTED_VERSION' | 'SCHEMA_INVALID', message: string, details: unknown): never {
  throw new AppError(code, message, { details });
}

/** Parses a JSON text (Buffer or string) and validates it; bad JSON is SCHEMA_INVALID naming `what`. */
export function parseWireJson<S extends z.ZodType>(schema: S, text: string | Uint8Array, what: string): z.infer<S> {
  let value: unknown;
  try {
    value = JSON.parse(typeof text === 'string' ? text : Buffer.from(text).toString('utf8'));
  } catch (err) {
    throw new AppError('SCHEMA_INVALID', `invalid ${what}: not JSON (${(err as Error).message})`);
  }
  return parseWire(schema, value, what);
}
