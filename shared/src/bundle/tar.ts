// A small ustar reader/writer of our own for bundles (docs/architecture.md section 3):
// uncompressed, 512-byte headers, regular files only. Reading walks headers
// with positioned reads and never loads an entry's data; writing copies
// sources in 1 MiB chunks. Format: POSIX.1-1988 ustar
// (https://pubs.opengroup.org/onlinepubs/9699919799/utilities/pax.html#tag_20_92_13_06).
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { AppError } from '../errors.js';

export const BLOCK = 512;
const CHUNK = 1 << 20;
const MAX_OCTAL_SIZE = 0o77777777777; // 11 octal digits: 8 GiB - 1

export interface TarEntry {
  name: string;
  size: number;
  /** Offset of the entry's data in the archive. */
  offset: number;
}

/** Refuses absolute paths, "..", ".", empty segments and backslashes (PATH_TRAVERSAL). */
export function checkEntryPath(name: string, what = 'tar entry'): void {
  const bad = name === '' || name.startsWith('/') || name.includes('\\') || /^[A-Za-z]:/.test(name) || name.includes('\0')
    || name.split('/').some((s) => s === '' || s === '.' || s === '..');
  if (bad) {
    throw new AppError('PATH_TRAVERSAL', `${what} ${JSON.stringify(name)} is not a safe relative path; expected a path inside the bundle without "/" prefix, "..", "." or "\\"`);
  }
}

function field(buf: Buffer, start: number, len: number): string {
  const raw = buf.subarray(start, start + len);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul === -1 ? len : nul).toString('utf8');
}

function parseOctal(buf: Buffer, start: number, len: number, what: string): number {
  const s = field(buf, start, len).trim();
  if (!/^[0-7]+$/.test(s)) throw new AppError('BUNDLE_INVALID', `${what}: expected an octal number, got ${JSON.stringify(s)}`);
  return parseInt(s, 8);
}

const TYPE_NAMES: Record<string, string> = {
  '1': 'hard link', '2': 'symbolic link', '3': 'character device', '4': 'block device', '5': 'directory', '6': 'FIFO',
  '7': 'contiguous file', x: 'pax header', g: 'pax global header', L: 'GNU long name', K: 'GNU long link name',
};

/** Parses one header block; null for an all-zero block (end of archive). */
export function parseHeader(block: Buffer, at: number, what: string): { name: string; size: number } | null {
  if (block.every((b) => b === 0)) return null;
  const stored = parseOctal(block, 148, 8, `${what}: header at offset ${at}: checksum`);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] as number);
  if (sum !== stored) throw new AppError('BUNDLE_INVALID', `${what}: header at offset ${at} has checksum ${stored}, computed ${sum}; expected a valid ustar header`);
  if (field(block, 257, 6).trim() !== 'ustar') throw new AppError('BUNDLE_INVALID', `${what}: header at offset ${at} is not ustar; expected an uncompressed ustar archive`);
  const prefix = field(block, 345, 155);
  const base = field(block, 0, 100);
  const name = prefix ? `${prefix}/${base}` : base;
  const type = String.fromCharCode(block[156] as number);
  if (type !== '0' && type !== '\0') {
    throw new AppError('BUNDLE_INVALID', `${what}: entry ${JSON.stringify(name)} is a ${TYPE_NAMES[type] ?? `type '${type}' entry`}; expected only regular files`);
  }
  const size = parseOctal(block, 124, 12, `${what}: entry ${JSON.stringify(name)}: size`);
  return { name, size };
}

const COMPRESSED: [string, number[]][] = [
  ['gzip-compressed', [0x1f, 0x8b]], ['a zip archive', [0x50, 0x4b, 0x03, 0x04]], ['xz-compressed', [0xfd, 0x37, 0x7a, 0x58, 0x5a]],
  ['zstd-compressed', [0x28, 0xb5, 0x2f, 0xfd]], ['bzip2-compressed', [0x42, 0x5a, 0x68]],
];

/**
 * Why a file whose first block is no ustar header is not a bundle (a gzipped bundle, a model or key file
 * given instead): said in those words rather than as a bad checksum field of a header that never was.
 */
function notATar(what: string, first: Buffer, n: number): AppError {
  const kind = COMPRESSED.find(([, magic]) => n >= magic.length && magic.every((b, i) => first[i] === b))?.[0];
  const looks = n === 0 ? 'the file is empty'
    : kind ? `the file is ${kind}`
      : `no tar header at offset 0 (the file ${n < BLOCK ? `is ${n} bytes, ` : ''}starts with ${first.subarray(0, Math.min(n, 8)).toString('hex').replace(/(..)(?!$)/g, '$1 ')})`;
  return new AppError('BUNDLE_INVALID', `${what}: not a bundle: ${looks}; expected the uncompressed tar "edgefleet model pack" writes`);
}

/** Lists the entries of a tar file (headers only), checking paths and bounds. */
export async function listTar(fh: FileHandle, what: string): Promise<TarEntry[]> {
  const { size: total } = await fh.stat();
  const block = Buffer.alloc(BLOCK);
  const out: TarEntry[] = [];
  let pos = 0;
  for (;;) {
    const { bytesRead } = await fh.read(block, 0, BLOCK, pos);
    if (pos === 0 && (bytesRead < BLOCK || (field(block, 257, 6).trim() !== 'ustar' && !block.every((b) => b === 0)))) throw notATar(what, block, bytesRead);
    if (bytesRead === 0 && pos > 0 && pos === total) break; // tolerate a missing end-of-archive marker
    if (bytesRead < BLOCK) throw new AppError('BUNDLE_INVALID', `${what}: truncated at offset ${pos}; expected a 512-byte tar header`);
    const h = parseHeader(block, pos, what);
    if (!h) break;
    checkEntryPath(h.name, `${what}: entry`);
    const offset = pos + BLOCK;
    if (offset + h.size > total) {
      throw new AppError('BUNDLE_INVALID', `${what}: entry ${JSON.stringify(h.name)} declares ${h.size} bytes but the archive ends after ${total - offset}; the file is truncated`);
    }
    out.push({ name: h.name, size: h.size, offset });
    pos = offset + Math.ceil(h.size / BLOCK) * BLOCK;
  }
  if (out.length === 0) throw new AppError('BUNDLE_INVALID', `${what}: empty archive; expected a tar file with manifest.json`);
  return out;
}

function putString(buf: Buffer, s: string, start: number, len: number): void {
  const b = Buffer.from(s, 'utf8');
  if (b.length > len) throw new AppError('INVALID_INPUT', `tar field ${JSON.stringify(s)} is longer than ${len} bytes`);
  b.copy(buf, start);
}

function putOctal(buf: Buffer, n: number, start: number, len: number): void {
  putString(buf, `${n.toString(8).padStart(len - 1, '0')}\0`, start, len);
}

/** A ustar header for a regular file (mode 0644, owner 0, mtime 0 so bundles are reproducible). */
export function makeHeader(name: string, size: number): Buffer {
  checkEntryPath(name);
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_OCTAL_SIZE) {
    throw new AppError('INVALID_INPUT', `tar entry ${JSON.stringify(name)}: size ${size} not supported; expected 0..${MAX_OCTAL_SIZE} bytes`);
  }
  const h = Buffer.alloc(BLOCK);
  let base = name;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    // Split at a '/' so that the prefix fits 155 bytes and the rest 100.
    const cut = [...name.matchAll(/\//g)].map((m) => m.index).reverse()
      .find((i) => Buffer.byteLength(name.slice(0, i)) <= 155 && Buffer.byteLength(name.slice(i + 1)) <= 100);
    if (cut === undefined) throw new AppError('INVALID_INPUT', `tar entry ${JSON.stringify(name)}: path too long for ustar (name 100 + prefix 155 bytes)`);
    prefix = name.slice(0, cut);
    base = name.slice(cut + 1);
  }
  putString(h, base, 0, 100);
  putOctal(h, 0o644, 100, 8);
  putOctal(h, 0, 108, 8);
  putOctal(h, 0, 116, 8);
  putOctal(h, size, 124, 12);
  putOctal(h, 0, 136, 12);
  h.write('0', 156, 'latin1');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  putString(h, prefix, 345, 155);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  putString(h, `${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return h;
}

/** What to write: bytes, or `size` bytes of a file from `start`, optionally checked against `sha256` while copying. */
export type TarSource =
  | { name: string; bytes: Uint8Array }
  | { name: string; file: string; start?: number; size: number; sha256?: string };

/** Reads `size` bytes of `fh` from `start` in chunks, calling `onChunk` for each. */
export async function readRange(fh: FileHandle, start: number, size: number, onChunk: (b: Buffer) => Promise<void> | void, what: string): Promise<void> {
  const buf = Buffer.alloc(Math.min(CHUNK, Math.max(size, 1)));
  let done = 0;
  while (done < size) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - done), start + done);
    if (bytesRead === 0) throw new AppError('SIZE_MISMATCH', `${what}: ended after ${done} bytes; expected ${size}`);
    await onChunk(buf.subarray(0, bytesRead));
    done += bytesRead;
  }
}

/** Writes a whole tar archive to `out` (an open handle at position 0); returns its size. */
export async function writeTar(out: FileHandle, sources: TarSource[]): Promise<number> {
  let pos = 0;
  const write = async (b: Uint8Array) => { await out.write(b, 0, b.length, pos); pos += b.length; };
  for (const s of sources) {
    if ('bytes' in s) {
      await write(makeHeader(s.name, s.bytes.length));
      await write(s.bytes);
    } else {
      await write(makeHeader(s.name, s.size));
      const src = await open(s.file, 'r');
      const hash = createHash('sha256');
      try {
        await readRange(src, s.start ?? 0, s.size, async (b) => { hash.update(b); await write(b); }, `copying ${s.name} from ${s.file}`);
      } finally {
        await src.close();
      }
      const got = hash.digest('hex');
      if (s.sha256 && got !== s.sha256) {
        throw new AppError('HASH_MISMATCH', `${s.name}: sha256 ${got} while copying from ${s.file}, expected ${s.sha256} (did the file change?)`);
      }
    }
    const pad = (BLOCK - (pos % BLOCK)) % BLOCK;
    if (pad) await write(Buffer.alloc(pad));
  }
  await write(Buffer.alloc(BLOCK * 2));
  return pos;
}
