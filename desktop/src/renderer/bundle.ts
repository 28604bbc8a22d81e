// A whole bundle read in the browser for "Try it" (views/try-it.tsx): the ustar entries (decision 0006)
// of a streamed response, at most `max` bytes, and each file checked against the signed manifest's
// size and sha256 before it is used. verify.ts reads only a bundle's head; this reads all of it.

/** Bytes a bundle may have for the console to run it (larger models are tried on a device). */
export const MAX_TRY_BYTES = 64 * 1024 * 1024;

import { AppError } from '@edgefleet/shared/browser';

const dec = new TextDecoder();
const field = (h: Uint8Array, at: number, len: number) => dec.decode(h.subarray(at, at + len)).replace(/\0.*$/s, '');

/** Why a bundle over `max` bytes is not run here. */
export const tooLargeText = (max = MAX_TRY_BYTES) => `the bundle is over ${max / 1024 / 1024} MiB: too large to try in the console (a device's preflight runs its samples)`;

/** A download that sends no byte for this long is given up (a stall deadline: a slow link that keeps sending is not). */
export const STALL_MS = 30_000;

/** Said when the download stalled (docs/console.md "Try it"). */
export const stalledText = (ms: number, got: number): string => `the bundle download stalled: no bytes for ${ms / 1000} s after ${got} bytes ` +
  '(the hub, or a proxy in front of it, stalled mid-download)';

/** The next chunk, or TIMEOUT when none comes within `ms`. */
function readWithin(reader: ReadableStreamDefaultReader<Uint8Array>, ms: number, got: number): Promise<ReadableStreamReadResult<Uint8Array>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new AppError('TIMEOUT', stalledText(ms, got))), ms); });
  return Promise.race([reader.read(), late]).finally(() => clearTimeout(timer));
}

/** Every regular file of a ustar stream by path; refuses a stream over `max` bytes, one that sends nothing for `stallMs`, or a bad header. */
export async function readBundle(body: ReadableStream<Uint8Array>, max = MAX_TRY_BYTES, stallMs = STALL_MS): Promise<Map<string, Uint8Array>> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await readWithin(reader, stallMs, total);
      if (done) break;
      total += value.length;
      if (total > max) throw new AppError('PAYLOAD_TOO_LARGE', tooLargeText(max));
      chunks.push(value);
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  const buf = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) { buf.set(c, off); off += c.length; }
  const files = new Map<string, Uint8Array>();
  for (let pos = 0; pos + 512 <= buf.length;) {
    const h = buf.subarray(pos, pos + 512);
    if (h.every((b) => b === 0)) break;
    const size = parseInt(field(h, 124, 12).trim(), 8);
    if (!Number.isFinite(size) || size < 0 || pos + 512 + size > buf.length) throw new AppError('BUNDLE_INVALID', 'bundle: bad tar header');
    const prefix = field(h, 345, 155);
    const name = (prefix ? `${prefix}/` : '') + field(h, 0, 100);
    const type = String.fromCharCode(h[156] ?? 0);
    if (type === '0' || type === '\0') files.set(name, buf.subarray(pos + 512, pos + 512 + size));
    pos += 512 + size + ((512 - (size % 512)) % 512);
  }
  return files;
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The file at `path`, checked against the manifest's size and sha256 (the manifest's signatures were checked before). */
export async function checkedFile(files: Map<string, Uint8Array>, manifest: { files: Array<{ path: string; size: number; sha256: string }> }, path: string): Promise<Uint8Array> {
  const f = manifest.files.find((x) => x.path === path);
  const bytes = files.get(path);
  if (!f) throw new AppError('BUNDLE_INVALID', `${path} is not listed in the signed manifest`);
  if (!bytes) throw new AppError('BUNDLE_INVALID', `${path} is missing from the bundle`);
  if (bytes.length !== f.size || (await sha256Hex(bytes)) !== f.sha256) throw new AppError('HASH_MISMATCH', `${path} does not match the size and sha256 in the signed manifest`);
  return bytes;
}
