// When an enrolled box switches (decision 0031), with a real aedes broker on 127.0.0.1:0, a real
// agent (SQLite, ONNX sessions) and an injected clock: a version whose document carries a maintenance
// window is downloaded (blocks over MQTT) and verified at once, reported `deferred` until the window
// opens, and switched when it does; the update lock defers a switch until it expires or is removed, and
// survives a restart; a stop in the middle of a download is no failure of the version: the restarted
// agent downloads it. The hub's part is played by the test: signed documents, blob blocks.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DesiredModel, ReportedState } from '@edgefleet/shared';
import { runCli, waitFor } from '@edgefleet/examples';
import { makeKit, req, row, startAgent, type Kit } from '../testing.js';
import type { Agent } from '../agent.js';
import { desiredMlp, enrolledMlp, mlpVersions, type MlpVersions, type TestHub } from './testing.js';

const ID = 'box-w';
const poll = <T>(what: string, fn: () => Promise<T | undefined> | T | undefined) => waitFor(what, fn, { timeoutMs: 20_000, intervalMs: 20 });

/** The box's clock: starts at the top of the current hour, moved by the test. */
const clock = { t: Math.floor(Date.now() / 3600_000) * 3600_000, now() { return this.t; } };

describe('switching inside maintenance windows and under the update lock', () => {
  let kit: Kit;
  let agent: Agent;
  let hub: TestHub;
  let bundles: MlpVersions;
  let data: string;

  before(async () => {
    kit = makeKit('ef-switch-');
    bundles = await mlpVersions(kit, ['1.0.0', '2.0.0', '3.0.0']);
    ({ hub, agent, data } = await enrolledMlp(kit, ID, bundles, '1.0.0', (d) => startAgent(d, { sync: { reconnectMs: 200, blockSize: 4096 } }, { clock, deferCheckMs: 20 })));
  });
  after(async () => {
    await agent?.stop();
    await hub?.close();
    kit?.cleanup();
  });

  const model = (v: string, maintenance?: DesiredModel['maintenance']): DesiredModel => desiredMlp(bundles, v, maintenance);
  const publish = (models: DesiredModel[]) => hub.publish({ models }, clock.t);
  const serving = async () => (await req(agent.url, 'POST', '/v2/models/mlp/infer', row([1, 2, 3, 4]))).json?.model_version as string | undefined;
  const reported = (pred: (m: ReportedState['models'][number]) => boolean) => poll('reported state', () => hub.states.findLast((s) => s.models.some((m) => m.name === 'mlp' && pred(m)))?.models.find((m) => m.name === 'mlp'));

  it('downloads at once, defers the switch outside the window (Asia/Kolkata) and switches when it opens', async () => {
    // A window opening two hours from now, written in Kolkata's wall-clock time (+05:30).
    const opens = clock.t + 2 * 3600_000;
    const local = new Date(opens + 5.5 * 3600_000);
    const w = { cron: `${local.getUTCMinutes()} ${local.getUTCHours()} * * *`, durationSec: 3600, timeZone: 'Asia/Kolkata' };
    await publish([model('2.0.0', w)]);
    const m = await reported((x) => x.status === 'deferred');
    assert.equal(m.target, '2.0.0');
    assert.equal(m.active, '1.0.0');
    assert.ok(m.installed.includes('2.0.0'), 'downloaded and installed (verified) before the window');
    assert.equal(m.reason?.code, 'OUTSIDE_WINDOW');
    assert.equal(m.deferredUntil, new Date(opens).toISOString());
    assert.match(m.reason?.message ?? '', /outside the maintenance window ".+" for 1h in Asia\/Kolkata: it opens at .+ \(by this box's clock\)/);
    assert.equal(await serving(), '1.0.0');
    const activating = () => agent.events.list({ kind: 'activating' }).filter((e) => e.version === '2.0.0').length;
    assert.equal(activating(), 0, 'no switch started outside the window');
    // A minute before it opens: still deferred (re-checked every 20 ms here).
    clock.t = opens - 60_000;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await serving(), '1.0.0');
    clock.t = opens + 1000;
    await poll('switched to 2.0.0 in the window', async () => ((await serving()) === '2.0.0' ? true : undefined));
    const after = await reported((x) => x.active === '2.0.0');
    assert.equal(after.status, 'active');
    assert.equal(after.deferredUntil, undefined);
    assert.equal(activating(), 1, 'one switch, when the window opened');
  });

  it('the update lock defers a switch until it expires; GET shows it and the deferred switch', async () => {
    const set = await req(agent.url, 'POST', '/edgefleet/v1/update-lock', { ttlSec: 600, reason: 'night shift batch' });
    assert.equal(set.status, 200, set.text);
    assert.equal(set.json.locked, true);
    assert.equal(set.json.until, new Date(clock.t + 600_000).toISOString());
    // Back to 1.0.0 (a hub rollback, no window): installed already, so only the switch waits.
    await publish([model('1.0.0')]);
    const m = await reported((x) => x.status === 'deferred' && x.target === '1.0.0');
    assert.equal(m.reason?.code, 'UPDATE_LOCKED');
    assert.equal(m.deferredUntil, set.json.until);
    assert.match(m.reason?.message ?? '', /update lock is in force until .+ \(night shift batch\)/);
    const got = await req(agent.url, 'GET', '/edgefleet/v1/update-lock');
    assert.deepEqual(got.json.deferred.map((d: { model: string; version: string; code: string }) => [d.model, d.version, d.code]), [['mlp', '1.0.0', 'UPDATE_LOCKED']]);
    clock.t += 599_000;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await serving(), '2.0.0', 'still locked a second before it expires');
    clock.t += 2000;
    await poll('switched once the lock expired', async () => ((await serving()) === '1.0.0' ? true : undefined));
    assert.equal((await req(agent.url, 'GET', '/edgefleet/v1/update-lock')).json.locked, false);
  });

  it('removing the lock switches at once; a lock survives a restart', async () => {
    await req(agent.url, 'POST', '/edgefleet/v1/update-lock', { ttlSec: 3600, reason: 'surgery in progress' });
    await publish([model('2.0.0')]);
    await reported((x) => x.status === 'deferred' && x.target === '2.0.0' && x.reason?.code === 'UPDATE_LOCKED');
    const del = await req(agent.url, 'DELETE', '/edgefleet/v1/update-lock');
    assert.equal(del.status, 200, del.text);
    assert.equal(del.json.locked, false);
    assert.deepEqual(del.json.deferred, [], 'the answer does not list the switch the removed lock deferred');
    await poll('switched when the lock was removed', async () => ((await serving()) === '2.0.0' ? true : undefined));

    const lock = (await req(agent.url, 'POST', '/edgefleet/v1/update-lock', { ttlSec: 1800, reason: 'kept' })).json as { until: string };
    await agent.stop();
    agent = await startAgent(data, { sync: { reconnectMs: 200, blockSize: 4096 } }, { clock, deferCheckMs: 20 });
    const again = await req(agent.url, 'GET', '/edgefleet/v1/update-lock');
    assert.deepEqual([again.json.locked, again.json.until, again.json.reason], [true, lock.until, 'kept']);
    const st = JSON.parse((await runCli('agent/src/cli/main.ts', ['status', '--json', '--data-dir', data])).stdout) as { updateLock: { until: string; reason: string } | null };
    assert.deepEqual(st.updateLock && [st.updateLock.until, st.updateLock.reason], [lock.until, 'kept'], '`edgefleet-agent status` shows it');
    // And it still defers: the next document waits for it.
    await poll('connected again', () => (agent.sync?.isConnected() ? true : undefined));
    await publish([model('1.0.0')]);
    await reported((x) => x.status === 'deferred' && x.target === '1.0.0' && x.reason?.code === 'UPDATE_LOCKED');
    assert.equal(await serving(), '2.0.0');
  });

  it('a stop in the middle of a download is no failure: the restarted agent downloads the version', async () => {
    hub.servingBlocks = false;
    await publish([model('3.0.0')]);
    await poll('downloading 3.0.0', () => (agent.sync?.updater.phases.get('mlp')?.status === 'downloading' ? true : undefined));
    await agent.stop();
    agent = await startAgent(data, { sync: { reconnectMs: 200, blockSize: 4096 } }, { clock, deferCheckMs: 20 });
    await poll('downloading again after the restart', () => (agent.sync?.updater.phases.get('mlp')?.status === 'downloading' ? true : undefined));
    hub.servingBlocks = true;
    agent.sync?.downloader.resumeAll();
    // Installed (the lock of the test before still defers the switch), never blocked.
    const m = await reported((x) => x.installed.includes('3.0.0'));
    assert.notEqual(m.reason?.code, 'VERSION_BLOCKED');
    assert.equal(agent.events.list({ kind: 'install_failed' }).length, 0, 'the stop was not recorded as a failed install (events are kept across the restart)');
  });
});
