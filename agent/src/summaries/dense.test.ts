// The dense fast path (dense.ts: all features numeric, one input) against the
// general per-feature loop in acc.ts on the same plan: random edges per feature
// (some features without reference bins, some evenly spaced), random batches with
// NaN, infinities and values on the edges; the windows must be identical, bins and moments.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Manifest, parseWire } from '@edgefleet/shared';
import { WindowAcc } from './acc.js';
import { buildPlan } from './layout.js';

const SHA = 'a'.repeat(64);

function manifest(edgesPerFeature: (number[] | null)[]): Manifest {
  const n = edgesPerFeature.length;
  const features = edgesPerFeature.map((_, i) => ({ name: `f${i}`, index: i, kind: 'numeric' as const }));
  return parseWire(Manifest, {
    schema: 'edgefleet.manifest/v1',
    name: 'dense',
    version: '1.0.0',
    created: '2026-01-01T00:00:00Z',
    files: [{ path: 'model.onnx', sha256: SHA, size: 1 }],
    entrypoint: 'model.onnx',
    runtime: { opset: 17, minAgentVersion: '0.1.0' },
    provenance: { data: [], training: { code: 'test' }, metrics: {}, reason: 'test' },
    io: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, n] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }] },
    features,
    reference: {
      id: SHA,
      rows: 10,
      features: edgesPerFeature.flatMap((e, i) => (e === null ? [] : [{ kind: 'numeric', name: `f${i}`, edges: e, counts: Array(e.length - 1).fill(1), moments: { n: 10, mean: 0, m2: 1, min: 0, max: 1 } }])),
      outputs: [],
    },
  }, 'test manifest');
}

const edgesArb = fc.oneof(
  fc.uniqueArray(fc.integer({ min: -40, max: 40 }).map((k) => k / 4), { minLength: 2, maxLength: 12 }).map((a) => a.sort((x, y) => x - y)),
  // evenly spaced (the direct guess in dense.ts), with steps that do not add up exactly in floating point
  fc.tuple(fc.integer({ min: -5, max: 5 }), fc.constantFrom(0.1, 0.25, 1 / 3, 7), fc.integer({ min: 1, max: 12 })).map(([lo, step, k]) => Array.from({ length: k + 1 }, (_, i) => lo + i * step)),
);
const value = fc.oneof(
  fc.integer({ min: -48, max: 48 }).map((k) => k / 4), // on and between edges, exact in FP32
  fc.integer({ min: -60, max: 140 }).map((k) => Math.fround(k / 10)), // near the edges of 0.1 steps
  fc.float({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(Number.NaN, Infinity, -Infinity),
);

describe('dense summary path', () => {
  it('is used for all-numeric features on one input and not with a categorical one', () => {
    assert.notEqual(buildPlan(manifest([[0, 1], null])).dense, null);
  });

  it('records exactly what the general loop records', () => {
    fc.assert(
      fc.property(fc.array(fc.option(edgesArb, { nil: null }), { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 8 }), fc.array(value, { minLength: 48, maxLength: 48 }), (edges, rows, pool) => {
        const plan = buildPlan(manifest(edges));
        assert.notEqual(plan.dense, null);
        const dense = new WindowAcc(plan, 0, 60);
        const general = new WindowAcc({ ...plan, dense: null }, 0, 60);
        const n = edges.length;
        for (let call = 0; call < 3; call++) {
          const data = Float32Array.from({ length: rows * n }, (_, i) => pool[(i + call * 7) % pool.length]!);
          const x = { name: 'x', datatype: 'FP32' as const, shape: [rows, n], data };
          const y = { name: 'y', datatype: 'FP32' as const, shape: [rows, 1], data: new Float32Array(rows) };
          dense.add([x], [y], 1);
          general.add([x], [y], 1);
        }
        const a = dense.toWire();
        assert.deepEqual(a, general.toWire());
        assert.equal(a.count, rows * 3);
      }),
      { seed: 5, numRuns: 200 },
    );
  });
});
