// Who a failed request counts against (docs/agent-summaries.md "Error kinds"). Summary windows keep
// errors by code; this is the one place that sorts codes into kinds, so the agent's policy, the
// summaries CLI and the hub's totals judge the same way. Only model failures count against a model
// version: a caller's bad request or load we shed is reported, never held against the model.
import { ErrorCode } from './errors.js';

/** input: the caller sent something wrong (4xx); load: refused for capacity (503, 429); model: the model or its runtime failed. */
export type ErrorKind = 'input' | 'load' | 'model';
export const ERROR_KINDS: readonly ErrorKind[] = ['input', 'load', 'model'];

/** Every code has a kind: a new code in ErrorCode fails to compile until it is classified here. */
export const ERROR_KIND: Record<ErrorCode, ErrorKind> = {
  BAD_REQUEST: 'input',
  INVALID_INPUT: 'input',
  SCHEMA_INVALID: 'input',
  UNSUPPORTED_VERSION: 'input',
  PAYLOAD_TOO_LARGE: 'input',
  UNSUPPORTED_MEDIA_TYPE: 'input',
  METHOD_NOT_ALLOWED: 'input',
  CLOCK_SKEW: 'input',
  NOT_FOUND: 'input',
  CONFLICT: 'input',
  UNAUTHENTICATED: 'input',
  FORBIDDEN: 'input',
  RATE_LIMITED: 'load',
  OVERLOADED: 'load',
  NOT_READY: 'load',
  SIGNATURE_INVALID: 'input',
  THRESHOLD_NOT_MET: 'input',
  UNTRUSTED_KEY: 'input',
  TRUST_EXPIRED: 'input',
  TRUST_ROTATION_INVALID: 'input',
  HASH_MISMATCH: 'input',
  SIZE_MISMATCH: 'input',
  BUNDLE_INVALID: 'input',
  PATH_TRAVERSAL: 'input',
  // 422 like the bundle codes, but the model itself does not load or run as its manifest says.
  MODEL_LOAD_FAILED: 'model',
  MODEL_IO_MISMATCH: 'model',
  MODEL_PREFLIGHT_FAILED: 'model',
  AGENT_TOO_OLD: 'input',
  CONTENT_KEY_MISSING: 'input',
  VERSION_NOT_TRUSTED: 'input',
  BACKEND_UNSUPPORTED: 'input',
  DECRYPT_FAILED: 'input',
  DOCUMENT_EXPIRED: 'input',
  DOCUMENT_REPLAYED: 'input',
  DOCUMENT_WRONG_DEVICE: 'input',
  // A caller asking for a model the hub removed: not the model's failure.
  MODEL_REMOVED: 'input',
  CONFIRMATION_REQUIRED: 'input',
  INFERENCE_FAILED: 'model',
  TIMEOUT: 'model',
  DISK_FULL: 'model',
  IO_ERROR: 'model',
  CONFIG_INVALID: 'model',
  CONFIG_NOT_REMOTE: 'input',
  SCHEMA_TOO_NEW: 'model',
  INSTALL_INCOMPLETE: 'model',
  UNSUPPORTED_SQL: 'model',
  DATABASE_UNAVAILABLE: 'load',
  DATABASE_BUSY: 'load',
  ROLLOUT_NOT_COMPLETED: 'input',
  GATE_NOT_ACCEPTABLE: 'input',
  NOTHING_TO_UNDO: 'input',
  BUNDLE_IN_USE: 'input',
  BUNDLE_DROPPED: 'input',
  INTERNAL: 'model',
};

/**
 * The kind of a recorded error code. A code this build does not know (a newer agent's) counts as a
 * model failure: an unknown failure is never silently excused.
 */
export function errorKind(code: string): ErrorKind {
  return Object.prototype.hasOwnProperty.call(ERROR_KIND, code) ? ERROR_KIND[code as ErrorCode] : 'model';
}

/** Where the hub's rollups count a code that is not in ErrorCode (countedErrorCode). Its kind is errorKind's: model. */
export const OTHER_ERROR_CODE = 'OTHER';

/**
 * The key a recorded code is summed under in the hub's rollups: the code itself when ErrorCode has it,
 * else OTHER_ERROR_CODE. A device names its codes: one sending 5,000 made-up codes a window grew one
 * rollup row to 5 MB, re-read and re-written with each of its windows (4 s a window after 80), so the
 * codes kept by name are bounded by this list (docs/hub.md "What the hub accepts from devices").
 */
export function countedErrorCode(code: string): string {
  return Object.prototype.hasOwnProperty.call(ERROR_KIND, code) ? code : OTHER_ERROR_CODE;
}

export type ErrorKindCounts = Record<ErrorKind, number>;

/** Sums errors-by-code (a summary window's `errors`, or totals) into the three kinds. */
export function errorKindCounts(errors: Readonly<Record<string, number>>): ErrorKindCounts {
  const k: ErrorKindCounts = { input: 0, load: 0, model: 0 };
  for (const code in errors) {
    if (Object.prototype.hasOwnProperty.call(errors, code)) k[errorKind(code)] += errors[code] as number;
  }
  return k;
}

/** "input 2 (INVALID_INPUT=2), load 0, model 1 (INFERENCE_FAILED=1)": the kinds with their codes, for CLIs. */
export function formatErrorKinds(errors: Readonly<Record<string, number>>): string {
  const byKind: Record<ErrorKind, string[]> = { input: [], load: [], model: [] };
  for (const code of Object.keys(errors).sort()) byKind[errorKind(code)].push(`${code}=${errors[code]}`);
  const sums = errorKindCounts(errors);
  return ERROR_KINDS.map((k) => `${k} ${sums[k]}${byKind[k].length ? ` (${byKind[k].join(' ')})` : ''}`).join(', ');
}
