// FP16 (IEEE 754 binary16). Node 20 has no Float16Array, so edgefleet holds FP16 tensors as
// Float32Array values (what JSON, summaries and comparisons read) and converts only at the
// edges: onnxruntime's float16 tensors hold the bits in a Uint16Array, and raw tensor data
// (gRPC raw contents, REST binary data) is 2 little-endian bytes per value (docs/agent.md
// "Local API (OIP v2)").

/** The largest finite FP16 value; a number of magnitude 65520 or more rounds to infinity. */
export const FP16_MAX = 65504;

/** Rounds half to even, as IEEE 754 does. */
function roundEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : r;
}

/** The FP16 bits of `x`, rounded to nearest even (overflow to infinity, NaN kept). */
export function halfBits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00;
  if (a < 2 ** -14) return sign | roundEven(a * 2 ** 24); // subnormal (1024 carries into the smallest normal)
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  let m = roundEven((a / 2 ** e - 1) * 1024);
  if (m === 1024) { m = 0; e++; }
  return sign | ((e + 15) << 10) | m;
}

/** The number that FP16 bits stand for. */
export function halfValue(bits: number): number {
  const s = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const m = bits & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** FP16 values as their bits, for onnxruntime's float16 tensors and raw data. */
export function toHalfBits(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = halfBits(values[i]!);
  return out;
}

/** FP16 bits (or a Float16Array where the runtime has one) as values. */
export function fromHalfBits(bits: ArrayLike<number>): Float32Array {
  const out = new Float32Array(bits.length);
  if (bits instanceof Uint16Array) for (let i = 0; i < bits.length; i++) out[i] = halfValue(bits[i]!);
  else for (let i = 0; i < bits.length; i++) out[i] = bits[i]!;
  return out;
}
