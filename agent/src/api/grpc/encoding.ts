// Compressed gRPC messages (docs/agent.md "Local API", docs/security.md "The local API over a Unix
// socket and gRPC"). gRPC compresses per message: the call names its algorithm in `grpc-encoding` and
// each message's first byte says whether it is compressed (0 or 1). grpc-js inflates gzip and deflate
// itself, but reads a message marked compressed under no `grpc-encoding` (or a flag byte past 1) as
// if it were not, and answers other algorithms and bad data with texts of its own and no `error-code`.
// Here each of those is refused with a clear message, and what a compressed message and its inflated
// bytes hold together stays within api.maxBodyBytes, the bound on one message grpc-js holds.
import { promisify } from 'node:util';
import { gunzip, inflate, type InputType, type ZlibOptions } from 'node:zlib';
import { AppError } from '@edgefleet/shared/core';
import type { Metadata } from '@grpc/grpc-js';
import { refuseContentEncoding } from '../guards.js';
import { GRPC_ENCODINGS, grpcError } from './status.js';

const ACCEPTED = `${GRPC_ENCODINGS.slice(0, -1).join(', ')} or ${GRPC_ENCODINGS[GRPC_ENCODINGS.length - 1]!}`;

type Inflate = (buf: InputType, opts: ZlibOptions) => Promise<Buffer>;
const INFLATE: Record<string, Inflate> = { gzip: promisify(gunzip), deflate: promisify(inflate) };

/**
 * A call whose HTTP/2 body carries a `Content-Encoding`: gRPC compresses messages, never the stream,
 * so such a body cannot be read as gRPC frames (a gzipped stream would be read as a message of 2 GB).
 */
export function contentEncodingRefusal(metadata: Metadata): AppError | undefined {
  try {
    refuseContentEncoding(metadata.get('content-encoding').map(String));
    return undefined;
  } catch (err) {
    const e = err as AppError;
    return new AppError(e.code, `${e.message}; gRPC compresses each message instead, with grpc-encoding ${ACCEPTED}`);
  }
}

/** Why a framed message (flag byte, length, bytes) under the call's encoding cannot be read, or undefined. */
export function messageRefusal(frame: Buffer, encoding: string): AppError | undefined {
  const flag = frame[0]!;
  if (flag > 1) return new AppError('BAD_REQUEST', `gRPC message compressed-flag is ${flag}: expected 0 (not compressed) or 1 (compressed with the call's grpc-encoding)`);
  if (flag === 1 && encoding === 'identity') {
    return new AppError('UNSUPPORTED_MEDIA_TYPE', `gRPC message is marked compressed but the call names no grpc-encoding: expected grpc-encoding ${ACCEPTED}, or the message sent uncompressed`);
  }
  if (!(GRPC_ENCODINGS as readonly string[]).includes(encoding)) {
    return new AppError('UNSUPPORTED_MEDIA_TYPE', `grpc-encoding ${JSON.stringify(encoding)} is not accepted: expected ${ACCEPTED}`);
  }
  return undefined;
}

/**
 * The message's bytes, inflated when it is compressed: at most `maxBodyBytes` for the compressed
 * bytes and what they inflate to together (both are held until the inflated message is decoded);
 * `setting` names that bound in the refusal (a health call's is its own, ./health-calls.ts).
 */
export async function readMessage(frame: Buffer, encoding: string, maxBodyBytes: number, setting = 'api.maxBodyBytes'): Promise<Buffer> {
  const refusal = messageRefusal(frame, encoding);
  if (refusal) throw refusal;
  const bytes = frame.subarray(5);
  if (frame[0] === 0) return bytes;
  const room = maxBodyBytes - bytes.length;
  const tooLarge = () => new AppError('PAYLOAD_TOO_LARGE', `${encoding} message of ${bytes.length} bytes inflates past ${Math.max(room, 0)} bytes: expected the message and what it inflates to at most ${maxBodyBytes} bytes together (${setting})`);
  if (room <= 0) throw tooLarge();
  try {
    return await INFLATE[encoding]!(bytes, { maxOutputLength: room });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge();
    throw new AppError('BAD_REQUEST', `gRPC message is not valid ${encoding} data (${(err as Error).message}): expected it compressed as its grpc-encoding says`);
  }
}

/**
 * Has grpc-js's base call read its messages through readMessage. grpc-js (1.14) inflates in the base
 * call's decompressMessage(frame, encoding), whose rejection becomes the call's status; a grpc-js
 * without that method (internals change) keeps its own handling: never a broken call
 * (encoding.test.ts holds the behaviour to it).
 */
export function guardMessages(call: object, maxBodyBytes: number, setting?: string): void {
  const base = call as { decompressMessage?: (frame: Buffer, encoding: string) => Promise<Buffer> | Buffer };
  if (typeof base.decompressMessage !== 'function') return;
  // grpc-js sends what this rejects with as the call's status: the mapped code, the message, the error-code trailer.
  base.decompressMessage = (frame, encoding) => readMessage(frame, encoding, maxBodyBytes, setting).catch((err: unknown) => {
    const e = grpcError(err);
    throw { code: e.code, details: e.details, metadata: e.metadata };
  });
}
