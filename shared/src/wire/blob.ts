// Block transfer of model files over MQTT (after AWS IoT MQTT file streams).
// blob/data frames are binary: 4-byte big-endian header length, JSON header, bytes.
import { z } from 'zod';
import { AppError } from '../errors.js';
import { MAX_BLOB_GET_BLOCKS } from '../agent-settings.js';
import { Count, ErrorInfo, Sha256Hex, parseWire, schemaTag } from './common.js';

export const BLOB_GET_SCHEMA = 'edgefleet.blob-get/v1' as const;
export const BlobGet = z.object({
  schema: schemaTag(BLOB_GET_SCHEMA),
  sha256: Sha256Hex,
  offset: Count,
  blockSize: z.number().int().min(1024).max(1024 * 1024),
  count: z.number().int().min(1).max(MAX_BLOB_GET_BLOCKS),
});
export type BlobGet = z.infer<typeof BlobGet>;

export const BlobDataHeader = z.object({
  sha256: Sha256Hex,
  offset: Count,
  length: Count,
  total: Count,
  error: ErrorInfo.optional(),
});
export type BlobDataHeader = z.infer<typeof BlobDataHeader>;

export function encodeBlobData(header: BlobDataHeader, bytes: Uint8Array): Buffer {
  const h = Buffer.from(JSON.stringify(header), 'utf8');
  const out = Buffer.allocUnsafe(4 + h.length + bytes.length);
  out.writeUInt32BE(h.length, 0);
  h.copy(out, 4);
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).copy(out, 4 + h.length);
  return out;
}

export function decodeBlobData(frame: Uint8Array): { header: BlobDataHeader; bytes: Buffer } {
  const buf = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  if (buf.length < 4) throw new AppError('SCHEMA_INVALID', `invalid blob/data frame: ${buf.length} bytes, expected at least 4`);
  const hlen = buf.readUInt32BE(0);
  if (hlen > 4096 || 4 + hlen > buf.length) {
    throw new AppError('SCHEMA_INVALID', `invalid blob/data frame: header length ${hlen} does not fit a ${buf.length}-byte frame`);
  }
  let json: unknown;
  try {
    json = JSON.parse(buf.subarray(4, 4 + hlen).toString('utf8'));
  } catch {
    throw new AppError('SCHEMA_INVALID', 'invalid blob/data frame: header is not JSON');
  }
  const header = parseWire(BlobDataHeader, json, 'blob/data header');
  const bytes = buf.subarray(4 + hlen);
  if (bytes.length !== header.length) {
    throw new AppError('SIZE_MISMATCH', `blob/data frame carries ${bytes.length} bytes but its header says ${header.length}`);
  }
  return { header, bytes };
}
