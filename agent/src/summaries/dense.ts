// The request-path fast case of summary recording (docs/agent-summaries.md):
// every feature numeric and read from one input tensor, the usual tabular model.
// Its plan is a handful of parallel typed arrays (column, counter offset, bin
// lookup grid and edges for every feature) so that recording a row is one flat
// loop over them, with no per-feature objects or method calls. `compileDense`
// then writes that loop out for the plan, its parameters as constants (what the
// request path runs: within 2x of a hand-written recorder on constant arrays,
// agent/bench/summaries.bench.ts); `addDense` is the same loop read from the
// arrays, kept for a plan that cannot be compiled.
// The result is exactly the general loop's in acc.ts: the same bins (the grid is
// BinLookup's, corrected against the same edges), Welford updates in row order.
import type { FeaturePlan } from './layout.js';

// Per feature, in `ints` at f * INTS: column, counter offset (-1: no reference bins,
// moments only), last bin index (K-1), last grid cell, start of its edges in
// `nums`, start of its grid in `ints`; in `nums` at f * NUMS: lo, hi, scale. Two
// arrays rather than one per field: fewer base pointers and bounds checks per value.
const INTS = 6;
const NUMS = 3;

export interface DensePlan {
  /** the input tensor every feature reads */
  input: string;
  count: number;
  ints: Int32Array;
  nums: Float64Array;
  /** `addDense` compiled for this plan (compileDense): what the request path calls. */
  add: DenseAdd;
}

/** Records `n` rows of `data` (row stride `stride`) into a window's bins, moments and NaN counts. */
export type DenseAdd = (data: ArrayLike<number>, n: number, stride: number, bins: Float64Array, mom: Float64Array, nans: Float64Array) => void;

/** The dense plan for these features, or null when one is categorical or they read several inputs. */
export function buildDense(features: readonly FeaturePlan[]): DensePlan | null {
  const first = features[0];
  if (first === undefined) return null;
  if (features.some((f) => f.kind !== 'numeric' || f.input !== first.input)) return null;
  const n = features.length;
  const ints = new Int32Array(n * INTS + features.reduce((s, f) => s + (f.bins?.cells().length ?? 0), 0));
  const nums = new Float64Array(n * NUMS + features.reduce((s, f) => s + (f.bins?.edges.length ?? 0), 0));
  let e = n * NUMS;
  let g = n * INTS;
  features.forEach((f, i) => {
    const at = i * INTS;
    ints[at] = f.column;
    const b = f.bins;
    if (b === null) {
      ints[at + 1] = -1;
      return;
    }
    const p = b.params();
    ints[at + 1] = f.binOffset;
    ints[at + 2] = p.lastBin;
    ints[at + 3] = p.maxCell;
    ints[at + 4] = e;
    ints[at + 5] = g;
    nums[i * NUMS] = p.lo;
    nums[i * NUMS + 1] = p.hi;
    nums[i * NUMS + 2] = p.scale;
    if (evenlySpaced(b.edges)) {
      // The guess is the bin itself (no grid lookup); the edges still decide, as for any guess.
      ints[at + 3] = p.lastBin;
      ints[at + 5] = -1;
      nums[i * NUMS + 2] = (p.lastBin + 1) / (p.hi - p.lo);
    }
    nums.set(b.edges, e);
    ints.set(b.cells(), g);
    e += b.edges.length;
    g += b.cells().length;
  });
  const plan: DensePlan = { input: first.input, count: n, ints, nums, add: (data, rows, stride, bins, mom, nans) => addDense(plan, data, rows, stride, bins, mom, nans) };
  try {
    plan.add = compileDense(plan);
  } catch {
    // A bound that is not a finite number (edges are checked when a manifest is read): the loop over the plan's arrays.
  }
  return plan;
}

/** Edges at equal steps (to rounding): then (x - lo) * K / span is already the bin, up to the fix-up. */
function evenlySpaced(e: Float64Array): boolean {
  const k = e.length - 1;
  const lo = e[0] as number;
  const span = (e[k] as number) - lo;
  if (!(k >= 1 && Number.isFinite(span) && span > 0)) return false;
  for (let i = 1; i < k; i++) if (Math.abs((e[i] as number) - (lo + (i * span) / k)) > span * 1e-9) return false;
  return true;
}

/**
 * Records `n` rows of `data` (row stride `stride`) into the window's counters:
 * NaN counts, bins and moments (5 per feature: n, mean, m2, min, max).
 */
export function addDense(d: DensePlan, data: ArrayLike<number>, n: number, stride: number, bins: Float64Array, mom: Float64Array, nans: Float64Array): void {
  const ints = d.ints;
  const nums = d.nums;
  const count = d.count;
  for (let r = 0, base = 0; r < n; r++, base += stride) {
    for (let f = 0, ia = 0, na = 0; f < count; f++, ia += INTS, na += NUMS) {
      const x = data[base + (ints[ia] as number)] as number;
      if (x !== x) {
        nans[f] = (nans[f] as number) + 1;
        continue;
      }
      const o = ints[ia + 1] as number;
      if (o >= 0) {
        // BinLookup.index, inlined: [under, bin0..binK-1, over]
        const l = nums[na] as number;
        let j: number;
        if (x < l) j = 0;
        else {
          const lb = ints[ia + 2] as number;
          if (x > (nums[na + 1] as number)) j = lb + 2;
          else {
            let c = ((x - l) * (nums[na + 2] as number)) | 0;
            const mc = ints[ia + 3] as number;
            if (c > mc) c = mc;
            const g = ints[ia + 5] as number;
            let b = g < 0 ? c : (ints[g + c] as number);
            const ea = ints[ia + 4] as number;
            while (b < lb && x >= (nums[ea + b + 1] as number)) b++;
            while (b > 0 && x < (nums[ea + b] as number)) b--;
            j = b + 1;
          }
        }
        bins[o + j] = (bins[o + j] as number) + 1;
      }
      if (x - x === 0) {
        // Welford (finite x only), as addMoment in acc.ts
        const m = f * 5;
        const cnt = (mom[m] as number) + 1;
        mom[m] = cnt;
        const mean = mom[m + 1] as number;
        const dx = x - mean;
        const mean2 = mean + dx / cnt;
        mom[m + 1] = mean2;
        mom[m + 2] = (mom[m + 2] as number) + dx * (x - mean2);
        if (x < (mom[m + 3] as number)) mom[m + 3] = x;
        if (x > (mom[m + 4] as number)) mom[m + 4] = x;
      }
    }
  }
}

/** A number as a JavaScript literal that reads back as the same double; anything else is refused. */
function lit(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`dense summary plan: ${x} is not a finite number`);
  return x < 0 || Object.is(x, -0) ? `(${String(x)})` : String(x);
}

function int(x: number): string {
  if (!Number.isSafeInteger(x)) throw new Error(`dense summary plan: ${x} is not an integer`);
  return String(x);
}

/**
 * `addDense` for one plan, with every feature's column, offsets and bin parameters written into the
 * code as constants and the feature loop unrolled (docs/decisions/0043-perf-drift-broker-summaries.md,
 * "Summary recording"): the per-value work of the hand-written floor in agent/bench/summaries.bench.ts.
 * Only numbers from the plan (integers and finite doubles, checked by `int`/`lit`) reach the source;
 * the edges and grids stay in the plan's arrays. dense.test.ts checks it against the general loop.
 */
export function compileDense(d: DensePlan): DenseAdd {
  const { ints, nums } = d;
  const parts: string[] = [];
  for (let f = 0, ia = 0, na = 0; f < d.count; f++, ia += INTS, na += NUMS) {
    const o = ints[ia + 1] as number;
    const m = f * 5;
    let bin = '';
    if (o >= 0) {
      const lb = ints[ia + 2] as number;
      const g = ints[ia + 5] as number;
      const ea = ints[ia + 4] as number;
      bin = `
      if (x < ${lit(nums[na] as number)}) j = 0;
      else if (x > ${lit(nums[na + 1] as number)}) j = ${int(lb + 2)};
      else {
        let c = ((x - ${lit(nums[na] as number)}) * ${lit(nums[na + 2] as number)}) | 0;
        if (c > ${int(ints[ia + 3] as number)}) c = ${int(ints[ia + 3] as number)};
        let b = ${g < 0 ? 'c' : `ints[${int(g)} + c]`};
        while (b < ${int(lb)} && x >= nums[${int(ea + 1)} + b]) b++;
        while (b > 0 && x < nums[${int(ea)} + b]) b--;
        j = b + 1;
      }
      bins[${int(o)} + j] += 1;`;
    }
    parts.push(`
    x = data[base + ${int(ints[ia] as number)}];
    if (x !== x) nans[${int(f)}] += 1;
    else {${bin}
      if (x - x === 0) {
        const cnt = mom[${int(m)}] + 1;
        mom[${int(m)}] = cnt;
        const mean = mom[${int(m + 1)}];
        const dx = x - mean;
        const mean2 = mean + dx / cnt;
        mom[${int(m + 1)}] = mean2;
        mom[${int(m + 2)}] += dx * (x - mean2);
        if (x < mom[${int(m + 3)}]) mom[${int(m + 3)}] = x;
        if (x > mom[${int(m + 4)}]) mom[${int(m + 4)}] = x;
      }
    }`);
  }
  const body = `"use strict";
  return function denseAdd(data, n, stride, bins, mom, nans) {
    let x = 0, j = 0;
    for (let r = 0, base = 0; r < n; r++, base += stride) {${parts.join('')}
    }
  };`;
  // The one place code is generated (see the comment above): numbers only, from a verified manifest's plan.
  const make = new Function('ints', 'nums', body) as (ints: Int32Array, nums: Float64Array) => DenseAdd;
  return make(ints, nums);
}
