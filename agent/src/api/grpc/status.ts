// Our closed error codes as gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html),
// beside HTTP_STATUS in @edgefleet/shared: a new code fails to compile until it is mapped here too.
// The message is the same text REST sends; the code itself travels in the `error-code` trailer.
import { toAppError, type ErrorCode } from '@edgefleet/shared/core';
import { Metadata, status as S, type ServiceError } from '@grpc/grpc-js';

/** The message encodings the agent reads (./encoding.ts), as grpc-js announces them in `grpc-accept-encoding`. */
export const GRPC_ENCODINGS = ['identity', 'deflate', 'gzip'] as const;

export const GRPC_STATUS: Record<ErrorCode, S> = {
  BAD_REQUEST: S.INVALID_ARGUMENT,
  INVALID_INPUT: S.INVALID_ARGUMENT,
  SCHEMA_INVALID: S.INVALID_ARGUMENT,
  UNSUPPORTED_VERSION: S.INVALID_ARGUMENT,
  PAYLOAD_TOO_LARGE: S.RESOURCE_EXHAUSTED,
  // Only a compression it cannot read, on gRPC (./encoding.ts): UNIMPLEMENTED, as the gRPC compression spec asks.
  UNSUPPORTED_MEDIA_TYPE: S.UNIMPLEMENTED,
  NOT_FOUND: S.NOT_FOUND,
  CONFLICT: S.ALREADY_EXISTS,
  UNAUTHENTICATED: S.UNAUTHENTICATED,
  FORBIDDEN: S.PERMISSION_DENIED,
  RATE_LIMITED: S.RESOURCE_EXHAUSTED,
  // Retryable, as REST's 503 with Retry-After.
  OVERLOADED: S.UNAVAILABLE,
  NOT_READY: S.UNAVAILABLE,
  SIGNATURE_INVALID: S.FAILED_PRECONDITION,
  THRESHOLD_NOT_MET: S.FAILED_PRECONDITION,
  UNTRUSTED_KEY: S.FAILED_PRECONDITION,
  TRUST_EXPIRED: S.FAILED_PRECONDITION,
  CLOCK_SKEW: S.FAILED_PRECONDITION,
  TRUST_ROTATION_INVALID: S.FAILED_PRECONDITION,
  HASH_MISMATCH: S.FAILED_PRECONDITION,
  SIZE_MISMATCH: S.FAILED_PRECONDITION,
  BUNDLE_INVALID: S.FAILED_PRECONDITION,
  PATH_TRAVERSAL: S.FAILED_PRECONDITION,
  MODEL_LOAD_FAILED: S.FAILED_PRECONDITION,
  MODEL_IO_MISMATCH: S.FAILED_PRECONDITION,
  MODEL_PREFLIGHT_FAILED: S.FAILED_PRECONDITION,
  AGENT_TOO_OLD: S.FAILED_PRECONDITION,
  CONTENT_KEY_MISSING: S.FAILED_PRECONDITION,
  VERSION_NOT_TRUSTED: S.FAILED_PRECONDITION,
  BACKEND_UNSUPPORTED: S.FAILED_PRECONDITION,
  DECRYPT_FAILED: S.FAILED_PRECONDITION,
  DOCUMENT_EXPIRED: S.FAILED_PRECONDITION,
  DOCUMENT_REPLAYED: S.ALREADY_EXISTS,
  DOCUMENT_WRONG_DEVICE: S.FAILED_PRECONDITION,
  MODEL_REMOVED: S.NOT_FOUND,
  CONFIRMATION_REQUIRED: S.FAILED_PRECONDITION,
  INFERENCE_FAILED: S.INTERNAL,
  TIMEOUT: S.DEADLINE_EXCEEDED,
  DISK_FULL: S.RESOURCE_EXHAUSTED,
  SCHEMA_TOO_NEW: S.FAILED_PRECONDITION,
  INSTALL_INCOMPLETE: S.INTERNAL,
  UNSUPPORTED_SQL: S.INTERNAL,
  DATABASE_UNAVAILABLE: S.UNAVAILABLE,
  DATABASE_BUSY: S.UNAVAILABLE,
  ROLLOUT_NOT_COMPLETED: S.FAILED_PRECONDITION,
  GATE_NOT_ACCEPTABLE: S.FAILED_PRECONDITION,
  IO_ERROR: S.INTERNAL,
  CONFIG_INVALID: S.INVALID_ARGUMENT,
  CONFIG_NOT_REMOTE: S.INVALID_ARGUMENT,
  INTERNAL: S.INTERNAL,
};

/** A thrown error as the status a gRPC handler's callback takes. */
export function grpcError(err: unknown): Partial<ServiceError> {
  const e = toAppError(err);
  const metadata = new Metadata();
  metadata.set('error-code', e.code);
  // The gRPC compression spec: an UNIMPLEMENTED encoding is answered with the ones that are read.
  if (e.code === 'UNSUPPORTED_MEDIA_TYPE') metadata.set('grpc-accept-encoding', GRPC_ENCODINGS.join(','));
  return { code: GRPC_STATUS[e.code], details: e.message, metadata };
}
