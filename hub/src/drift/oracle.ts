// An independent computation of drift from raw values, for tests (known-drift*.test.ts): bins on the
// reference's edges as the agent bins (shared/src/sketch/histogram.ts: the last edge inclusive), PSI on
// proportions floored at ε = 1e-4 without renormalizing (docs/drift.md), JS distance base 2, binned KS
// and means, written from the formulas rather than from shared/src/drift.
import assert from 'node:assert/strict';
import type { SeqWindow } from '@edgefleet/shared';
import { TEMP_MODE_FEATURES, sampleWindow, tempModeReference } from '../rollups/testing.js';

export const EPS = 1e-4;

/** [under, bins..., over] of raw values on `edges`, the last edge inclusive (shared/src/sketch/histogram.ts). */
export function bin(values: number[], edges: number[]): number[] {
  const out = new Array<number>(edges.length + 1).fill(0);
  for (const x of values) {
    if (x < (edges[0] as number)) out[0]!++;
    else if (x > (edges.at(-1) as number)) out[edges.length]!++;
    else {
      let i = edges.findIndex((e, k) => k > 0 && x < e);
      if (i === -1) i = edges.length - 1;
      out[i]!++;
    }
  }
  return out;
}
export function props(c: number[]): number[] {
  const t = c.reduce((a, b) => a + b, 0);
  return c.map((x) => x / t);
}
export function psiOf(expected: number[], actual: number[]): number {
  const e = props(expected).map((x) => Math.max(x, EPS));
  const a = props(actual).map((x) => Math.max(x, EPS));
  return e.reduce((s, ei, i) => s + ((a[i] as number) - ei) * Math.log((a[i] as number) / ei), 0);
}
export function jsOf(p0: number[], q0: number[]): number {
  const p = props(p0);
  const q = props(q0);
  let d = 0;
  p.forEach((pi, i) => {
    const qi = q[i] as number;
    const m = (pi + qi) / 2;
    if (pi > 0) d += 0.5 * pi * Math.log2(pi / m);
    if (qi > 0) d += 0.5 * qi * Math.log2(qi / m);
  });
  return Math.sqrt(d);
}
export function ksOf(p0: number[], q0: number[]): number {
  const p = props(p0);
  const q = props(q0);
  let cp = 0, cq = 0, best = 0;
  p.forEach((pi, i) => { cp += pi; cq += q[i] as number; best = Math.max(best, Math.abs(cp - cq)); });
  return best;
}
export const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
export function near(actual: number | null | undefined, expected: number, what: string, tol = 1e-9): void {
  assert.ok(typeof actual === 'number' && Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what}: hub ${String(actual)}, independent ${expected}`);
}


/** The raw values of one window of vib 1.0.0 (ingest/testing.ts startVibIngestHub with its reference). */
export interface Raw { device: string; start: number; temp: number[]; mode: string[]; score: number[] }
export interface Gen { temp: () => number; mode: () => string; score: () => number }

/**
 * Windows of vib 1.0.0 recorded as the agent records them, with the raw values drawn kept per window
 * (one recorder per test: no state outside it). `referenceId`: the manifest's.
 */
export function vibRecorder(referenceId: string) {
  const log: Raw[] = [];
  const ref = { ...tempModeReference(''), id: referenceId };
  return {
    log,
    /** The raw values of `key` of the windows `which` takes (a device id: all of its windows), in the order drawn. */
    of<K extends 'temp' | 'mode' | 'score'>(which: string | string[] | ((w: Raw) => boolean), key: K): Raw[K] {
      const take = typeof which === 'function' ? which : (w: Raw) => (typeof which === 'string' ? w.device === which : which.includes(w.device));
      return log.filter(take).flatMap((w) => w[key] as Array<number & string>) as Raw[K];
    },
    /** `n` requests in a window of `lengthSec` at `start`, recording the raw values drawn. */
    window(device: string, seq: number, start: number, n: number, gen: Gen, lengthSec = 60): SeqWindow {
      const r: Raw = { device, start, temp: [], mode: [], score: [] };
      log.push(r);
      const spec = {
        numeric: { temp: () => { const x = gen.temp(); r.temp.push(x); return x; } },
        categorical: { mode: () => { const x = gen.mode(); r.mode.push(x); return x; } },
        outputs: { score: () => { const x = gen.score(); r.score.push(x); return x; } },
      };
      return { seq, ...sampleWindow({ model: 'vib', version: '1.0.0', start, lengthSec }, TEMP_MODE_FEATURES, ref, n, spec, Math.random) };
    },
  };
}
