// Canonical JSON (RFC 8785 style) and sha256 helpers: the bytes every signature
// and content hash in edgefleet is computed over. Keys are sorted by UTF-16 code
// units, there is no whitespace, numbers use the ES Number serialisation, and
// values JSON cannot represent faithfully are refused instead of being dropped.
// https://www.rfc-editor.org/rfc/rfc8785
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { canonicalJson } from './canonical-json.js';

export { canonicalJson } from './canonical-json.js';

/** UTF-8 bytes of `canonicalJson(v)`: what signatures are computed over. */
export function canonicalBytes(v: unknown): Buffer {
  return Buffer.from(canonicalJson(v), 'utf8');
}

/** Lowercase hex sha256 of a string (UTF-8) or bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Streams a file through sha256; never holds it whole in memory. */
export async function sha256File(path: string, onBytes?: (n: number) => void): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const buf = chunk as Buffer;
    hash.update(buf);
    size += buf.length;
    onBytes?.(buf.length);
  }
  return { sha256: hash.digest('hex'), size };
}
