// fastTelemetryBatch must never accept what the TelemetryBatch schema refuses, and what it accepts
// must be exactly what zod returns; refusals still go through zod and name the field.
import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseWire, parseWireJson } from './common.js';
import { TELEMETRY_SCHEMA, TelemetryBatch, fastTelemetryBatch } from './telemetry.js';

const count = fc.nat({ max: 1000 });
const num = fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true });
const hist = fc.record({ counts: fc.array(count, { maxLength: 6 }), under: count, over: count });
const moments = fc.record({ n: count, mean: num, m2: fc.double({ min: 0, max: 1e6, noNaN: true }), min: fc.option(num), max: fc.option(num) });
const feature = fc.oneof(
  fc.record({ kind: fc.constant('numeric'), name: fc.string(), hist, moments, nulls: count, nans: count }, { requiredKeys: ['kind', 'name', 'moments', 'nulls', 'nans'] }),
  fc.record({ kind: fc.constant('categorical'), name: fc.string(), cat: fc.record({ counts: fc.dictionary(fc.string(), count), other: count }), nulls: count }),
);
const window = fc.record(
  {
    seq: fc.integer({ min: 1, max: 1e9 }),
    model: fc.constantFrom('m', 'sim-model', 'a.b_c'),
    version: fc.constantFrom('1.0.0', '2.3.4-rc.1'),
    referenceId: fc.constant('a'.repeat(64)),
    start: fc.constantFrom('2026-11-28T12:00:00Z', '2026-11-28T12:00:00.000+01:00'),
    lengthSec: fc.integer({ min: 1, max: 3600 }),
    count,
    errors: fc.dictionary(fc.constantFrom('TIMEOUT', 'BAD', 'x'), count),
    latency: fc.record({ counts: fc.array(count, { maxLength: 8 }), sumMs: fc.double({ min: 0, max: 1e6, noNaN: true }) }),
    features: fc.array(feature, { maxLength: 3 }),
    outputs: fc.array(fc.record({ name: fc.string(), index: count, hist, moments }, { requiredKeys: ['name', 'index', 'moments'] }), { maxLength: 2 }),
    inputs: fc.array(fc.record({ name: fc.string(), moments, nans: count }), { maxLength: 2 }),
  },
  { requiredKeys: ['seq', 'model', 'version', 'start', 'lengthSec', 'count', 'errors', 'latency', 'features', 'outputs', 'inputs'] },
);
const batch = fc.record({ schema: fc.constant(TELEMETRY_SCHEMA), deviceId: fc.constantFrom('dev-1', 'a.b_c-9'), windows: fc.array(window, { minLength: 1, maxLength: 3 }) });

/** Every object/array inside `v` with its container, for mutation. */
function containers(v: unknown, out: Array<Record<string, unknown> | unknown[]> = []): Array<Record<string, unknown> | unknown[]> {
  if (typeof v === 'object' && v !== null) {
    out.push(v as Record<string, unknown>);
    for (const x of Object.values(v)) containers(x, out);
  }
  return out;
}

/** Values near the edges of the schema's checks, or any JSON value. */
const edit = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(-1, 0.5, -0.5, 1e300, 2 ** 53, -0, null, '', 'x', true, [], {}, [-1], [0.5], { counts: [-1], under: 0, over: 0 }),
  fc.jsonValue({ maxDepth: 2 }),
);

/** One random edit: replace a field (or element) with any JSON value, delete it, or add an unknown key. */
const mutated = fc.tuple(batch, fc.nat(), fc.nat(), fc.constantFrom('replace', 'delete', 'add'), edit).map(([b, ci, ki, op, value]) => {
  const v = JSON.parse(JSON.stringify(b)) as unknown;
  const cs = containers(v);
  const c = cs[ci % cs.length]!;
  const keys = Object.keys(c);
  if (op === 'add' || keys.length === 0) {
    if (Array.isArray(c)) c.push(value);
    else c['extra'] = value;
  } else {
    const k = keys[ki % keys.length]!;
    if (op === 'delete') {
      if (Array.isArray(c)) c.splice(Number(k), 1);
      else delete c[k];
    } else (c as Record<string, unknown>)[k] = value;
  }
  return v;
});

test('fastTelemetryBatch accepts valid JSON batches and returns what zod returns', () => {
  fc.assert(
    fc.property(batch, (b) => {
      const value = JSON.parse(JSON.stringify(b)) as unknown;
      const fast = fastTelemetryBatch(value);
      assert.notEqual(fast, null, 'a valid batch should take the fast path');
      assert.deepEqual(fast, TelemetryBatch.parse(value));
    }),
    { seed: 20261128, numRuns: 300 },
  );
});

test('fastTelemetryBatch never accepts what zod refuses (random single edits of valid batches)', () => {
  let refused = 0;
  fc.assert(
    fc.property(mutated, (value) => {
      const zod = TelemetryBatch.safeParse(value);
      const fast = fastTelemetryBatch(value);
      if (!zod.success) refused++;
      if (fast !== null) {
        assert.ok(zod.success, `fast path accepted what zod refuses: ${zod.error?.message}`);
        assert.deepEqual(fast, zod.data);
      }
    }),
    { seed: 20261128, numRuns: 2000 },
  );
  assert.ok(refused > 500, `the mutations should mostly produce invalid batches (got ${refused})`);
});

test('fastTelemetryBatch leaves the rare shapes to zod: unknown keys, missing inputs, non-JSON values', () => {
  const good = fc.sample(batch, { seed: 7, numRuns: 1 })[0]!;
  const value = JSON.parse(JSON.stringify(good)) as { windows: Array<Record<string, unknown>> };
  assert.notEqual(fastTelemetryBatch(value), null);
  delete value.windows[0]!['inputs'];
  assert.equal(fastTelemetryBatch(value), null);
  assert.deepEqual(parseWire(TelemetryBatch, value, 'telemetry').windows[0]!.inputs, []); // zod's default still applies
  assert.equal(fastTelemetryBatch({ ...good, windows: [{ ...good.windows[0], count: 2 ** 53 }] }), null);
  assert.equal(fastTelemetryBatch({ ...good, windows: [{ ...good.windows[0], latency: { counts: [1, Infinity], sumMs: 0 } }] }), null);
  assert.equal(fastTelemetryBatch(Object.assign(Object.create(null) as object, good)), null);
});

test('refusals of hot numeric fields still name the field and what was expected', () => {
  const good = fc.sample(batch, { seed: 7, numRuns: 1 })[0]!;
  const w = { ...good.windows[0]!, features: [{ kind: 'numeric', name: 'x', hist: { counts: [1, -2, 3], under: 0, over: 0 }, moments: { n: 1, mean: 0, m2: 0, min: 0, max: 0 }, nulls: 0, nans: 0 }] };
  const text = JSON.stringify({ ...good, windows: [w] });
  assert.equal(fastTelemetryBatch(JSON.parse(text)), null);
  assert.throws(() => parseWireJson(TelemetryBatch, text, 'telemetry message from dev-1'), (err: Error) => {
    assert.match(err.message, /invalid telemetry message from dev-1: windows\[0\]\.features\[0\]\.hist\.counts\[1\]: .*>=0/);
    return true;
  });
  const lat = JSON.stringify({ ...good, windows: [{ ...good.windows[0]!, latency: { counts: [1.5], sumMs: 0 } }] });
  assert.throws(() => parseWireJson(TelemetryBatch, lat, 'telemetry'), /windows\[0\]\.latency\.counts\[0\]: .*int/);
});
