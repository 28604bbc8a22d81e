// `--window "CRON DURATION [TZ]"` on `edgefleet rollout create` and `edgefleet deploy`, in process
// against the real REST app on 127.0.0.1:0 (testing.ts): the window reaches the hub and the devices'
// documents, `rollout show` prints it, and a malformed one is a usage error naming what was expected.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cliAgainst, cleanup, prepare, setup, v1Everywhere } from './testing.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('window-cli', () => {
  before(prepare);
  after(cleanup);

  it('rollout create / deploy --window, shown by rollout show; bad windows are usage errors', async () => {
    const e = await setup(4);
    const cli = await cliAgainst(e);
    const run = (...args: string[]) => cli.run(...args);
    try {
      await v1Everywhere(e);
      const created = await run('rollout', 'create', 'audio-energy', '2.0.0', '--devices', 'd-000,d-001', '--window', '0 2 * * 1-5 2h Europe/Berlin', '--reason', 'nightly', '--json');
      assert.equal(created.code, 0, created.err);
      const r = JSON.parse(created.out) as { id: string; window: unknown; gates: { deferTimeoutSec: number } };
      assert.deepEqual(r.window, { cron: '0 2 * * 1-5', durationSec: 7200, timeZone: 'Europe/Berlin' });
      assert.equal(r.gates.deferTimeoutSec, 71 * 3600, 'weekdays: 70 h from Friday\'s close to Monday\'s open, plus 1 h');
      const show = await run('rollout', 'show', r.id);
      assert.match(show.out, /switches in the maintenance window "0 2 \* \* 1-5" for 2h in Europe\/Berlin; deferred devices wait 255600 s/);
      const d = await run('deploy', 'audio-energy', '2.0.0', '--devices', 'd-002', '--window', '*/30 * * * * 10m', '--reason', 'r', '--json');
      assert.equal(d.code, 0, d.err);
      assert.deepEqual(JSON.parse(d.out).window, { cron: '*/30 * * * *', durationSec: 600, timeZone: 'UTC' });
      assert.deepEqual(e.store.desired.latest('d-002')?.signed.models[0]?.maintenance, { cron: '*/30 * * * *', durationSec: 600, timeZone: 'UTC' });
      // A misspelt tag reaches no device: created (devices may join it), with a note naming the abort.
      const empty = await run('rollout', 'create', 'audio-energy', '2.0.0', '--tag', 'site=nrth', '--reason', 'typo');
      assert.equal(empty.code, 0, empty.err);
      assert.match(empty.out, /over 0 device\(s\)/);
      assert.match(empty.err, /^note: tags site=nrth reaches no device now: .*edgefleet rollout abort ro-[0-9a-f]{10} --reason "empty target"\n$/);
      assert.equal(show.err, '', 'no note for a rollout that reaches devices');
      assert.equal(created.err, '');
      const bad: Array<[string, RegExp]> = [
        ['0 2 * * *', /expected "MIN HOUR DAY-OF-MONTH MONTH DAY-OF-WEEK DURATION \[TIME_ZONE\]", e\.g\. "0 2 \* \* \* 2h Europe\/Berlin" \(got 5 parts\)/],
        ['0 2 * * * two-hours', /duration "two-hours" is not one such as 90m, 2h or 1d/],
        ['0 2 * * * 2h Mars/Base', /unknown time zone "Mars\/Base"/],
        ['0 99 * * * 2h', /hour "99": expected values in 0-23/],
        ['0 2 * * * 10s', /expected a window of at least 60 s/],
      ];
      for (const [w, message] of bad) {
        const x = await run('rollout', 'create', 'audio-energy', '2.0.0', '--devices', 'd-003', '--window', w, '--reason', 'r');
        assert.equal(x.code, 2, `${w}: ${x.err}`);
        assert.match(x.err, message);
      }
    } finally {
      cli.close();
      await e.close();
    }
  });
});
