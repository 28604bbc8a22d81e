// Inclusive seq ranges as carried by acks: build them from seqs, test membership.
export type Range = [number, number];

/** Sorts and compresses seqs into inclusive ranges: [1,2,3,5] -> [[1,3],[5,5]]. */
export function toRanges(seqs: Iterable<number>): Range[] {
  const sorted = [...new Set(seqs)].sort((a, b) => a - b);
  const out: Range[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s === last[1] + 1) last[1] = s;
    else out.push([s, s]);
  }
  return out;
}

export function inRanges(seq: number, ranges: readonly (readonly [number, number])[]): boolean {
  for (const [a, b] of ranges) if (seq >= a && seq <= b) return true;
  return false;
}

/** Number of seqs covered by the ranges. */
export function rangesSize(ranges: readonly (readonly [number, number])[]): number {
  return ranges.reduce((n, [a, b]) => n + (b - a + 1), 0);
}
