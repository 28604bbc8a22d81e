// The disk-full state on the local API's health answers (disk-full.ts, docs/agent.md "Disk space"): an
// agent whose data dir is on a real tmpfs of a few MiB (examples' smallDisk; skipped where mount(8) is
// refused) serves predictions while the disk is filled: /v2/health/live and /ready name what is refused
// (summary windows), since when, and /metrics says 1; once space is back the windows are written, the
// health answers lose `diskFull` and no prediction was lost. The bookkeeping itself runs everywhere.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { smallDisk, waitFor, type SmallDisk } from '@edgefleet/examples';
import { AppError, windowTotals } from '@edgefleet/shared';
import { DiskFullState } from './disk-full.js';
import { makeKit, mlpBundle, req, row, startAgent } from './testing.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('disk-full', () => {
  const disk: SmallDisk | string = smallDisk(8 << 20);
  after(() => {
    if (typeof disk !== 'string') disk.unmount();
  });

  test('DiskFullState: only a full disk is recorded, per kind of work, cleared by that work succeeding', async () => {
    let t = Date.UTC(2026, 0, 1);
    const s = new DiskFullState(undefined, () => t);
    const full = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    assert.equal(s.failed('batch outputs', new AppError('BAD_REQUEST', 'not the disk')), false);
    assert.equal(s.report(), null, 'another error is not a full disk');
    assert.throws(() => s.run('summary windows', () => { throw full(); }), /ENOSPC/);
    t += 60_000;
    await assert.rejects(s.run('model downloads', () => Promise.reject(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }))), /disk is full/);
    t += 60_000;
    assert.throws(() => s.run('summary windows', () => { throw full(); }));
    const r = s.report()!;
    assert.equal(r.since, '2026-01-01T00:00:00.000Z');
    assert.deepEqual(r.refusing.map((x) => [x.what, x.since, x.last, x.times]), [
      ['summary windows', '2026-01-01T00:00:00.000Z', '2026-01-01T00:02:00.000Z', 2],
      ['model downloads', '2026-01-01T00:01:00.000Z', '2026-01-01T00:01:00.000Z', 1],
    ]);
    assert.match(r.refusing[0]!.message, /^disk full: ENOSPC/);
    assert.match(s.metrics(), /^edgefleet_agent_disk_full 1$/m);
    assert.equal(s.run('summary windows', () => 7), 7);
    assert.deepEqual(s.report()!.refusing.map((x) => x.what), ['model downloads'], 'a write of that work clears only it');
    assert.equal(s.report()!.since, '2026-01-01T00:01:00.000Z');
    assert.equal(await s.run('model downloads', () => Promise.resolve('ok')), 'ok');
    assert.equal(s.report(), null);
    assert.match(s.metrics(), /^edgefleet_agent_disk_full 0$/m);
    const long = new Error(`ENOSPC ${'x'.repeat(2000)}`);
    s.failed('batch outputs', Object.assign(long, { code: 'ENOSPC' }));
    assert.ok(s.report()!.refusing[0]!.message.length <= 500, 'the message kept is bounded');
  });

  test('a full data dir is on /v2/health and /metrics while summary windows are refused, and gone once they are written', { skip: typeof disk === 'string' ? disk : false }, async () => {
    const d = disk as SmallDisk;
    const kit = makeKit('ef-disk-health-');
    const agent = await startAgent(join(d.dir, 'data'), { summaries: { windowSec: 1, checkpointSec: 0 } } as never);
    try {
      agent.trust.put(kit.trust.doc, 1);
      await agent.manager.install((await mlpBundle(kit, '1.0.0')).path);
      const infer = async () => assert.equal((await req(agent.url, 'POST', '/v2/models/mlp/infer', row([1, 2, 3, 4]))).status, 200);
      await infer();
      assert.deepEqual((await req(agent.url, 'GET', '/v2/health/live')).json, { live: true }, 'nothing refused yet');

      // The WAL emptied (as WalKeeper's truncating checkpoint leaves it), then the disk filled: the next
      // window needs room the disk does not have.
      agent.db.pragma('wal_checkpoint(TRUNCATE)');
      d.fill(0);
      let served = 1;
      const refused = await waitFor('the health answer names the refused summary windows', async () => {
        await infer();
        served++;
        return (await req(agent.url, 'GET', '/v2/health/live')).json.diskFull ?? undefined;
      }, { timeoutMs: 20_000, intervalMs: 200 });
      assert.deepEqual(refused.refusing.map((r: { what: string }) => r.what), ['summary windows']);
      assert.match(refused.refusing[0].message, /^disk full: /);
      assert.ok(Date.parse(refused.since) <= Date.now() && Date.now() - Date.parse(refused.since) < 30_000, refused.since);
      const ready = await req(agent.url, 'GET', '/v2/health/ready');
      assert.equal(ready.status, 200, 'serving goes on');
      assert.equal(ready.json.diskFull.since, refused.since);
      assert.match((await req(agent.url, 'GET', '/metrics')).text, /^edgefleet_agent_disk_full 1$/m);

      d.free();
      await waitFor('diskFull gone once the windows are written', async () => {
        const live = (await req(agent.url, 'GET', '/v2/health/live')).json;
        return live.diskFull === undefined || undefined;
      }, { timeoutMs: 20_000, intervalMs: 200 });
      assert.match((await req(agent.url, 'GET', '/metrics')).text, /^edgefleet_agent_disk_full 0$/m);
      await agent.stop();
      const { openStore } = await import('./store/agent-store.js');
      const s = openStore(join(d.dir, 'data'));
      try {
        assert.equal(windowTotals(s.summaries.listWindows().map((w) => w.window)).count, served, 'every prediction served is in a window once');
      } finally {
        s.db.close();
      }
    } finally {
      await agent.stop();
      d.free();
      kit.cleanup();
    }
  });
});
