import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { summariesCommand, sparkline, parseSince } from './cli.js';
import { SummaryRecorder } from './recorder.js';
import { SummaryStore } from './store.js';
import { ManualClock, tabularManifest, tempDb } from './fixtures.js';

function capture(): { s: PassThrough; text: () => string } {
  const s = new PassThrough();
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  return { s, text: () => Buffer.concat(chunks).toString('utf8') };
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
  rec.stop();

  it('--json lists the windows with model, version, start, lengthSec and count', async () => {
    const out = capture();
    const err = capture();
    const code = await summariesCommand(['--json', '--model', 'tab'], { dataDir: t.dir, stdout: out.s, stderr: err.s });
    assert.equal(code, 0, err.text());
    const j = JSON.parse(out.text()) as { windows: { model: string; version: string; start: string; lengthSec: number; count: number }[] };
    assert.deepEqual(j.windows.map((w) => [w.model, w.version, w.start, w.lengthSec, w.count]), [
      ['tab', '1.0.0', '2026-01-01T12:00:00.000Z', 60, 3],
      ['tab', '1.0.0', '2026-01-01T12:01:00.000Z', 60, 1],
    ]);
  });

  it('text shows the latest window per feature with a sparkline and under/over', async () => {
    const out = capture();
    const code = await summariesCommand([], { dataDir: t.dir, stdout: out.s, stderr: capture().s });
    assert.equal(code, 0);
    const text = out.text();
    assert.match(text, /tab@1\.0\.0 {2}2 windows, 4 predictions/);
    assert.match(text, /latest 2026-01-01T12:01:00.000Z \(60s\): 1 predictions/);
    assert.match(text, /f0 +0 \|··█·\| 0 +n=1 mean=2\.000/);
    assert.match(text, /f2 +\|█··\| other 0 +a:1 b:0 c:0/);
  });

  it('--since filters, and a bad --since or data dir says what was expected', async () => {
    const out = capture();
    assert.equal(await summariesCommand(['--json', '--since', '2026-01-01T12:00:30Z'], { dataDir: t.dir, stdout: out.s, stderr: capture().s }), 0);
    assert.equal((JSON.parse(out.text()) as { windows: unknown[] }).windows.length, 1);
    const err = capture();
    assert.equal(await summariesCommand(['--since', 'yesterday'], { dataDir: t.dir, stdout: capture().s, stderr: err.s }), 2);
    assert.match(err.text(), /invalid --since "yesterday": expected an ISO time/);
    const err2 = capture();
    assert.equal(await summariesCommand([], { dataDir: `${t.dir}/nope`, stdout: capture().s, stderr: err2.s }), 1);
    assert.match(err2.text(), /no agent database at .*: expected --data-dir/);
    const err3 = capture();
    assert.equal(await summariesCommand(['--bogus'], { dataDir: t.dir, stdout: capture().s, stderr: err3.s }), 2);
    assert.match(err3.text(), /usage: edgefleet-agent summaries/);
  });

  it('sparkline and parseSince', () => {
    assert.equal(sparkline([0, 1, 2, 4]), '·▂▄█');
    assert.equal(sparkline([0, 0]), '▁▁');
    assert.equal(parseSince('2h', 10 * 3.6e6), 8 * 3.6e6);
  });
});
