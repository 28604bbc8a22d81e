import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { windowTotals, type SummaryWindow } from '@edgefleet/shared';
import { openStore } from '../store/agent-store.js';
import { ModelRuntime } from '../runtime/runtime.js';
import { BatchScheduler } from './scheduler.js';
import { runtimeModel } from './run.js';
import { MAX_BATCH_SIZE } from './cli.js';
import { batch, makeDataDir, manifest } from './testing.js';

type OutRow = { line: number; id?: unknown; outputs?: { y: number[] }; error?: { code: string; message: string } };
const readOut = (p: string) => readFileSync(p, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as OutRow);

function storedWindows(dataDir: string): SummaryWindow[] {
  const store = openStore(dataDir);
  try {
    return store.summaries.listWindows({ model: 'tab' }).map((r) => r.window);
  } finally {
    store.db.close();
  }
}

describe('batch', () => {
  let dir: string;
  let data: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ef-batch-'));
    data = join(dir, 'data');
    makeDataDir(data);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs a partly bad JSONL file: one output row per input row, errors named, good rows in the summaries', async () => {
    const input = join(dir, 'in.jsonl');
    writeFileSync(input, [
      JSON.stringify({ id: 'a', f0: 0.5, f1: 1.5, f2: 'b' }),
      JSON.stringify({ f0: 3.5, f1: 'x', f2: 'a' }), // bad: f1 not a number
      'not json',
      JSON.stringify({ inputs: { x: [[2, 2, 1]] } }),
      JSON.stringify({ f0: 9, f1: -1, f2: 2 }),
      JSON.stringify({ f0: 1, f1: 1, f2: 'a', extra: 1 }), // bad: unknown field
      '',
    ].join('\n'));
    const output = join(dir, 'out.jsonl');
    const r = await batch(['--model', 'tab', '--input', input, '--output', output, '--batch-size', '2'], data);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /tab@1\.0\.0: 6 rows \(3 with errors\) in [\d.]+ s, [\d,]+ rows\/s/);
    const rows = readOut(output);
    assert.deepEqual(rows.map((r) => r.line), [1, 2, 3, 4, 5, 6]);
    assert.equal(rows[0]!.id, 'a');
    for (const i of [0, 3, 4]) {
      assert.equal(rows[i]!.outputs!.y.length, 2);
      assert.ok(rows[i]!.outputs!.y.every((v) => v > 0 && v < 1), 'sigmoid outputs');
    }
    assert.match(rows[1]!.error!.message, /line 2: feature "f1" is "x": expected a finite decimal number/);
    assert.match(rows[2]!.error!.message, /line 3: not JSON .*expected a JSON object per line/);
    assert.match(rows[5]!.error!.message, /unknown field "extra": expected the features f0, f1, f2/);
    // the same row alone gives the same outputs as in its batch
    const rt = new ModelRuntime({ perModel: 1, queue: 10 });
    const store = openStore(data);
    try {
      rt.activate(await rt.load(manifest, store.blobs.pathOf(manifest.files[0]!.sha256)));
      const res = await runtimeModel(rt, 'tab').run([{ name: 'x', datatype: 'FP32', shape: [1, 3], data: Float32Array.from([9, -1, 2]) }]);
      assert.deepEqual(Array.from(res[0]!.data as Float32Array), rows[4]!.outputs!.y);
    } finally {
      await rt.stop();
      store.db.close();
    }
    const t = windowTotals(storedWindows(data));
    assert.equal(t.count, 3);
    assert.deepEqual(t.errors, { INVALID_INPUT: 3 });
    const f0 = t.features.f0!;
    assert.ok(f0.kind === 'numeric');
    // f0 values 0.5, 2, 9 on edges 0..4: bins [1, 0, 1, 0], over 1
    assert.deepEqual([f0.under, f0.counts, f0.over], [0, [1, 0, 1, 0], 1]);
    assert.deepEqual((t.features.f2 as { counts: Record<string, number> }).counts, { a: 0, b: 2, c: 1 });
  });

  it('runs a CSV file with a bad row and a short row', async () => {
    const input = join(dir, 'in.csv');
    writeFileSync(input, 'f0,f1,f2\n1,2,a\n"3",,b\n1,2\n0.25,0.75,"c"\n');
    const output = join(dir, 'out-csv.jsonl');
    const r = await batch(['--model', 'tab', '--input', input, '--output', output], data);
    assert.equal(r.code, 0, r.err);
    const rows = readOut(output);
    assert.deepEqual(rows.map((r) => [r.line, r.error ? 'error' : 'ok']), [[2, 'ok'], [3, 'error'], [4, 'error'], [5, 'ok']]);
    assert.match(rows[1]!.error!.message, /feature "f1" is missing: expected a finite decimal number/);
    assert.match(rows[2]!.error!.message, /has 2 columns: expected 3 \(f0, f1, f2\)/);
  });

  it('holds file rows to what the local API takes: FP32 overflow, hex and nested inputs refused, naming the value', async () => {
    const input = join(dir, 'hostile.csv');
    writeFileSync(input, 'f0,f1,f2\n1e40,2,a\n0x10,2,a\n1,2,a\n');
    const output = join(dir, 'out-hostile.jsonl');
    const r = await batch(['--model', 'tab', '--input', input, '--output', output], data);
    assert.equal(r.code, 0, r.err);
    const rows = readOut(output);
    assert.match(rows[0]!.error!.message, /feature "f0" is 1e40, which overflows FP32 \(the model's input\): expected a finite FP32 number/);
    assert.match(rows[1]!.error!.message, /feature "f0" is "0x10": expected a finite decimal number/);
    assert.ok(rows[2]!.outputs, 'a good row still runs');
    const jsonl = join(dir, 'hostile.jsonl');
    writeFileSync(jsonl, `${JSON.stringify({ inputs: { x: [[1e40, 1, 0]] } })}\n${JSON.stringify({ inputs: { x: [[true, 1, 0]] } })}\n`);
    const rj = await batch(['--model', 'tab', '--input', jsonl, '--output', join(dir, 'out-hostile-j.jsonl')], data);
    assert.equal(rj.code, 0, rj.err);
    const jrows = readOut(join(dir, 'out-hostile-j.jsonl'));
    assert.match(jrows[0]!.error!.message, /data\[0\] = 1e\+40 overflows FP32/);
    assert.match(jrows[1]!.error!.message, /data\[0\] is boolean: expected a number \(FP32\)/);
  });

  it('never writes over its input or replaces a symlink or device: refused, or written through in place', async () => {
    const input = join(dir, 'self.csv');
    writeFileSync(input, 'f0,f1,f2\n1,2,a\n');
    const self = await batch(['--model', 'tab', '--input', input, '--output', input], data);
    assert.equal(self.code, 1);
    assert.match(self.err, /^error \[BAD_REQUEST\]: batch output .*self\.csv is the input file: expected another file/m);
    assert.equal(readFileSync(input, 'utf8'), 'f0,f1,f2\n1,2,a\n', 'the input is untouched');
    const viaLink = join(dir, 'self-link.csv');
    symlinkSync(input, viaLink);
    assert.equal((await batch(['--model', 'tab', '--input', input, '--output', viaLink], data)).code, 1, 'the input through a symlink is the input');
    // A symlink to another file: written through, the link kept.
    const target = join(dir, 'scored-target.jsonl');
    writeFileSync(target, 'old\n');
    const link = join(dir, 'scored-link.jsonl');
    symlinkSync(target, link);
    assert.equal((await batch(['--model', 'tab', '--input', input, '--output', link], data)).code, 0);
    assert.ok(lstatSync(link).isSymbolicLink(), 'the symlink is still a symlink');
    assert.equal(readOut(target).length, 1);
    // A FIFO (as /dev/stdout may be) is written in place, not renamed over.
    const fifo = join(dir, 'scored.fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = spawn('cat', [fifo]);
    let piped = '';
    reader.stdout.on('data', (b: Buffer) => { piped += b.toString(); });
    const closed = new Promise((r) => reader.once('close', r));
    assert.equal((await batch(['--model', 'tab', '--input', input, '--output', fifo], data)).code, 0);
    await closed;
    assert.equal(piped.trim().split('\n').length, 1);
    assert.ok(lstatSync(fifo).isFIFO(), 'still a FIFO');
    assert.equal(existsSync(`${fifo}.tmp`), false);
    const noDir = await batch(['--model', 'tab', '--input', input, '--output', join(dir, 'nope', 'o.jsonl')], data);
    assert.equal(noDir.code, 1);
    assert.match(noDir.err, /its directory .*nope does not exist: expected an existing directory/);
    const isDir = await batch(['--model', 'tab', '--input', input, '--output', dir], data);
    assert.match(isDir.err, /is a directory: expected a file path/);
  });

  it('refuses an unknown model, a missing input and missing flags with a clear message', async () => {
    const nope = await batch(['--model', 'nope', '--input', 'x.csv', '--output', 'o.jsonl'], data);
    assert.equal(nope.code, 1);
    assert.match(nope.err, /^error \[NOT_FOUND\]: model "nope" is not installed: expected one of \[tab\]/);
    const missing = await batch(['--model', 'tab', '--input', join(dir, 'missing.csv'), '--output', 'o.jsonl'], data);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /^error \[NOT_FOUND\]: .*missing\.csv does not exist: expected a \.jsonl or \.csv file/);
    const flags = await batch(['--model', 'tab'], data);
    assert.equal(flags.code, 2);
    assert.match(flags.err, /^error \[BAD_REQUEST\]: missing required options --input, --output\n/);
    const size = await batch(['--model', 'tab', '--input', 'x.csv', '--output', 'o.jsonl', '--batch-size', '0'], data);
    assert.equal(size.code, 2);
    assert.match(size.err, /--batch-size: expected a positive integer, got "0"/);
    // Any bad value gets the same expectation as 0 (the parser's check and the command's agree).
    const word = await batch(['--model', 'tab', '--input', 'x.csv', '--output', 'o.jsonl', '--batch-size', 'abc'], data);
    assert.equal(word.code, 2);
    assert.match(word.err, /--batch-size: expected a positive integer, got "abc"/);
    // A batch is held in memory: past MAX_BATCH_SIZE rows is refused (it once took the whole file in one batch).
    const most = await batch(['--model', 'tab', '--input', 'x.csv', '--output', 'o.jsonl', '--batch-size', String(MAX_BATCH_SIZE + 1)], data);
    assert.equal(most.code, 2);
    assert.match(most.err, /^error \[BAD_REQUEST\]: --batch-size: expected at most 65536 rows per inference call \(they are held in memory at once\), got 65537\n/);
    writeFileSync(join(dir, 'most.csv'), 'f0,f1,f2\n1,2,a\n');
    const atMost = await batch(['--model', 'tab', '--input', join(dir, 'most.csv'), '--output', join(dir, 'out-most.jsonl'), '--batch-size', String(MAX_BATCH_SIZE)], data);
    assert.equal(atMost.code, 0, atMost.err);
  });

  it('a scheduled job processes each file once, even after a restart, and again when it changes', async () => {
    const inDir = join(dir, 'drop');
    const outDir = join(dir, 'results');
    mkdirSync(inDir, { recursive: true });
    writeFileSync(join(inDir, 'a.csv'), 'f0,f1,f2\n1,2,a\n');
    writeFileSync(join(inDir, 'b.jsonl'), `${JSON.stringify({ f0: 1, f1: 1, f2: 'c' })}\n`);
    writeFileSync(join(inDir, 'ignored.txt'), 'x');
    const job = { name: 'nightly', model: 'tab', cron: '0 2 * * *', input: join(inDir, '*.csv'), outputDir: outDir };
    const job2 = { ...job, name: 'jsonl', input: join(inDir, '*.jsonl') };
    const session = async () => {
      const store = openStore(data);
      const rt = new ModelRuntime({ perModel: 1, queue: 100 });
      rt.activate(await rt.load(manifest, store.blobs.pathOf(manifest.files[0]!.sha256)));
      const s = new BatchScheduler({ db: store.db, jobs: [job, job2], resolveModel: (n, v) => runtimeModel(rt, n, v) });
      return { s, close: async () => { await s.stop(); await rt.stop(); store.db.close(); } };
    };
    const one = await session();
    const r1 = await one.s.runJob(job);
    const r1b = await one.s.runJob(job2);
    assert.deepEqual(r1.processed.map((p) => [p.path.endsWith('a.csv'), p.rows]), [[true, 1]]);
    assert.equal(r1b.processed.length, 1);
    assert.equal(readOut(join(outDir, 'a.out.jsonl')).length, 1);
    await one.close();
    const two = await session(); // a restart: a new process would see the same table
    const r2 = await two.s.runJob(job);
    assert.deepEqual([r2.processed.length, r2.skipped.length], [0, 1]);
    writeFileSync(join(inDir, 'a.csv'), 'f0,f1,f2\n1,2,a\n3,3,b\n');
    utimesSync(join(inDir, 'a.csv'), new Date(), new Date(Date.now() + 5000));
    const r3 = await two.s.runJob(job);
    assert.deepEqual(r3.processed.map((p) => p.rows), [2]);
    // A job whose outputDir is its input directory never scores its own results.
    writeFileSync(join(inDir, 'c.jsonl'), `${JSON.stringify({ f0: 2, f1: 1, f2: 'a' })}\n`);
    const loop = { ...job2, name: 'loop', input: join(inDir, '*.jsonl'), outputDir: inDir };
    const l1 = await two.s.runJob(loop);
    assert.deepEqual(l1.processed.map((p) => p.path.endsWith('c.jsonl')), [true]);
    const l2 = await two.s.runJob(loop);
    assert.deepEqual([l2.processed.length, l2.skipped.length], [0, 2], 'c.out.jsonl is not an input');
    assert.deepEqual(readdirSync(inDir).filter((f) => f.includes('.out.')), ['c.out.jsonl']);
    await two.close();
  });

  it('a job whose outputDir cannot be written or whose input directory cannot be read says which and why', async () => {
    const store = openStore(data);
    const inDir = join(dir, 'drop-rw');
    mkdirSync(inDir, { recursive: true });
    writeFileSync(join(inDir, 'a.csv'), 'f0,f1,f2\n1,2,a\n');
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, 'x'); // a path below a file: ENOTDIR for root too (as EROFS under the unit's ProtectSystem)
    const s = new BatchScheduler({ db: store.db, jobs: [], resolveModel: () => { throw new Error('unused'); } });
    try {
      const job = { name: 'out', model: 'tab', cron: '0 2 * * *', input: join(inDir, '*.csv'), outputDir: join(blocker, 'out') };
      await assert.rejects(s.runJob(job), (err: Error & { code?: string }) => err.code === 'CONFIG_INVALID'
        && /^batch job "out": outputDir .*a-file\/out is not writable \(ENOTDIR\): expected a directory the agent may use \(under the systemd unit, .*ReadWritePaths=/.test(err.message));
      const input = { ...job, name: 'in', input: join(blocker, '*.csv'), outputDir: join(dir, 'results-rw') };
      await assert.rejects(s.runJob(input), (err: Error & { code?: string }) => err.code === 'CONFIG_INVALID'
        && /^input glob ".*a-file\/\*\.csv": cannot read .*a-file \(ENOTDIR\): expected a directory the agent may use/.test(err.message));
      // A directory that is not there yet is no error: nothing to run.
      assert.deepEqual(await s.runJob({ ...input, input: join(dir, 'not-yet', '*.csv') }), { processed: [], skipped: [], failed: [] });
    } finally {
      await s.stop();
      store.db.close();
    }
  });

  it('refuses a bad cron in a job, naming the job', () => {
    const store = openStore(data);
    try {
      assert.throws(() => new BatchScheduler({ db: store.db, jobs: [{ name: 'j', model: 'tab', cron: '* *', input: '/x/*.csv', outputDir: '/y' }], resolveModel: () => { throw new Error('unused'); } }),
        /batch job "j": invalid cron expression "\* \*": has 2 fields: expected 5/);
    } finally {
      store.db.close();
    }
  });
});
