// Batch output on a full disk (docs/agent-summaries.md "Scheduled jobs"): the output dir on a real tmpfs of a few MiB
// (examples' smallDisk; skipped where mount(8) is refused). The job fails with DISK_FULL naming the
// output, its half-written .tmp is removed (the space is given back), the daemon goes on, and the file
// is processed in full once space is back: the CLI run again, the scheduled job at its next run.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { smallDisk, type SmallDisk } from '@edgefleet/examples';
import { openStore } from '../store/agent-store.js';
import { ModelRuntime } from '../runtime/runtime.js';
import { BatchScheduler } from './scheduler.js';
import { runtimeModel } from './run.js';
import { batch, makeDataDir, manifest } from './testing.js';
import { DiskFullState } from '../disk-full.js';

const ROWS = 20_000; // ~1 MB of output rows
const disk: SmallDisk | string = smallDisk(4 << 20);
const skip = typeof disk === 'string' ? disk : false;

describe('batch output on a full disk', { skip }, () => {
  let dir: string;
  let data: string;
  let input: string;
  const d = disk as SmallDisk;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ef-batch-full-'));
    data = join(dir, 'data');
    makeDataDir(data);
    input = join(dir, 'in', 'rows.jsonl');
    mkdirSync(join(dir, 'in'));
    writeFileSync(input, Array.from({ length: ROWS }, (_, i) => JSON.stringify({ f0: i % 7, f1: 1, f2: 'a' })).join('\n'));
  });
  after(() => {
    if (typeof disk !== 'string') disk.unmount();
    rmSync(dir, { recursive: true, force: true });
  });
  const onDisk = () => readdirSync(d.dir).filter((f) => f !== '.ballast');

  it('the CLI: exit 1, DISK_FULL naming the output, no .tmp left; the same command after space is back writes every row', async () => {
    d.fill(64 * 1024);
    const before = d.available();
    const output = join(d.dir, 'rows.out.jsonl');
    const r = await batch(['--model', 'tab', '--input', input, '--output', output], data);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.err, new RegExp(`^error \\[DISK_FULL\\]: batch output ${output}: cannot write it: disk full: ENOSPC.*nothing of it was kept\\)\\n$`));
    assert.deepEqual(onDisk(), [], 'neither the output nor its .tmp');
    assert.ok(d.available() >= before - 8192, `the space is given back: ${d.available()} of ${before} bytes free`);

    d.free();
    const again = await batch(['--model', 'tab', '--input', input, '--output', output], data);
    assert.equal(again.code, 0, again.err);
    assert.equal(readFileSync(output, 'utf8').trim().split('\n').length, ROWS);
    rmSync(output);
  });

  it('a scheduled job: the file fails with DISK_FULL, is not marked processed, and is processed at the next run', async () => {
    const outDir = join(d.dir, 'results');
    const job = { name: 'nightly', model: 'tab', cron: '0 2 * * *', input: join(dir, 'in', '*.jsonl'), outputDir: outDir };
    const store = openStore(data);
    const rt = new ModelRuntime({ perModel: 1, queue: 100 });
    const errors: Array<{ obj: object; msg?: string }> = [];
    const logger = { info: () => undefined, warn: () => undefined, error: (obj: object, msg?: string) => { errors.push({ obj, msg }); } };
    const disk = new DiskFullState();
    const s = new BatchScheduler({ db: store.db, jobs: [job], resolveModel: (n, v) => runtimeModel(rt, n, v), logger, disk });
    try {
      rt.activate(await rt.load(manifest, store.blobs.pathOf(manifest.files[0]!.sha256)));
      mkdirSync(outDir);
      d.fill(64 * 1024);
      const r1 = await s.runJob(job);
      assert.deepEqual(r1.processed, []);
      assert.equal(r1.failed.length, 1);
      assert.match(r1.failed[0]!.error, /^batch output .*rows\.out\.jsonl: cannot write it: disk full: ENOSPC/);
      assert.deepEqual(errors.map((e) => e.msg), ['batch file failed']);
      assert.deepEqual(readdirSync(outDir), [], 'no .tmp left in the output dir');
      assert.equal((store.db.prepare('SELECT COUNT(*) AS n FROM processed_files').get() as { n: number }).n, 0);
      // The agent's health answer names it (disk-full.ts).
      assert.deepEqual(disk.report()?.refusing.map((x) => [x.what, x.times]), [['batch outputs', 1]]);
      assert.match(disk.report()!.refusing[0]!.message, /rows\.out\.jsonl: cannot write it: disk full/);

      d.free();
      const r2 = await s.runJob(job);
      assert.deepEqual(r2.processed.map((p) => p.rows), [ROWS]);
      assert.ok(existsSync(join(outDir, 'rows.out.jsonl')));
      assert.equal(disk.report(), null, 'a written output clears it');
    } finally {
      await s.stop();
      await rt.stop();
      store.db.close();
      d.free();
    }
  });
});
