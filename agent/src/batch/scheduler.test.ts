// Scheduled batch jobs (docs/agent-summaries.md "Scheduled jobs"): the input glob's wildcards, and what a
// job that fails at its cron minute logs.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@edgefleet/examples';
import { tempDb, type TempDb } from '../summaries/fixtures.js';
import { BatchScheduler, expandGlob } from './scheduler.js';

describe('batch scheduler', () => {
  let dir: string;
  let db: TempDb;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ef-batch-sched-'));
    db = tempDb('ef-batch-sched-db-');
  });
  after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('input glob: * and ? are the wildcards, [ and ] are themselves, in the file name and the directory', async () => {
    const d = join(dir, 'drop[2]');
    mkdirSync(d);
    for (const f of ['in[1].csv', 'in1.csv', 'in2.csv', 'x[.csv']) writeFileSync(join(d, f), 'f0\n1\n');
    assert.deepEqual(await expandGlob(join(d, 'in[1].csv')), [join(d, 'in[1].csv')]); // matched in1.csv before
    assert.deepEqual(await expandGlob(join(d, 'x[.csv')), [join(d, 'x[.csv')]); // an invalid regular expression before
    assert.deepEqual(await expandGlob(join(d, 'in?.csv')), [join(d, 'in1.csv'), join(d, 'in2.csv')]);
    assert.deepEqual((await expandGlob(join(d, '*.csv'))).length, 4); // a directory named with [ ] was refused as a wildcard
    await assert.rejects(expandGlob(join(dir, 'd*', '*.csv')), /input glob ".*": wildcards are only supported in the file name/);
  });

  it('a job that fails at its minute is logged as "batch job failed" with its code, the job and the message', async () => {
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, 'x'); // its input directory is a file: ENOTDIR, CONFIG_INVALID
    const logged: { obj: Record<string, unknown>; msg: string }[] = [];
    const due = Math.ceil(Date.now() / 60_000) * 60_000;
    const s = new BatchScheduler({
      db: db.db,
      jobs: [{ name: 'nightly', model: 'tab', cron: '* * * * *', input: join(blocker, '*.csv'), outputDir: join(dir, 'out') }],
      resolveModel: () => { throw new Error('not reached: the input directory is refused first'); },
      clock: { now: () => due - 3 }, // 3 ms before a cron minute: the timer fires at once
      logger: { info: () => undefined, error: (obj, msg) => { logged.push({ obj: obj as Record<string, unknown>, msg }); } },
    });
    s.start();
    try {
      const first = await waitFor('the job failure logged', () => logged[0]);
      assert.equal(first.msg, 'batch job failed');
      assert.equal(first.obj.job, 'nightly');
      assert.equal(first.obj.code, 'CONFIG_INVALID'); // the code was not logged
      assert.match(String(first.obj.err), /^input glob ".*a-file\/\*\.csv": cannot read .*a-file \(ENOTDIR\)/);
    } finally {
      await s.stop();
    }
  });
});
