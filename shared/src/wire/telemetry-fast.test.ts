// fastTelemetryBatch must never accept what the TelemetryBatch schema refuses, and what it accepts
// must be exactly what zod returns; refusals still go through zod and name the field. The window
// texts cut from such a payload for the store (telemetry-text.ts) parse to the validated windows.
import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseWire, parseWireJson } from './common.js';
import { TELEMETRY_SCHEMA, TelemetryBatch, fastTelemetryBatch } from './telemetry.js';
import { rememberWindowTexts, storedWindowTexts, windowSpans, windowText } from './telemetry-text.js';

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
    clock: fc.constantFrom('0f3a9c1e.0', 'boot:x-y_z.12', 'a'.repeat(64)),
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

/** A window as the hub stores it: all but its seq. */
const withoutSeq = (w: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(w).filter(([k]) => k !== 'seq'));

/** The payload of `b` with each window's seq written last (the agent, outbox.ts) or first (the simulators). */
function payload(b: { windows: ReadonlyArray<object> }, seqAt: 'last' | 'first'): string {
  const windows = (b.windows as Array<Record<string, unknown>>).map((w) => (seqAt === 'last' ? { ...withoutSeq(w), seq: w['seq'] } : { seq: w['seq'], ...withoutSeq(w) }));
  return JSON.stringify({ ...b, windows });
}

test('window texts cut from agent and simulator payloads are byte for byte what serialising the window gives', () => {
  fc.assert(
    fc.property(batch, fc.constantFrom('last' as const, 'first' as const), (b, seqAt) => {
      const text = payload(b, seqAt);
      const parsed = fastTelemetryBatch(JSON.parse(text))!;
      const cut = storedWindowTexts(text, Buffer.from(text), parsed);
      // Left to serialising only where a backslash or a "seq" other than the windows' own is in the text.
      const plain = !text.includes('\\') && text.split('"seq"').length - 1 === parsed.windows.length;
      if (plain) assert.ok(cut !== null && cut.every((t) => t !== undefined), 'the layout is followed');
      cut?.forEach((t, i) => {
        if (t !== undefined) assert.equal(t, JSON.stringify(withoutSeq(parsed.windows[i] as unknown as Record<string, unknown>)));
      });
    }),
    { seed: 20261202, numRuns: 300 },
  );
});

test('a cut window text always parses to the validated window (whitespace, reordered keys, edits)', () => {
  const layouts = (b: TelemetryBatch): string[] => [
    payload(b, 'last'), payload(b, 'first'), JSON.stringify(b, null, 1), JSON.stringify(b).replace(/,/g, ' , '),
  ];
  let cutCount = 0;
  fc.assert(
    fc.property(fc.oneof(batch, mutated), (v) => {
      const parsed = fastTelemetryBatch(JSON.parse(JSON.stringify(v)));
      if (parsed === null) return;
      for (const text of layouts(parsed)) {
        const again = fastTelemetryBatch(JSON.parse(text))!;
        (storedWindowTexts(text, Buffer.from(text), again) ?? []).forEach((t, i) => {
          if (t === undefined) return;
          cutCount++;
          assert.deepEqual(JSON.parse(t), withoutSeq(again.windows[i] as unknown as Record<string, unknown>));
        });
      }
    }),
    { seed: 20261202, numRuns: 500 },
  );
  assert.ok(cutCount > 300, `most windows should be cut (got ${cutCount})`);
});

test('window texts: strings with brackets, quotes and backslashes; layouts left to serialising (escapes, non-ASCII)', () => {
  const good = fc.sample(batch, { seed: 7, numRuns: 1 })[0]!;
  const w0 = { ...good.windows[0]!, features: [{ kind: 'categorical' as const, name: 'n"]}{[\\', cat: { counts: { '}': 1, '"[': 2 }, other: 0 }, nulls: 0 }] };
  const b = { ...good, windows: [w0, { ...w0, seq: w0.seq + 1 }] };
  const text = payload(b, 'last');
  const parsed = fastTelemetryBatch(JSON.parse(text))!;
  assert.deepEqual(storedWindowTexts(text, Buffer.from(text), parsed), parsed.windows.map((w) => JSON.stringify(withoutSeq(w as unknown as Record<string, unknown>))));
  assert.equal(windowSpans(text, Buffer.from(text))?.length, 4);

  const cut = (t: string): Array<string | undefined> | null => storedWindowTexts(t, Buffer.from(t), fastTelemetryBatch(JSON.parse(t))!);
  const seq = w0.seq;
  // A second seq member (JSON.parse keeps the last), plain or spelled with an escape: serialised instead.
  assert.deepEqual(cut(text.replace('{"model"', `{"seq":${seq + 7},"model"`)), [undefined, JSON.stringify(withoutSeq(parsed.windows[1] as never))]);
  assert.equal(cut(text.replace('{"model"', `{"se\\u0071":${seq + 7},"model"`)), null);
  // A record key "seq" inside the window: serialised instead.
  assert.deepEqual(cut(text.replace('"}":1', '"seq":1'))?.[0], undefined);
  // The top-level "windows" key twice, or spelled with an escape: the payload is not followed.
  const twice = `${text.slice(0, -1)},"windows":${JSON.stringify(JSON.parse(text).windows)}}`;
  assert.equal(windowSpans(twice, Buffer.from(twice)), null);
  const escaped = text.replace('"windows"', '"wind\\u006fws"');
  assert.equal(windowSpans(escaped, Buffer.from(escaped)), null);
  assert.equal(windowSpans('[1,2]', Buffer.from('[1,2]')), null);
  // Not all ASCII (byte and character offsets differ): serialised.
  const accented = text.replace('n\\"]}{[', 'é 🙂 n\\"]}{[');
  assert.notEqual(accented, text);
  assert.equal(storedWindowTexts(accented, Buffer.from(accented), fastTelemetryBatch(JSON.parse(accented))!), null);
});

test('a remembered window text stays with the parsed window only: not serialised, not copied by spread', () => {
  const good = fc.sample(batch, { seed: 11, numRuns: 1 })[0]!;
  const text = payload(good, 'last');
  const parsed = fastTelemetryBatch(JSON.parse(text))!;
  const before = JSON.stringify(parsed);
  rememberWindowTexts(text, Buffer.from(text), parsed);
  const w = parsed.windows[0]!;
  assert.equal(windowText(w), JSON.stringify(withoutSeq(w as unknown as Record<string, unknown>)));
  assert.equal(windowText({ ...w, start: '2026-11-28T11:00:00Z' }), undefined, 'a moved copy is serialised');
  assert.equal(JSON.stringify(parsed), before);
  assert.deepEqual(Object.keys(w), Object.keys(JSON.parse(JSON.stringify(w)) as object));
});

test('a window\'s clock mark: valid ones pass the fast path, others go to zod, which names the field', () => {
  const b = (clock: unknown) => ({ schema: TELEMETRY_SCHEMA, deviceId: 'd', windows: [{ seq: 1, model: 'm', version: '1.0.0', start: '2026-11-28T12:00:00Z', clock, lengthSec: 60, count: 0, errors: {}, latency: { counts: [], sumMs: 0 }, features: [], outputs: [], inputs: [] }] });
  assert.notEqual(fastTelemetryBatch(b('0f3a9c1e.3')), null);
  for (const bad of ['a'.repeat(65), 'no space', '', 7, null]) {
    assert.equal(fastTelemetryBatch(b(bad)), null, JSON.stringify(bad));
    assert.throws(() => parseWire(TelemetryBatch, b(bad), 'batch'), /windows\[0\]\.clock: (expected a clock mark|Invalid input: expected string)/);
  }
});
