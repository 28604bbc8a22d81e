// `edgefleet model totals`: the hub's merged totals of stored windows, as a table and as JSON, through
// the real REST API (served on port 0) and the CLI run in-process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { SeqWindow } from '@edgefleet/shared';
import { makeHarness } from '../../testing/harness.js';
import { main } from '../main.js';
import { StringWriter } from '../output.js';

function win(seq: number, start: string, count: number, bins: number[]): SeqWindow {
  return {
    seq, model: 'vib', version: '1.0.0', start, lengthSec: 60, count, errors: count > 2 ? { INVALID_INPUT: 1, OVERLOADED: count, INFERENCE_FAILED: 1 } : {},
    latency: { counts: [count > 2 ? 2 * count + 2 : count], sumMs: count }, outputs: [], inputs: [],
    features: [
      { kind: 'numeric', name: 'rms', hist: { counts: bins, under: 1, over: 0 }, moments: { n: count, mean: 1, m2: 0, min: 1, max: 1 }, nulls: 0, nans: 0 },
      { kind: 'categorical', name: 'type', cat: { counts: { pump: count }, other: 0 }, nulls: 0 },
    ],
  };
}

test('edgefleet model totals sums what the hub stored, per bin', async () => {
  const h = makeHarness();
  const server = serve({ fetch: h.app.fetch, port: 0, hostname: '127.0.0.1' });
  try {
    await new Promise((r) => server.once('listening', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const repo = h.store.telemetry;
    h.store.devices.create('a', 'x'.repeat(32), {}, null, h.clock.now());
    h.store.devices.create('b', 'x'.repeat(32), {}, null, h.clock.now());
    repo.putWindows('a', [win(1, '2026-01-01T00:00:00.000Z', 3, [1, 1, 0]), win(2, '2026-01-01T00:01:00.000Z', 2, [0, 1, 0])], h.clock.now());
    repo.putWindows('b', [win(1, '2026-01-01T00:00:00.000Z', 4, [2, 0, 1])], h.clock.now());
    const run = async (...args: string[]) => {
      const out = new StringWriter();
      const err = new StringWriter();
      const code = await main(['model', 'totals', ...args, '--hub', url, '--token', h.tokens.viewer], { stdout: out, stderr: err, env: {}, cwd: h.dir, now: () => new Date() });
      return { code, out: out.text, err: err.text };
    };
    const text = await run('vib');
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /^vib 1\.0\.0: 9 predictions in 3 windows from 2 devices; errors: input 2 \(INVALID_INPUT=2\), load 7 \(OVERLOADED=7\), model 2 \(INFERENCE_FAILED=2\)$/m);
    assert.match(text.out, /rms\s+3 \|3 2 1\| 0/);
    assert.match(text.out, /type\s+pump:9 other:0/);
    const json = await run('vib', '--json');
    const t = JSON.parse(json.out) as { count: number; windows: number; devices: number; features: Record<string, { counts: number[] }>; errorKinds: unknown };
    assert.deepEqual([t.count, t.windows, t.devices, t.features['rms']?.counts], [9, 3, 2, [3, 2, 1]]);
    assert.deepEqual(t.errorKinds, { input: 2, load: 7, model: 2 });
    const none = await run('nope');
    assert.equal(none.code, 1);
    assert.match(none.err, /NOT_FOUND.*no model "nope"/);
    // Sums past 2^53 - 1 are shown, and said not to be exact (they made the totals fail for everyone).
    const big = { ...win(3, '2026-01-01T00:02:00.000Z', 4e15, [4e15, 0, 0]), version: '2.0.0', errors: {}, latency: { counts: [4e15], sumMs: 0 } };
    repo.putWindows('a', [big, { ...big, seq: 4 }, { ...big, seq: 5 }], h.clock.now());
    const inexact = await run('vib', '--version', '2.0.0');
    assert.equal(inexact.code, 0, inexact.err);
    assert.match(inexact.out, /^vib 2\.0\.0: 12000000000000000 predictions in 3 windows from 1 devices; errors: .*\nnot exact, past 2\^53 - 1 \(ask for fewer windows: --version, --since\): count, latencyCount, features\.rms\.counts\[0\], features\.rms\.n, features\.type\.counts\.pump$/m);
  } finally {
    server.close();
    h.close();
  }
});
