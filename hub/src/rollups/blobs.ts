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
  return Buffer.from(BlobScratch.once().dist(dist));
}

export function decodeMom(buf: Uint8Array): Float64Array {
  const ab = alignedCopy(buf, 8);
  return new Float64Array(ab, ab === buf.buffer ? buf.byteOffset : 0, buf.byteLength / 8);
}

export function encodeMom(mom: Float64Array): Buffer {
  return Buffer.from(BlobScratch.once().mom(mom));
}

/** The perf vector as 8-byte floats, or null when it is all zero (most rollups: no labels, not a classifier). */
export function encodePerf(perf: Float64Array): Buffer | null {
  const b = BlobScratch.once().perf(perf);
  return b && Buffer.from(b);
}

export function encodeLat(lat: Float64Array): Buffer {
  return Buffer.from(BlobScratch.once().lat(lat));
}

/**
 * The encoders above writing into buffers kept between calls, for the ingest writer
 * (store/rollups-writer.ts), where allocating four blobs per row was most of the encoding's cost.
 * Each method returns a view of its own buffer, valid until that method is called again: bind it to a
 * statement and run the statement first (SQLite copies a bound blob: better-sqlite3 binds with
 * SQLITE_TRANSIENT; the PostgreSQL facade copies the values into its message before it returns).
 */
export class BlobScratch {
  private static shared: BlobScratch | null = null;
  private readonly bufs: ArrayBuffer[] = [new ArrayBuffer(2048), new ArrayBuffer(2048), new ArrayBuffer(2048), new ArrayBuffer(2048)];

  /** A scratch for a call whose result is copied at once (the plain encoders). */
  static once(): BlobScratch {
    return (BlobScratch.shared ??= new BlobScratch());
  }

  private room(slot: number, bytes: number): ArrayBuffer {
    let ab = this.bufs[slot] as ArrayBuffer;
    if (ab.byteLength < bytes) this.bufs[slot] = ab = new ArrayBuffer(Math.max(bytes, ab.byteLength * 2));
    return ab;
  }

  dist(dist: Float64Array): Buffer {
    const width = distWidth(dist);
    const ab = this.room(0, dist.length * width);
    // set() converts element-wise as new Uint16Array(dist) would (every count here fits the width).
    if (width === 2) new Uint16Array(ab, 0, dist.length).set(dist);
    else if (width === 4) new Uint32Array(ab, 0, dist.length).set(dist);
    else new Float64Array(ab, 0, dist.length).set(dist);
    return Buffer.from(ab, 0, dist.length * width);
  }

  mom(mom: Float64Array): Buffer {
    const ab = this.room(1, mom.byteLength);
    new Float64Array(ab, 0, mom.length).set(mom);
    return Buffer.from(ab, 0, mom.byteLength);
  }

  /** Sparse: [sumMs, errorSumMs, (index, count)...] over the non-zero buckets. */
  lat(lat: Float64Array): Buffer {
    const ab = this.room(2, lat.byteLength * 2);
    const out = new Float64Array(ab, 0, lat.length * 2);
    out[0] = lat[0] as number;
    out[1] = lat[1] as number;
    let n = 2;
    for (let i = 2; i < lat.length; i++) {
      const x = lat[i] as number;
      if (x !== 0) {
        out[n++] = i - 2;
        out[n++] = x;
      }
    }
    return Buffer.from(ab, 0, n * 8);
  }

  /** null when all zero. */
  perf(perf: Float64Array): Buffer | null {
    let any = false;
    for (let i = 0; i < perf.length && !any; i++) if (perf[i] !== 0) any = true;
    if (!any) return null;
    const ab = this.room(3, perf.byteLength);
    new Float64Array(ab, 0, perf.length).set(perf);
    return Buffer.from(ab, 0, perf.byteLength);
  }
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
