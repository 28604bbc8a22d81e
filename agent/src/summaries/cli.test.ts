import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StringWriter } from '@edgefleet/shared/cli';
import { main } from '../cli/main.js';
import { sparkline, parseSince } from './cli.js';
import { SummaryRecorder } from './recorder.js';
import { SummaryStore } from './store.js';
import { ManualClock, tabularManifest, tempDb } from './fixtures.js';

/** `edgefleet-agent summaries ARGS --data-dir DIR`, in process. */
async function summaries(argv: string[], dataDir: string) {
  const out = new StringWriter();
  const err = new StringWriter();
  const code = await main(['summaries', ...argv, '--data-dir', dataDir], { stdout: out, stderr: err, env: {}, cwd: dataDir, now: () => new Date() });
  return { code, out: out.text, err: err.text };
}

describe('summaries command', () => {
  const t = tempDb();
  after(() => t.close());
  const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
  const clock = new ManualClock(T0);
  const m = tabularManifest();
  const rec = new SummaryRecorder({ sink: new SummaryStore(t.db), manifestOf: () => m, clock });
  rec.record('tab', '1.0.0', [{ name: 'x', datatype: 'FP32', shape: [3, 3], data: Float32Array.from([0.5, 1, 0, 1.5, 9, 1, 3.5, -1, 2]) }], [], 1);
  clock.t = T0 + 60_000;
  rec.record('tab', '1.0.0', [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: Float32Array.from([2, 2, 0]) }], [], 1);
  for (const [code, n] of [['INVALID_INPUT', 2], ['OVERLOADED', 3], ['INFERENCE_FAILED', 1]] as const) {
    for (let i = 0; i < n; i++) rec.recordError('tab', '1.0.0', code, 0.5);
  }
  rec.stop();

  it('--json lists the windows with model, version, start, lengthSec and count', async () => {
    const r = await summaries(['--json', '--model', 'tab'], t.dir);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as { windows: { model: string; version: string; start: string; lengthSec: number; count: number }[] };
    assert.deepEqual(j.windows.map((w) => [w.model, w.version, w.start, w.lengthSec, w.count]), [
      ['tab', '1.0.0', '2026-01-01T12:00:00.000Z', 60, 3],
      ['tab', '1.0.0', '2026-01-01T12:01:00.000Z', 60, 1],
    ]);
  });

  it('keeps the error kinds apart: invalid input, shed load, model failures', async () => {
    const j = JSON.parse((await summaries(['--json'], t.dir)).out) as { windows: { errors: Record<string, number>; errorKinds: Record<string, number> }[] };
    assert.deepEqual(j.windows.map((w) => w.errorKinds), [{ input: 0, load: 0, model: 0 }, { input: 2, load: 3, model: 1 }]);
    assert.deepEqual(j.windows[1]?.errors, { INVALID_INPUT: 2, OVERLOADED: 3, INFERENCE_FAILED: 1 });
    const text = (await summaries([], t.dir)).out;
    assert.match(text, /4 predictions, errors: input 2 \(INVALID_INPUT=2\), load 3 \(OVERLOADED=3\), model 1 \(INFERENCE_FAILED=1\)/);
  });

  it('text shows the latest window per feature with a sparkline and under/over', async () => {
    const r = await summaries([], t.dir);
    assert.equal(r.code, 0, r.err);
    const text = r.out;
    assert.match(text, /tab@1\.0\.0 {2}2 windows, 4 predictions/);
    assert.match(text, /latest 2026-01-01T12:01:00.000Z \(60s\): 1 predictions, errors: input 2 \(INVALID_INPUT=2\), load 3 \(OVERLOADED=3\), model 1/);
    assert.match(text, /f0 +0 \|··█·\| 0 +n=1 mean=2\.000/);
    assert.match(text, /f2 +\|█··\| other 0 +a:1 b:0 c:0/);
  });

  it('--since filters, and a bad --since or data dir says what was expected', async () => {
    const since = await summaries(['--json', '--since', '2026-01-01T12:00:30Z'], t.dir);
    assert.equal(since.code, 0, since.err);
    assert.equal((JSON.parse(since.out) as { windows: unknown[] }).windows.length, 1);
    const bad = await summaries(['--since', 'yesterday'], t.dir);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /^error \[BAD_REQUEST\]: --since: expected a duration ago \(90s, 30m, 24h, 7d, 2w\), a date \(2026-01-01, from 00:00 UTC\) or an ISO date-time .*got "yesterday"/);
    const dash = await summaries(['--since', '-5m'], t.dir);
    assert.equal(dash.code, 2);
    // Written apart, it reads as an option; --since would refuse it anyway, so that is what is said.
    assert.match(dash.err, /^error \[BAD_REQUEST\]: --since: a duration already counts back from now: expected 5m, got "-5m"\n/);
    assert.ok(!dash.err.includes('\\n'), dash.err);
    const negative = await summaries(['--since=-5m'], t.dir);
    assert.equal(negative.code, 2);
    assert.match(negative.err, /^error \[BAD_REQUEST\]: --since: a duration already counts back from now: expected 5m, got "-5m"\n/);
    const none = await summaries([], `${t.dir}/nope`);
    assert.equal(none.code, 1);
    assert.match(none.err, /^error \[NOT_FOUND\]: no agent database at .*: expected --data-dir/);
    const bogus = await summaries(['--bogus'], t.dir);
    assert.equal(bogus.code, 2);
    assert.match(bogus.err, /usage: edgefleet-agent summaries/);
  });

  it('no windows in the range asked is said as such, naming it; not "yet" when windows are stored', async () => {
    const recent = await summaries(['--since', '0m'], t.dir);
    assert.equal(recent.code, 0, recent.err);
    assert.match(recent.out, /^no summary windows start at or after \d{4}-\d\d-\d\dT[\d:.]+Z \(--since 0m\): the stored ones are older; a longer --since shows them\n$/);
    const later = await summaries(['--since', '2026-01-01T12:05:00Z', '--model', 'tab'], t.dir);
    assert.equal(later.out, 'no summary windows of model "tab" start at or after 2026-01-01T12:05:00.000Z (--since 2026-01-01T12:05:00Z): the stored ones are older; a longer --since shows them\n');
    assert.equal((await summaries(['--model', 'other'], t.dir)).out, 'no summary windows of model "other" yet\n');
    assert.equal((await summaries(['--model', 'other', '--since', '1h'], t.dir)).out, 'no summary windows of model "other" yet\n');
  });

  it('sparkline and parseSince', () => {
    assert.equal(sparkline([0, 1, 2, 4]), '·▂▄█');
    assert.equal(sparkline([0, 0]), '▁▁');
    assert.equal(parseSince('2h', 10 * 3.6e6), 8 * 3.6e6);
  });
});
