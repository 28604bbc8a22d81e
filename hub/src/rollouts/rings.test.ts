// Staging rings (docs/rollouts.md "Staging rings") on the rollout test environment (testing.ts: real
// hub.db, broker and engine, simulated device reports): a ring selects its devices by tags and the percent
// waves after it share out the rest; a regressed version is caught in the ring and rolled back before any
// production device was told; a hub with rollouts.requireStagingRing refuses a rollout without the ring.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError, RolloutCreate, type Wave } from '@edgefleet/shared';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config-load.js';
import { GATES, WAVES, actions, cleanup, notified, others, prepare, report, running, setup, v1Everywhere, type Env } from './testing.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('rings', () => {
  before(prepare);
  after(cleanup);

  const STAGING = ['d-000', 'd-007', 'd-013'];
  const RING: Wave[] = [{ name: 'staging', tags: { env: 'staging' }, bakeSec: 60 }, ...WAVES];
  const base = { model: 'audio-energy', target: { all: true }, gates: GATES, advance: 'auto', onFailure: 'rollback' } as const;

  function tagStaging(e: Env): void {
    for (const id of STAGING) e.store.devices.setTags(id, { ring: 'a', env: 'staging' });
  }

  describe('staging rings', () => {
    it('a regressed version is caught by the ring and rolled back before any production device was told', async () => {
      const e = await setup(20, { requireStagingRing: { env: 'staging' } });
      try {
        tagStaging(e);
        await v1Everywhere(e);
        await assert.rejects(e.engine.create({ ...base, version: '3.0.0', waves: WAVES, reason: 'v3' }, { name: 'op' }), (err: AppError) => {
          assert.equal(err.code, 'BAD_REQUEST');
          assert.match(err.message, /^waves\[0\]\.tags: this hub requires every rollout to start with a staging ring selecting env=staging \(hub config rollouts\.requireStagingRing\); got wave canary 10%/);
          return true;
        });
        const lab: Wave[] = [{ name: 'lab', tags: { env: 'lab' }, bakeSec: 60 }, ...WAVES];
        await assert.rejects(e.engine.create({ ...base, version: '3.0.0', waves: lab, reason: 'v3' }, { name: 'op' }), /waves\[0\]\.tags: .*got wave lab \[env=lab\]/);
        const r = await e.engine.create({ ...base, version: '3.0.0', waves: RING, reason: 'v3' }, { name: 'op' });
        assert.deepEqual(notified(e, r.id).sort(), STAGING, 'only the ring was told');
        e.clock.advance(61_000);
        report(e, STAGING, '3.0.0', { bins: [0, 0, 0, 10, 20, 30, 40], bad: 8 });
        report(e, others(e, r.id), '1.0.0');
        await e.engine.tick();
        const v = e.engine.view(r.id);
        assert.equal(v.state, 'rolled_back', JSON.stringify(v.waves[0]?.gates));
        const g = Object.fromEntries((v.waves[0]?.gates ?? []).map((x) => [x.name, x]));
        assert.equal(g['output_shift']?.verdict, 'fail');
        assert.equal(g['output_shift']?.against, 'control');
        assert.equal(g['model_error_rate']?.verdict, 'fail');
        assert.deepEqual(v.waves.map((w) => w.state), ['failed', 'skipped', 'skipped']);
        assert.deepEqual(notified(e, r.id).sort(), STAGING, 'no production device was told');
        for (const d of e.store.devices.list()) assert.equal(e.store.desired.latest(d.id)?.signed.models[0]?.version, '1.0.0', `${d.id} on 1.0.0`);
        assert.equal(running(e, '3.0.0'), 0);
        assert.deepEqual(actions(e, r.id).slice(-3), ['rollout.wave_evaluating', 'rollout.wave_failed', 'rollout.rolled_back']);
      } finally {
        await e.close();
      }
    });

    it('a good version walks ring -> canary -> all; the percent waves share out the devices outside the ring', async () => {
      const e = await setup(20);
      try {
        tagStaging(e);
        await v1Everywhere(e);
        const noRing: Wave[] = [{ name: 'qa', tags: { env: 'qa' }, bakeSec: 60 }, ...WAVES];
        await assert.rejects(e.engine.create({ ...base, version: '2.0.0', waves: noRing, reason: 'v2' }, { name: 'op' }), /waves\[0\]\.tags: the ring qa \[env=qa\] holds 0 device\(s\) of the target: expected at least 1 with env=qa/);
        // A percent wave before the last that takes no device is refused too (it could never be judged);
        // with minDevices it is topped up. The id fixes every device's place.
        const tiny: Wave[] = [{ name: 'canary', percent: 0.001, bakeSec: 60 }, { name: 'all', percent: 100, bakeSec: 0 }];
        const previewOf = (waves: Wave[]) => e.engine.preview({ ...base, id: 'ro-00000000aa', version: '2.0.0', waves, reason: 'v2' } as never, { name: 'op' });
        await assert.rejects(previewOf(tiny), (err: AppError) => {
          assert.equal(err.code, 'BAD_REQUEST');
          assert.match(err.message, /^waves\[0\]\.percent: the wave canary 0\.001% takes none of the 20 device\(s\) of the target .*: expected minDevices \(e\.g\. --wave canary:0\.001%:min=1\) or a larger percent$/);
          return true;
        });
        assert.equal((await previewOf([{ ...tiny[0]!, minDevices: 1 }, tiny[1]!])).waves[0]?.devices, 1, 'with minDevices 1 it takes one device');
        const r = await e.engine.create({ ...base, version: '2.0.0', waves: RING, reason: 'v2' }, { name: 'op' });
        e.clock.advance(61_000);
        report(e, STAGING, '2.0.0');
        report(e, others(e, r.id), '1.0.0');
        await e.engine.tick();
        assert.equal(e.store.rollouts.get(r.id).currentWave, 1, JSON.stringify(e.store.rollouts.get(r.id).progress[0]?.gates));
        await e.engine.tick();
        const production = notified(e, r.id).filter((id) => !STAGING.includes(id));
        const byPlace = e.store.rollouts.devices(r.id).filter((d) => !STAGING.includes(d.deviceId) && d.place < 10).length;
        assert.equal(production.length, Math.max(2, byPlace), 'the canary: 10 % of the production devices, at least 2');
        const shown = e.engine.view(r.id);
        assert.equal(shown.waves[1]?.devices, 3 + production.length, 'nested: the ring and the canary, nobody twice');
        assert.deepEqual(shown.devices?.filter((d) => d.wave === 'staging').map((d) => d.deviceId).sort(), STAGING);
        e.clock.advance(61_000);
        report(e, notified(e, r.id), '2.0.0');
        report(e, others(e, r.id), '1.0.0');
        await e.engine.tick();
        await e.engine.tick();
        e.clock.advance(61_000);
        report(e, notified(e, r.id), '2.0.0');
        await e.engine.tick();
        assert.equal(e.engine.view(r.id).state, 'completed', JSON.stringify(e.engine.view(r.id).waves.map((w) => w.gates)));
        assert.equal(running(e, '2.0.0'), 20);
      } finally {
        await e.close();
      }
    });

    it('the request schema names the wave field that is wrong', () => {
      const req = { model: 'm', version: '2.0.0', target: { all: true }, reason: 'x' };
      const issues = (waves: unknown[]) => {
        const r = RolloutCreate.safeParse({ ...req, waves });
        return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
      };
      assert.deepEqual(issues([{ name: 's', tags: { env: 'staging' }, percent: 5, bakeSec: 0 }, { name: 'all', percent: 100, bakeSec: 0 }]), ['waves.0.tags: expected either tags (a staging ring) or percent, not both']);
      assert.deepEqual(issues([{ name: 'c', percent: 5, bakeSec: 0 }, { name: 's', tags: { env: 'staging' }, bakeSec: 0 }, { name: 'all', percent: 100, bakeSec: 0 }]), ['waves.1.tags: expected staging rings (tags) before the percent waves']);
      assert.deepEqual(issues([{ name: 's', bakeSec: 0 }, { name: 'all', percent: 100, bakeSec: 0 }]), ['waves.0.percent: expected a percent (a share of the target) or tags (a staging ring)']);
      assert.deepEqual(issues([{ name: 's', tags: {}, bakeSec: 0 }, { name: 'all', percent: 100, bakeSec: 0 }]), ['waves.0.tags: expected 1 to 8 tags, e.g. {"env": "staging"}']);
      assert.deepEqual(issues([{ name: 's', tags: { env: 'staging' }, bakeSec: 0 }]), ['waves.0.percent: expected the last wave to reach 100 percent']);
      // No waves: one issue naming the bound, not a `waves.-1` the operator cannot find.
      assert.deepEqual(issues([]), ['waves: expected 1 to 10 waves, e.g. [{"name": "canary", "percent": 5, "minDevices": 1, "bakeSec": 1800}, {"name": "all", "percent": 100, "bakeSec": 0}]']);
      assert.deepEqual(issues([{ name: 'c', percent: 5, bakeSec: 99_999_999 }, { name: 'all', percent: 100, bakeSec: 1.5 }]), ['waves.0.bakeSec: expected a whole number of seconds from 0 to 2592000 (30 days)', 'waves.1.bakeSec: expected a whole number of seconds from 0 to 2592000 (30 days)']);
      const gates = RolloutCreate.safeParse({ ...req, gates: { installSuccess: 1.5, reporting: -1, errorRatePoints: 101 } });
      assert.deepEqual(gates.success ? [] : gates.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`), ['gates.installSuccess: expected a share from 0 to 1, e.g. 0.95', 'gates.reporting: expected a share from 0 to 1, e.g. 0.95', 'gates.errorRatePoints: expected percentage points from 0 to 100']);
      assert.deepEqual(issues(RING), []);
    });

    it('the hub config reads rollouts.requireStagingRing and names a bad one', () => {
      const dir = mkdtempSync(join(tmpdir(), 'ef-cfg-'));
      try {
        const file = join(dir, 'hub.json');
        writeFileSync(file, JSON.stringify({ dataDir: 'data', rollouts: { requireStagingRing: { env: 'staging' } } }));
        assert.deepEqual(loadConfig({ config: file }, dir).rollouts?.requireStagingRing, { env: 'staging' });
        writeFileSync(file, JSON.stringify({ dataDir: 'data', rollouts: { requireStagingRing: {} } }));
        assert.throws(() => loadConfig({ config: file }, dir), (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && /rollouts\.requireStagingRing/.test(e.message));
        writeFileSync(file, JSON.stringify({ dataDir: 'data', rollouts: { requireStagingRing: 'staging' } }));
        assert.throws(() => loadConfig({ config: file }, dir), /rollouts\.requireStagingRing/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
