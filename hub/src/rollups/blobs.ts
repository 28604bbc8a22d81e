// The blobs a rollup row stores (docs/decisions/0023-rollups.md), encoded and decoded:
// dist: 2-byte unsigned integers while every count fits (the common case for an hourly rollup of one
// device: a quarter of the bytes to read when a query merges many rollups), else 4-byte, else 8-byte
// floats; the blob's length says which.
// mom: 8-byte floats. lat: sparse 8-byte floats [sumMs, errorSumMs, (index, count)...] (most of the
// 2 × 93 buckets are empty). perf: 8-byte floats, or none.
function alignedCopy(buf: Uint8Array, align: number): ArrayBuffer {
  if (buf.byteOffset % align === 0) return buf.buffer as ArrayBuffer;
  return buf.slice().buffer as ArrayBuffer;
}

/** A view of a dist blob as numbers (Uint16Array, Uint32Array or Float64Array) of `length` counts. */
export function decodeDist(buf: Uint8Array, length: number): ArrayLike<number> {
  if (length === 0) return new Float64Array(0);
  for (const [width, T] of [[2, Uint16Array], [4, Uint32Array], [8, Float64Array]] as const) {
    if (buf.byteLength !== length * width) continue;
    const ab = alignedCopy(buf, width);
    return new T(ab, ab === buf.buffer ? buf.byteOffset : 0, length);
  }
  throw new Error(`rollup counts of ${buf.byteLength} bytes do not fit the layout of ${length} counts`);
}

/** Bytes a count takes in a dist blob: 2 or 4 when every count is an integer that fits, else 8. */
function distWidth(dist: Float64Array): 2 | 4 | 8 {
  let max = 0;
  let integers = true;
  for (let i = 0; i < dist.length; i++) {
    const x = dist[i] as number;
    if (x > max) max = x;
    if (!Number.isInteger(x)) integers = false;
  }
  return integers && max <= 0xffff ? 2 : integers && max <= 0xffffffff ? 4 : 8;
}

export function encodeDist(dist: Float64Array): Buffer {
  const width = distWidth(dist);
  // new T(typed array) copies element-wise without the iterator Uint16Array.from goes through.
  if (width === 2) return Buffer.from(new Uint16Array(dist).buffer);
  if (width === 4) return Buffer.from(new Uint32Array(dist).buffer);
  return Buffer.from(dist.buffer.slice(dist.byteOffset, dist.byteOffset + dist.byteLength));
}

export function decodeMom(buf: Uint8Array): Float64Array {
  const ab = alignedCopy(buf, 8);
  return new Float64Array(ab, ab === buf.buffer ? buf.byteOffset : 0, buf.byteLength / 8);
}

export function encodeMom(mom: Float64Array): Buffer {
  return Buffer.from(mom.buffer.slice(mom.byteOffset, mom.byteOffset + mom.byteLength));
}

/** The perf vector as 8-byte floats, or null when it is all zero (most rollups: no labels, not a classifier). */
export function encodePerf(perf: Float64Array): Buffer | null {
  let any = false;
  for (let i = 0; i < perf.length && !any; i++) if (perf[i] !== 0) any = true;
  return any ? Buffer.from(perf.buffer.slice(perf.byteOffset, perf.byteOffset + perf.byteLength)) : null;
}

export function encodeLat(lat: Float64Array): Buffer {
  const out: number[] = [lat[0] as number, lat[1] as number];
  for (let i = 2; i < lat.length; i++) if (lat[i] !== 0) out.push(i - 2, lat[i] as number);
  return Buffer.from(Float64Array.from(out).buffer);
}

/** Adds a sparse lat blob into a dense lat vector. */
export function addLatBlob(into: Float64Array, buf: Uint8Array): void {
  const s = decodeMom(buf);
  into[0] = (into[0] as number) + (s[0] as number);
  into[1] = (into[1] as number) + (s[1] as number);
  for (let i = 2; i + 1 < s.length; i += 2) {
    const at = 2 + (s[i] as number);
    if (at < into.length) into[at] = (into[at] as number) + (s[i + 1] as number);
  }
}
