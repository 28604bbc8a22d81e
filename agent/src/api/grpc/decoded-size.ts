// What decoding a ModelInferRequest would allocate, read from its protobuf bytes before it is decoded
// (docs/agent.md "Limits"). protobufjs makes one object per element of a repeated field: a Buffer per
// bytes_contents or raw_input_contents entry (~200 B of heap for 2 bytes on the wire, x97), a Long per
// int64/uint64 value and shape dimension (~60 B for 1 byte, x58), a number per bool or small int (~10 B
// for 1 byte). A 10 MB message of empty BYTES elements grew the agent by 1.2 GB, and api.grpc.maxCalls
// of them at once would have taken it down; api.maxBodyBytes bounds only the bytes. Measured with
// node 20, protobufjs 7 and the server's proto options (longs left as Long).
import { AppError } from '@edgefleet/shared/core';

/** Heap bytes per decoded element, measured as above (rounded up). */
const COST = { buffer: 200, long: 60, number: 10, object: 100 } as const;
type Kind = keyof typeof COST;

/** How much a message may take decoded, in times api.maxBodyBytes (FP32 takes 2.6x its bytes, FP64 1.3x)... */
export const DECODED_FACTOR = 4;
/** ...and no less than this, so that a small api.maxBodyBytes does not refuse a few hundred int64 values. */
export const DECODED_FLOOR = 1 << 20;

type Counts = Record<Kind, number>;

/** The varint at b[pos] (up to 35 bits: keys and lengths) and the position after it; undefined when cut short. */
function varint(b: Buffer, pos: number, end: number): [number, number] | undefined {
  let v = 0;
  for (let shift = 0; shift <= 28; shift += 7) {
    if (pos >= end) return undefined;
    const byte = b[pos++]!;
    v += (byte & 0x7f) * 2 ** shift;
    if (!(byte & 0x80)) return [v, pos];
  }
  return undefined;
}

/** Calls `on` for each field of the message in b[pos, end); stops at bytes protobufjs would refuse (it then refuses them). */
function fields(b: Buffer, pos: number, end: number, on: (field: number, wire: number, from: number, to: number) => void): void {
  while (pos < end) {
    const key = varint(b, pos, end);
    if (!key) return;
    pos = key[1];
    const wire = key[0] % 8;
    let from = pos;
    if (wire === 0) {
      while (pos < end && b[pos]! & 0x80) pos++;
      pos++;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const len = varint(b, pos, end);
      if (!len) return;
      from = len[1];
      pos = from + len[0];
    } else return;
    if (pos > end) return;
    on(Math.floor(key[0] / 8), wire, from, pos);
  }
}

/** Varints in b[from, to): the elements of a packed repeated integer field. */
function varints(b: Buffer, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (b[i]! < 0x80) n++;
  return n;
}

/** A packed (wire type 2) or single repeated scalar: how many elements. */
function scalars(b: Buffer, wire: number, from: number, to: number, width: number): number {
  if (wire !== 2) return 1;
  return width === 0 ? varints(b, from, to) : Math.floor((to - from) / width);
}

function contents(b: Buffer, from: number, to: number, c: Counts): void {
  fields(b, from, to, (f, wire, s, e) => {
    if (f === 1 || f === 2 || f === 4) c.number += scalars(b, wire, s, e, 0); // bool, int32, uint32
    else if (f === 3 || f === 5) c.long += scalars(b, wire, s, e, 0); // int64, uint64
    else if (f === 6) c.number += scalars(b, wire, s, e, 4); // fp32
    else if (f === 7) c.number += scalars(b, wire, s, e, 8); // fp64
    else if (f === 8) c.buffer++; // bytes
  });
}

function input(b: Buffer, from: number, to: number, c: Counts): void {
  fields(b, from, to, (f, wire, s, e) => {
    if (f === 3) c.long += scalars(b, wire, s, e, 0); // shape
    else if (f === 4) c.object += 2; // a parameters map entry and its InferParameter
    else if (f === 5) contents(b, s, e, c);
  });
}

/** The elements decoding a ModelInferRequest would make, by kind, and their estimated heap bytes. */
export function decodedSize(b: Buffer): { bytes: number; counts: Counts } {
  const c: Counts = { buffer: 0, long: 0, number: 0, object: 0 };
  fields(b, 0, b.length, (f, _wire, s, e) => {
    if (f === 4) c.object += 2;
    else if (f === 5) {
      c.object++;
      input(b, s, e, c);
    } else if (f === 6) {
      c.object++;
      fields(b, s, e, (g) => { if (g === 2) c.object += 2; });
    } else if (f === 7) c.buffer++;
  });
  const bytes = b.length + (Object.keys(COST) as Kind[]).reduce((sum, k) => sum + c[k] * COST[k], 0);
  return { bytes, counts: c };
}

/** The bytes of top-level `field` (a string or bytes one) of message `b`, its last occurrence as protobuf reads it. */
export function topLevelBytes(b: Buffer, field: number): Buffer | undefined {
  let found: Buffer | undefined;
  fields(b, 0, b.length, (f, wire, s, e) => { if (f === field && wire === 2) found = b.subarray(s, e); });
  return found;
}

/** PAYLOAD_TOO_LARGE for a ModelInferRequest that would take more than DECODED_FACTOR × maxBodyBytes (at least DECODED_FLOOR) decoded, else undefined. */
export function decodedTooLarge(b: Buffer, maxBodyBytes: number): AppError | undefined {
  const limit = Math.max(DECODED_FACTOR * maxBodyBytes, DECODED_FLOOR);
  const { bytes, counts: c } = decodedSize(b);
  if (bytes <= limit) return undefined;
  const what = [
    c.buffer ? `${c.buffer} bytes entries` : '',
    c.long ? `${c.long} int64/uint64 values or dims` : '',
    c.number ? `${c.number} other values` : '',
    c.object ? `${c.object} tensors or parameters` : '',
  ].filter(Boolean).join(', ');
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  return new AppError('PAYLOAD_TOO_LARGE', `gRPC message of ${b.length} bytes would take about ${mib(bytes)} once decoded (${what}: an object each): expected at most ${mib(limit)} (${DECODED_FACTOR} × api.maxBodyBytes, at least 1 MiB); send many small values as raw_input_contents, one bytes field per input`);
}
