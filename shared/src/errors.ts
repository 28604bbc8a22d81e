// The closed list of error codes that cross a boundary (HTTP, MQTT, CLI exit).
// A new code fails to compile until it is given an HTTP status in HTTP_STATUS.
// Shape after tRPC's TRPCError / getHTTPStatusCode. No zod here: the agent daemon loads this (shared/src/core.ts).
import type { NotFoundDetails, NotFoundKind } from './wire/not-found.js';

export const ErrorCode = {
  BAD_REQUEST: 'BAD_REQUEST',
  INVALID_INPUT: 'INVALID_INPUT',
  SCHEMA_INVALID: 'SCHEMA_INVALID',
  UNSUPPORTED_VERSION: 'UNSUPPORTED_VERSION',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  /** A known route asked with a method it does not take; `details.allow` lists the ones it does (the `Allow` header). */
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  RATE_LIMITED: 'RATE_LIMITED',
  OVERLOADED: 'OVERLOADED',
  NOT_READY: 'NOT_READY',
  SIGNATURE_INVALID: 'SIGNATURE_INVALID',
  THRESHOLD_NOT_MET: 'THRESHOLD_NOT_MET',
  UNTRUSTED_KEY: 'UNTRUSTED_KEY',
  TRUST_EXPIRED: 'TRUST_EXPIRED',
  /** This box's clock disagrees with the hub's by more than the skew allowance (docs/operations.md). */
  CLOCK_SKEW: 'CLOCK_SKEW',
  TRUST_ROTATION_INVALID: 'TRUST_ROTATION_INVALID',
  HASH_MISMATCH: 'HASH_MISMATCH',
  SIZE_MISMATCH: 'SIZE_MISMATCH',
  BUNDLE_INVALID: 'BUNDLE_INVALID',
  PATH_TRAVERSAL: 'PATH_TRAVERSAL',
  MODEL_LOAD_FAILED: 'MODEL_LOAD_FAILED',
  MODEL_IO_MISMATCH: 'MODEL_IO_MISMATCH',
  MODEL_PREFLIGHT_FAILED: 'MODEL_PREFLIGHT_FAILED',
  AGENT_TOO_OLD: 'AGENT_TOO_OLD',
  /** An encrypted bundle without a content key sealed to this device (docs/security.md "Sealed models"). */
  CONTENT_KEY_MISSING: 'CONTENT_KEY_MISSING',
  /** A stored version no longer signed by a threshold of the current trust's release keys: the hub will not send it (docs/security.md "Key rotation and stored versions"). */
  VERSION_NOT_TRUSTED: 'VERSION_NOT_TRUSTED',
  BACKEND_UNSUPPORTED: 'BACKEND_UNSUPPORTED',
  /** Ciphertext or a sealed key that does not open with the key given. */
  DECRYPT_FAILED: 'DECRYPT_FAILED',
  /** A version's bundle cannot be dropped: a device runs it or is told to, a rollout or shadow moves to or from it, or it is a rollback target (docs/hub.md "Dropping old bundles"). */
  BUNDLE_IN_USE: 'BUNDLE_IN_USE',
  /** A version whose bundle was dropped (its history kept): not deployable or downloadable until the same bundle is pushed again. */
  BUNDLE_DROPPED: 'BUNDLE_DROPPED',
  DOCUMENT_EXPIRED: 'DOCUMENT_EXPIRED',
  DOCUMENT_REPLAYED: 'DOCUMENT_REPLAYED',
  DOCUMENT_WRONG_DEVICE: 'DOCUMENT_WRONG_DEVICE',
  /** The hub removed this model from the box (docs/decisions/0066-models-leave-a-box-by-an-explicit-removal.md): gone, not missing. */
  MODEL_REMOVED: 'MODEL_REMOVED',
  /** The request acts on more than an operator may without confirming the count (e.g. an undeploy reaching many devices). */
  CONFIRMATION_REQUIRED: 'CONFIRMATION_REQUIRED',
  INFERENCE_FAILED: 'INFERENCE_FAILED',
  TIMEOUT: 'TIMEOUT',
  DISK_FULL: 'DISK_FULL',
  IO_ERROR: 'IO_ERROR',
  CONFIG_INVALID: 'CONFIG_INVALID',
  /** A remote configuration document names a setting that is the box's own (docs/agent.md "Remote configuration"). */
  CONFIG_NOT_REMOTE: 'CONFIG_NOT_REMOTE',
  /** hub.db or agent.db holds a migration this program does not know: a newer version wrote it (docs/operations.md "Upgrades"). */
  SCHEMA_TOO_NEW: 'SCHEMA_TOO_NEW',
  /** A file of the installed program is missing (the gRPC proto, a module): reinstall it (docs/operations.md "Troubleshooting by symptom"). */
  INSTALL_INCOMPLETE: 'INSTALL_INCOMPLETE',
  /** SQL the PostgreSQL backend cannot translate from SQLite's dialect (docs/decisions/0040-postgresql.md). */
  UNSUPPORTED_SQL: 'UNSUPPORTED_SQL',
  /** The hub's PostgreSQL server cannot be reached or did not answer in time (docs/hub.md "Database"). */
  DATABASE_UNAVAILABLE: 'DATABASE_UNAVAILABLE',
  /** A write waited too long for a row another writer held (SQLite's busy wait, PostgreSQL's lock_timeout): try again (docs/hub.md "Database"). */
  DATABASE_BUSY: 'DATABASE_BUSY',
  /** `edgefleet rollout show --watch` saw the rollout end rolled back or aborted, not completed (docs/rollouts.md "CLI"). */
  ROLLOUT_NOT_COMPLETED: 'ROLLOUT_NOT_COMPLETED',
  GATE_NOT_ACCEPTABLE: 'GATE_NOT_ACCEPTABLE',
  /** An undo (un-accepting a gate, taking back an alert's acknowledgement) found nothing it may undo now (docs/rollouts.md, docs/drift.md). */
  NOTHING_TO_UNDO: 'NOTHING_TO_UNDO',
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const HTTP_STATUS: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  INVALID_INPUT: 400,
  SCHEMA_INVALID: 400,
  UNSUPPORTED_VERSION: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  METHOD_NOT_ALLOWED: 405,
  NOT_FOUND: 404,
  CONFLICT: 409,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  OVERLOADED: 503,
  NOT_READY: 503,
  SIGNATURE_INVALID: 422,
  THRESHOLD_NOT_MET: 422,
  UNTRUSTED_KEY: 422,
  TRUST_EXPIRED: 422,
  CLOCK_SKEW: 422,
  TRUST_ROTATION_INVALID: 422,
  HASH_MISMATCH: 422,
  SIZE_MISMATCH: 422,
  BUNDLE_INVALID: 422,
  PATH_TRAVERSAL: 422,
  MODEL_LOAD_FAILED: 422,
  MODEL_IO_MISMATCH: 422,
  MODEL_PREFLIGHT_FAILED: 422,
  AGENT_TOO_OLD: 422,
  CONTENT_KEY_MISSING: 422,
  VERSION_NOT_TRUSTED: 422,
  BACKEND_UNSUPPORTED: 422,
  DECRYPT_FAILED: 422,
  DOCUMENT_EXPIRED: 422,
  DOCUMENT_REPLAYED: 409,
  DOCUMENT_WRONG_DEVICE: 422,
  MODEL_REMOVED: 410,
  CONFIRMATION_REQUIRED: 409,
  INFERENCE_FAILED: 500,
  TIMEOUT: 504,
  DISK_FULL: 507,
  IO_ERROR: 500,
  CONFIG_INVALID: 400,
  CONFIG_NOT_REMOTE: 400,
  SCHEMA_TOO_NEW: 500,
  INSTALL_INCOMPLETE: 500,
  UNSUPPORTED_SQL: 500,
  DATABASE_UNAVAILABLE: 503,
  DATABASE_BUSY: 503,
  ROLLOUT_NOT_COMPLETED: 409,
  GATE_NOT_ACCEPTABLE: 409,
  NOTHING_TO_UNDO: 409,
  BUNDLE_IN_USE: 409,
  BUNDLE_DROPPED: 409,
  INTERNAL: 500,
};

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;
  constructor(code: ErrorCode, message: string, opts: { cause?: unknown; details?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.details = opts.details;
  }
  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }
  toJSON(): { code: ErrorCode; message: string; details?: unknown } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/** NOT_FOUND for a missing thing: `message` for people (it names the id), `details` `{kind, id}` for programs (shared/src/wire/not-found.ts). */
export function notFound(kind: NotFoundKind, id: string | number, message: string, more: Omit<NotFoundDetails, 'kind' | 'id'> = {}): AppError {
  const details: NotFoundDetails = { kind, id, ...more };
  return new AppError('NOT_FOUND', message, { details });
}

export function isErrorCode(x: unknown): x is ErrorCode {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(HTTP_STATUS, x);
}

/** Turns anything thrown into an AppError; unknown errors become INTERNAL (or DISK_FULL / IO_ERROR by errno). */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as { code?: unknown; message?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (e && (e.code === 'ENOSPC' || e.code === 'SQLITE_FULL' || e.code === 'EDQUOT')) return new AppError('DISK_FULL', `disk full: ${message}`, { cause: err });
  if (e && e.code === 'SQLITE_BUSY') return new AppError('DATABASE_BUSY', `the database is busy: ${message}`, { cause: err });
  if (e && typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) {
    return new AppError('IO_ERROR', message, { cause: err });
  }
  return new AppError('INTERNAL', message, { cause: err });
}

/**
 * A write the disk refused (full: DISK_FULL, else IO_ERROR by errno) as an AppError that names where it
 * was going and what room was expected: `${where}: disk full: ENOSPC: … (expected ${expected})`. Our own
 * AppErrors and anything else pass as they are (`expected` is only worked out for a storage error).
 */
export function storageError(err: unknown, where: string, expected: string | (() => string)): unknown {
  if (err instanceof AppError) return err;
  const e = toAppError(err);
  if (e.code !== 'DISK_FULL' && e.code !== 'IO_ERROR') return err;
  return new AppError(e.code, `${where}: ${e.message} (expected ${typeof expected === 'string' ? expected : expected()})`, { cause: err });
}

/**
 * A file we were given that could not be read, in the reader's terms: missing (NOT_FOUND), a directory
 * (BAD_REQUEST: `expected a file`), not readable by this user or anything else (IO_ERROR with its errno).
 */
export function fileReadError(err: unknown, what: string, path: string): AppError {
  const code = (err as { code?: unknown }).code;
  if (code === 'ENOENT') return new AppError('NOT_FOUND', `cannot read ${what} ${path}: no such file`, { cause: err });
  if (code === 'EISDIR') return new AppError('BAD_REQUEST', `cannot read ${what} ${path}: it is a directory; expected a file`, { cause: err });
  if (code === 'EACCES') return new AppError('IO_ERROR', `cannot read ${what} ${path}: this user may not read it (EACCES)`, { cause: err });
  return new AppError('IO_ERROR', `cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err });
}
