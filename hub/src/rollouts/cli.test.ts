// `edgefleet rollout ...` in process against the real REST app served on 127.0.0.1:0 (testing.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseWave } from '../cli/commands/remote-rollout.js';
import { WAVES, cliAgainst, cleanup, notified, others, prepare, report, setup, v1Everywhere } from './testing.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('cli', () => {
  before(prepare);
  after(cleanup);

  it('rollout create (with and without a shadow stage) | ls | show | pause | resume | promote | abort | rollback through the CLI', async () => {
    const e = await setup(8);
    const cli = await cliAgainst(e);
    const run = (...args: string[]) => cli.run('rollout', ...args);
    try {
      await v1Everywhere(e);
      const created = await run('create', 'audio-energy', '2.0.0', '--tag', 'ring=a', '--wave', 'canary:25%:bake=1m:min=2', '--wave', 'all:100%', '--gate', 'minPredictions=150', '--reason', 'v2', '--manual', '--json');
      assert.equal(created.code, 0, created.err);
      const r = JSON.parse(created.out) as { id: string; advance: string; waves: Array<{ name: string; bakeSec: number; minDevices?: number }> };
      assert.deepEqual([r.advance, r.waves[0]?.bakeSec, r.waves[0]?.minDevices], ['manual', 60, 2]);
      const badGate = await run('create', 'audio-energy', '2.0.0', '--all', '--gate', 'minPredictons=5', '--reason', 'typo');
      // A misspelt gate key is a bad command line, refused before the hub is asked, naming the keys expected.
      assert.equal(badGate.code, 2, badGate.err);
      assert.match(badGate.err, /--gate minPredictons=5: unknown key "minPredictons": expected one of .*minPredictions/);
      const badShadow = await run('create', 'audio-energy', '3.0.0', '--all', '--shadow', 'sampleRate=2', '--reason', 'too much');
      assert.equal(badShadow.code, 1);
      assert.match(badShadow.err, /shadow\.sampleRate: expected a sample rate of at most 1/);
      const ls = await run('ls');
      assert.match(ls.out, new RegExp(`${r.id} +audio-energy +1\\.0\\.0 +2\\.0\\.0 +running +canary baking`));
      e.clock.advance(61_000);
      report(e, e.store.rollouts.devices(r.id).filter((d) => d.notifiedAt).map((d) => d.deviceId), '2.0.0');
      report(e, others(e, r.id), '1.0.0');
      await e.engine.tick();
      const show = await run('show', r.id);
      assert.match(show.out, /> canary 25% +(\d)\/\1 told +passed +bake until/, 'manual: passed, waiting for promote');
      assert.match(show.out, /install_success +1 +>= 0\.95 +\d+ \/ 0 +absolute +pass/);
      assert.match(show.out, /input_drift \(shown\)/);
      assert.match(show.out, /DEVICE +PLACE +WAVE +PREVIOUS +STATUS/);
      assert.match(show.out, /^running; advance manual, on failure rollback; created by \S+: v2$/m, 'no state change yet: no "by"');
      // Nothing moves until promote, and the rollout still reads running: show and ls say what it waits for.
      assert.match(show.out, new RegExp(`^waiting for promote: wave canary passed \\(advance manual\\); edgefleet rollout promote ${r.id} --reason "\\.\\.\\." opens wave all 100%$`, 'm'), show.out);
      assert.match((await run('ls')).out, new RegExp(`${r.id} .* running +canary passed, waiting for promote `));
      // The devices listed: 50 by default (all 8 here), N with --devices N (the waves still count all).
      const deviceRows = (out: string) => out.split('\n').filter((l) => /^d-\d{3} /.test(l)).length;
      const listed = deviceRows(show.out);
      assert.equal(listed, 8, show.out);
      const three = await run('show', r.id, '--devices', '3');
      assert.equal(deviceRows(three.out), 3, three.out);
      assert.match(three.out, /\(the first 3 of 8 devices, by place; --devices N or --devices all for more\)/);
      assert.match(three.out, /canary 25% +\d\/\d told/);
      assert.equal(deviceRows((await run('show', r.id, '--devices', 'all')).out), 8);
      const bad = await run('show', r.id, '--devices', '0');
      assert.equal(bad.code, 2);
      assert.match(bad.err, /--devices 0: expected a number of devices from 1 to 100000, or all/);
      for (const [action, state] of [['promote', 'running, wave all'], ['pause', 'paused'], ['resume', 'running'], ['abort', 'aborted'], ['rollback', 'rolled_back']] as const) {
        const a = await run(action, r.id, '--reason', `${action} it`);
        assert.equal(a.code, 0, a.err);
        assert.match(a.out, new RegExp(`rollout ${r.id}: ${state}`));
        if (action === 'pause') {
          // Who paused it and when, with the operator's reason.
          const paused = await run('show', r.id);
          assert.match(paused.out, /^paused by (\S+) at \d{4}-\d\d-\d\dT[\d:.]+Z \(pause it\); advance manual/m, paused.out);
          assert.notEqual(/^paused by (\S+)/m.exec(paused.out)?.[1], 'hub');
        }
        if (action === 'resume') assert.match((await run('show', r.id)).out, /^running by \S+ at \S+ \(resume it\); advance manual/m, 'who resumed it, and why');
      }
      const refused = await run('pause', r.id, '--reason', 'late');
      assert.equal(refused.code, 1);
      assert.match(refused.err, /^error \[CONFLICT\]: hub: rollout .* is rolled_back: pause expects a running rollout; it has ended and its devices were sent back: create a new rollout \(edgefleet rollout create\)/);
      // A watch that sees the rollout end rolled back fails, so `--watch && next-step` stops there.
      const watched = await run('show', r.id, '--watch', '--interval', '50');
      assert.match(watched.out, /rolled_back/);
      assert.equal(watched.code, 1);
      assert.match(watched.err, new RegExp(`^error \\[ROLLOUT_NOT_COMPLETED\\]: rollout ${r.id} ended rolled_back \\(rollback it\\); expected completed`));
      const shadowed = await run('create', 'audio-energy', '3.0.0', '--all', '--shadow', 'on', '--shadow', 'threshold=0.5', '--reason', 'v3 in shadow first', '--json');
      assert.equal(shadowed.code, 0, shadowed.err);
      const s3 = JSON.parse(shadowed.out) as { waves: Array<{ name: string; shadow?: { sampleRate: number; threshold?: number } }> };
      assert.deepEqual(s3.waves.map((w) => w.name), ['shadow', 'canary', 'all']);
      assert.deepEqual([s3.waves[0]?.shadow?.sampleRate, s3.waves[0]?.shadow?.threshold], [0.1, 0.5]);
    } finally {
      cli.close();
      await e.close();
    }
  });

  it('--wave parses percent waves and staging rings, and names what is wrong', () => {
    assert.deepEqual(parseWave('staging:tag=env=staging:bake=10m'), { name: 'staging', bakeSec: 600, tags: { env: 'staging' } });
    assert.deepEqual(parseWave('lab:tag=env=lab:tag=site=b:min=2'), { name: 'lab', bakeSec: 0, tags: { env: 'lab', site: 'b' }, minDevices: 2 });
    assert.deepEqual(parseWave('canary:5%:bake=30m:min=1'), { name: 'canary', bakeSec: 1800, percent: 5, minDevices: 1 });
    assert.throws(() => parseWave('staging:tag=env'), /--wave staging:tag=env: unknown part "tag=env": expected bake=DURATION, min=N or tag=KEY=VALUE/);
    assert.throws(() => parseWave('canary:5%:tag=env=x'), /unknown part "tag=env=x": expected bake=DURATION or min=N$/);
    assert.throws(() => parseWave('staging'), /expected NAME:PERCENT%.*or a staging ring NAME:tag=KEY=VALUE/);
  });

  it('rollout create --dry-run shows each wave\'s devices and stores nothing; --id then takes exactly those devices', async () => {
    const e = await setup(12);
    const cli = await cliAgainst(e);
    const run = (...args: string[]) => cli.run('rollout', 'create', 'audio-energy', '2.0.0', '--all', '--wave', 'canary:25%:bake=1m:min=2', '--wave', 'all:100%', '--reason', 'v2', ...args);
    try {
      await v1Everywhere(e);
      const dry = await run('--dry-run');
      assert.equal(dry.code, 0, dry.err);
      const id = /^dry run, nothing created: rollout (ro-[0-9a-f]{10}) would take audio-energy 1\.0\.0 -> 2\.0\.0 to 12 device\(s\)$/m.exec(dry.out)?.[1];
      assert.ok(id, dry.out);
      assert.match(dry.out, /^canary 25% +(\d+) +\1$/m);
      assert.match(dry.out, new RegExp(`the same command without --dry-run, with --id ${id}\\n$`));
      const previewed = dry.out.split('\n').filter((l) => /^canary +d-\d{3} +1\.0\.0$/.test(l)).map((l) => l.split(/ +/)[1]).sort();
      assert.ok(previewed.length >= 2, dry.out);
      assert.equal(e.store.rollouts.active('audio-energy').length, 0, 'a dry run creates nothing');
      const json = JSON.parse((await run('--dry-run', '--json')).out) as { id: string; waves: Array<{ joiningCount: number }> };
      assert.deepEqual(json.waves.map((w) => w.joiningCount).reduce((a, b) => a + b), 12);
      const created = await run('--id', id, '--json');
      assert.equal(created.code, 0, created.err);
      assert.equal((JSON.parse(created.out) as { id: string }).id, id);
      const told = e.store.rollouts.devices(id).filter((d) => d.notifiedAt !== null).map((d) => d.deviceId).sort();
      assert.deepEqual(told, previewed, 'the canary told is the canary previewed');
      const again = await run('--id', id);
      assert.equal(again.code, 1);
      assert.match(again.err, /CONFLICT.*id: rollout ro-[0-9a-f]{10} exists already/);
      const bad = await run('--id', 'ro-12', '--dry-run');
      assert.equal(bad.code, 2);
      assert.match(bad.err, /--id ro-12: expected a rollout id like ro-1a2b3c4d5e/);
      // The hub names a wave by its index; the refusal says which --wave it was.
      const order = await cli.run('rollout', 'create', 'audio-energy', '2.0.0', '--all', '--wave', 'all:100%', '--wave', 'canary:10%', '--reason', 'v2', '--dry-run');
      assert.equal(order.code, 1);
      assert.match(order.err, /waves\[1\]\.percent: .* \(waves\[1\] is --wave canary:10%\)\n$/);
    } finally {
      cli.close();
      await e.close();
    }
  });

  it('a rollback says which devices it had nothing to return to, and the undeploy that takes the version off them', async () => {
    const e = await setup(8);
    const cli = await cliAgainst(e);
    try {
      // Half the fleet runs 1.0.0; the others run no version of the model yet.
      await e.parts.deployments.deploy({ model: 'audio-energy', version: '1.0.0', target: { devices: ['d-000', 'd-001', 'd-002', 'd-003'] }, reason: 'v1 on half' }, 'op');
      const created = await cli.run('rollout', 'create', 'audio-energy', '2.0.0', '--all', '--wave', 'all:100%:bake=1h', '--reason', 'v2', '--json');
      assert.equal(created.code, 0, created.err);
      const id = (JSON.parse(created.out) as { id: string }).id;
      const deployment = e.store.rollouts.get(id).deploymentId;
      const back = await cli.run('rollout', 'rollback', id, '--reason', 'bad');
      assert.equal(back.code, 0, back.err);
      assert.equal(back.out, `rollout ${id}: rolled_back (bad; 4 device(s) that ran no version of audio-energy before keep 2.0.0: edgefleet undeploy ${deployment} --reason ... takes it off them)\n`);
      const version = (d: string) => e.store.desired.latest(d)?.signed.models.find((m) => m.name === 'audio-energy')?.version;
      assert.deepEqual(['d-000', 'd-004'].map(version), ['1.0.0', '2.0.0']);
      const undone = await cli.run('undeploy', String(deployment), '--reason', 'take 2.0.0 off');
      assert.equal(undone.code, 0, undone.err);
      assert.match(undone.out, /undeployed: 4 device\(s\) told to stop serving the model/);
      assert.deepEqual(['d-000', 'd-004'].map(version), ['1.0.0', undefined]);
    } finally {
      cli.close();
      await e.close();
    }
  });

  it('a wave whose gates wait says when it pauses and, with no window from its devices, why reporting waits', async () => {
    const e = await setup(10);
    const cli = await cliAgainst(e);
    try {
      await v1Everywhere(e);
      const r = await e.engine.create({ model: 'audio-energy', version: '2.0.0', target: { all: true }, waves: WAVES, gates: { minPredictions: 150, stuckSec: 120 }, advance: 'auto', onFailure: 'rollback', reason: 'v2' }, { name: 'op' });
      e.clock.advance(61_000);
      // The canary's boxes run 2.0.0 but were sent no request: no window of it. How many the canary takes
      // follows the rollout's id (decision 0105): 2 mostly, 3 or more now and then.
      const canary = notified(e, r.id);
      const n = canary.length;
      for (const id of canary) {
        e.store.deployments.setStatus(id, 'audio-energy', '2.0.0', 'active', e.clock.now(), { progress: 1 });
        e.store.devices.markSeen(id, true, e.clock.now()); // connected: a wave without traffic
      }
      report(e, others(e, r.id), '1.0.0');
      await e.engine.tick();
      const judging = e.engine.view(r.id);
      assert.equal(judging.waves[0]?.state, 'evaluating');
      const pausesAt = new Date(e.clock.now().getTime() + 120_000).toISOString();
      assert.equal(judging.waves[0]?.pausesAt, pausesAt);
      assert.equal(judging.waves[1]?.pausesAt, undefined, 'only the wave being judged');
      const show = await cli.run('rollout', 'show', r.id);
      assert.match(show.out, new RegExp(`> canary 10% +${n}/${n} told +evaluating +pauses at ${pausesAt} if a gate is still pending \\(gates\\.stuckSec\\)`), show.out);
      assert.match(show.out, new RegExp(`reporting +0 +>= 0\\.8 .* pending +${n} of the ${n} active device\\(s\\) sent no window of the new version yet: a box sends one only for a span in which it was sent requests *$`, 'm'), 'connected: nothing said of boxes switched off');
      // One of them switched off: said, so the pause does not read as a wave without traffic only.
      const off = canary[0] as string;
      e.store.devices.markSeen(off, false, e.clock.now());
      const offNote = `1 of them offline (${off} since ${e.clock.now().toISOString()}): a box switched off sends its windows when it reconnects`;
      e.clock.advance(121_000);
      await e.engine.tick();
      const paused = e.engine.view(r.id);
      assert.equal(paused.state, 'paused');
      assert.equal(paused.waves[0]?.pausesAt, undefined, 'paused: nothing left to count down');
      assert.match(paused.stateReason ?? '', new RegExp(`reporting 0 \\(needs >= 0\\.8; ${n} of the ${n} active device\\(s\\) sent no window`));
      assert.ok(paused.stateReason?.includes(`a box sends one only for a span in which it was sent requests; ${offNote})`), paused.stateReason ?? '');
    } finally {
      cli.close();
      await e.close();
    }
  });

  it('an aborted rollout shows the wave it never started as skipped, on show, ls and --json (decision 0118)', async () => {
    const e = await setup(8);
    const cli = await cliAgainst(e);
    try {
      await v1Everywhere(e);
      const created = await cli.run('rollout', 'create', 'audio-energy', '2.0.0', '--all', '--wave', 'canary:25%:bake=1h:min=2', '--wave', 'all:100%', '--reason', 'v2', '--json');
      assert.equal(created.code, 0, created.err);
      const id = (JSON.parse(created.out) as { id: string }).id;
      assert.match((await cli.run('rollout', 'show', id)).out, /^ {2}all 100% +\d\/8 told +pending /m, 'running: the next wave is pending');
      // One told device switched; the others, offline, still switch when they reconnect: the abort says so and how to stop that.
      const [on, ...away] = notified(e, id);
      report(e, [on as string], '2.0.0');
      const aborted = await cli.run('rollout', 'abort', id, '--reason', 'wrong build');
      assert.equal(aborted.code, 0, aborted.err);
      assert.equal(aborted.out, `rollout ${id}: aborted (wrong build; ${away.length} device(s) told have not switched yet and still switch to 2.0.0 when they can (${away.slice(0, 3).map((d) => `${d} pending`).join(', ')}${away.length > 3 ? ', ...' : ''}): edgefleet rollout rollback ${id} --reason ... sends every told device back)\n`);
      const entry = e.store.audit.query({ action: 'rollout.aborted', target: id })[0];
      assert.deepEqual([entry?.reason, (entry?.details as { stillToSwitch?: number }).stillToSwitch], ['wrong build', away.length]);
      const show = await cli.run('rollout', 'show', id);
      assert.match(show.out, /^ {2}canary 25% +(\d)\/\1 told +stopped /m, show.out);
      assert.match(show.out, /^ {2}all 100% +\d\/8 told +skipped +never started: the rollout ended before it$/m, show.out);
      const json = JSON.parse((await cli.run('rollout', 'show', id, '--json')).out) as { waves: Array<{ state: string }> };
      assert.deepEqual(json.waves.map((w) => w.state), ['stopped', 'skipped']);
      const ls = JSON.parse((await cli.run('rollout', 'ls', '--json')).out) as { rollouts: Array<{ id: string; waves: Array<{ state: string }> }> };
      assert.deepEqual(ls.rollouts.find((x) => x.id === id)?.waves.map((w) => w.state), ['stopped', 'skipped']);
    } finally {
      cli.close();
      await e.close();
    }
  });

  it('devices ls shows the version each box runs (what an operator follows in a rollout) apart from those it only holds', async () => {
    const e = await setup(4);
    const cli = await cliAgainst(e);
    try {
      const state = (id: string, active: string, installed: string[], status: 'active' | 'downloading') => e.store.devices.setReported(id, {
        schema: 'edgefleet.state/v1', deviceId: id, at: e.clock.now().toISOString(), agentVersion: '0.1.0', lastAppliedSeq: 1, trustVersion: 1, capabilities: [],
        models: [{ name: 'audio-energy', active, previous: null, installed, status, target: null }],
      });
      // Switched to 2.0.0 (1.0.0 kept for a rollback); still on 1.0.0 while 2.0.0 downloads; 1.0.0 alone.
      state('d-000', '2.0.0', ['1.0.0', '2.0.0'], 'active');
      state('d-001', '1.0.0', ['1.0.0'], 'downloading');
      state('d-002', '1.0.0', ['1.0.0'], 'active');
      const api = JSON.parse((await cli.run('devices', 'ls', '--json')).out) as { devices: Array<{ id: string; models: Array<{ version: string; status: string }> }> };
      assert.deepEqual(api.devices.find((d) => d.id === 'd-000')?.models.map((m) => [m.version, m.status]).sort(), [['1.0.0', 'installed'], ['2.0.0', 'active']], 'GET /devices tells the active row by its status');
      const ls = await cli.run('devices', 'ls');
      assert.equal(ls.code, 0, ls.err);
      assert.match(ls.out, /^ID .* TAGS +ACTIVE +INSTALLED +REVOKED +REPLACED BY$/m, ls.out);
      assert.match(ls.out, /^d-000 .* audio-energy@2\.0\.0 +audio-energy@1\.0\.0 *$/m, ls.out);
      assert.match(ls.out, /^d-001 .* audio-energy@1\.0\.0 \(downloading\) +- *$/m, ls.out);
      assert.match(ls.out, /^d-002 .* audio-energy@1\.0\.0 +- *$/m, ls.out);
      assert.match(ls.out, /^d-003 .* - +- *$/m, 'nothing reported');
    } finally {
      cli.close();
      await e.close();
    }
  });
});
