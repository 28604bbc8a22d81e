// The hot-path pieces of the local API written for speed must say exactly
// what their plain versions said: the directly written output JSON against
// JSON.stringify(outputJson(t)), and the per-version metric series against
// the exposition that observe() gives.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { RecordedTensor } from '../runtime/recorder.js';
import { ApiMetrics, RETIRED_SERIES_KEEP } from './metrics.js';
import { outputJson, outputJsonText } from './validate.js';

const same = (t: RecordedTensor): void => assert.equal(outputJsonText(t), JSON.stringify(outputJson(t)), `${t.datatype} ${JSON.stringify(outputJson(t))}`);

describe('outputJsonText', () => {
  it('writes the same text as JSON.stringify(outputJson(t)) for every datatype', () => {
    const shape = [2, 2];
    same({ name: 'p', datatype: 'FP32', shape, data: Float32Array.from([0.1, -0, 1e-30, 3.4e38]) });
    same({ name: 'q"x', datatype: 'FP64', shape, data: Float64Array.from([Number.MIN_VALUE, -1.5, 1e21, 123456789.125]) });
    same({ name: 'n', datatype: 'FP32', shape, data: Float32Array.from([NaN, 1, Infinity, -Infinity]) });
    same({ name: 'i', datatype: 'INT32', shape, data: Int32Array.from([-2147483648, 0, 7, 2147483647]) });
    same({ name: 'u', datatype: 'UINT8', shape, data: Uint8Array.from([0, 1, 128, 255]) });
    same({ name: 'b', datatype: 'BOOL', shape, data: Uint8Array.from([0, 1, 1, 0]) });
    same({ name: 'l', datatype: 'INT64', shape, data: BigInt64Array.from([-(2n ** 53n) + 1n, -1n, 0n, 2n ** 53n - 1n]) });
    same({ name: 'ul', datatype: 'UINT64', shape, data: BigUint64Array.from([0n, 2n ** 53n - 1n, 5n, 9n]) });
    same({ name: 's', datatype: 'BYTES', shape, data: ['a', '"q"', 'é\n', ''] });
    same({ name: 'e', datatype: 'FP32', shape: [0, 3], data: new Float32Array(0) });
  });

  it('writes 64-bit ints past 2^53 with all their digits, not rounded through a number', () => {
    const shape = [2, 2];
    assert.equal(outputJsonText({ name: 'l', datatype: 'INT64', shape, data: BigInt64Array.from([-(2n ** 63n), -1n, 2n ** 53n + 1n, 2n ** 63n - 1n]) }),
      '{"name":"l","datatype":"INT64","shape":[2,2],"data":[-9223372036854775808,-1,9007199254740993,9223372036854775807]}');
    assert.equal(outputJsonText({ name: 'ul', datatype: 'UINT64', shape, data: BigUint64Array.from([0n, 2n ** 64n - 1n, 1234567890123456789n, 9n]) }),
      '{"name":"ul","datatype":"UINT64","shape":[2,2],"data":[0,18446744073709551615,1234567890123456789,9]}');
  });

  it('matches JSON.stringify on arbitrary float tensors (fixed seed)', () => {
    fc.assert(fc.property(fc.array(fc.double(), { maxLength: 40 }), fc.boolean(), (xs, f32) => {
      same({ name: 'o', datatype: f32 ? 'FP32' : 'FP64', shape: [xs.length], data: f32 ? Float32Array.from(xs) : Float64Array.from(xs) });
    }), { seed: 42, numRuns: 300 });
  });
});

describe('ApiMetrics series', () => {
  it('renders the same counters and histogram as observe(), and nothing for a series never observed', () => {
    const a = new ApiMetrics();
    const b = new ApiMetrics();
    const none = { queueDepths: () => [], loadTimes: () => [] };
    b.series('m', '2'); // looked up, never observed: no line for it
    const s = b.series('m', '1');
    assert.equal(b.series('m', '1'), s, 'the same series object every time');
    const seen: Array<[string, number]> = [['ok', 0.0004], ['INVALID_INPUT', 0.002], ['ok', 0.03], ['ok', 9], ['INVALID_INPUT', 0.1], ['OVERLOADED', 0.001]];
    for (const [outcome, sec] of seen) {
      a.observe('m', '1', outcome, sec);
      if (outcome === 'ok') s.ok(sec);
      else s.error(outcome, sec);
    }
    const lines = (x: ApiMetrics) => x.render(none).split('\n').filter((l) => !l.includes('resident_memory')).sort();
    assert.deepEqual(lines(b), lines(a));
    const text = b.render(none);
    assert.match(text, /edgefleet_agent_requests_total\{model="m",version="1",outcome="ok"\} 3\n/);
    assert.match(text, /edgefleet_agent_requests_total\{model="m",version="1",outcome="INVALID_INPUT"\} 2\n/);
    assert.match(text, /edgefleet_agent_request_duration_seconds_bucket\{model="m",version="1",le="0.0005"\} 1\n/);
    assert.match(text, /edgefleet_agent_request_duration_seconds_count\{model="m",version="1"\} 3\n/);
    assert.doesNotMatch(text, /version="2"/);
  });
});

describe('ApiMetrics of versions no longer live', () => {
  const none = { queueDepths: () => [], loadTimes: () => [] };
  it('shows a version that stopped serving in one more scrape, with its final counts, then forgets it', () => {
    const live = new Set(['1']);
    const m = new ApiMetrics((_model, version) => live.has(version));
    m.series('m', '1').ok(0.001);
    assert.match(m.render(none), /version="1",outcome="ok"\} 1\n/);
    m.series('m', '1').ok(0.001); // after that scrape, before the swap
    live.delete('1');
    live.add('2');
    m.series('m', '2').ok(0.001);
    const last = m.render(none);
    assert.match(last, /version="1",outcome="ok"\} 2\n/, 'the increments since the last scrape are shown');
    assert.match(last, /version="2",outcome="ok"\} 1\n/);
    const next = m.render(none);
    assert.doesNotMatch(next, /version="1"/);
    assert.match(next, /version="2",outcome="ok"\} 1\n/);
    assert.equal(m.seriesCount, 1);
  });

  it('holds at most RETIRED_SERIES_KEEP series of versions no longer live when nobody scrapes', () => {
    let current = '';
    const m = new ApiMetrics((_model, version) => version === current);
    const VERSIONS = 5 * RETIRED_SERIES_KEEP;
    for (let i = 0; i < VERSIONS; i++) {
      current = `1.0.${i}`;
      m.series('m', current).ok(0.001);
      m.series('m', current).error('INVALID_INPUT', 0.001);
      assert.ok(m.seriesCount <= RETIRED_SERIES_KEEP + 1, `${m.seriesCount} series held after ${i + 1} versions`);
    }
    const text = m.render(none);
    assert.equal(text.match(/^edgefleet_agent_request_duration_seconds_count/gm)?.length, RETIRED_SERIES_KEEP + 1);
    assert.match(text, new RegExp(`version="1.0.${VERSIONS - 1}",outcome="INVALID_INPUT"\\} 1\\n`), 'the live version is there');
    assert.doesNotMatch(text, /version="1.0.0"/, 'the oldest retired ones went first');
    m.render(none);
    assert.equal(m.seriesCount, 1, 'a scrape later only the live version is left');
  });
});
