// An app takes the update lock while a switch the hub asked for is loading its version (docs/agent.md
// "Update lock"), with a real aedes broker on 127.0.0.1:0 and a real agent (SQLite, ONNX sessions). The
// lock was checked only before the load: a POST answered 200 while the new version loaded and warmed
// still let the switch commit, so the app's batch saw the version change after it held the lock (a probe
// of 50 clients: 1.0.0 before the lock's 200, 3.0.0 after). Now the switch is asked again just before it
// commits: it is deferred (UPDATE_LOCKED), its loaded session released, and happens once the lock goes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ReportedState } from '@edgefleet/shared';
import { waitFor } from '@edgefleet/examples';
import { makeKit, req, row, startAgent, type Kit } from '../testing.js';
import type { Agent } from '../agent.js';
import type { PausePoint } from '../install/pause.js';
import { desiredMlp, enrolledMlp, mlpVersions, type MlpVersions, type TestHub } from './testing.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('lock-during-load', () => {
  const ID = 'box-lock-load';
  const poll = <T>(what: string, fn: () => Promise<T | undefined> | T | undefined) => waitFor(what, fn, { timeoutMs: 20_000, intervalMs: 20 });

  let kit: Kit;
  let agent: Agent;
  let hub: TestHub;
  let bundles: MlpVersions;
  /** Runs at the pause point once, while the switch's new version is loaded and not yet committed. */
  let atLoaded: (() => Promise<void>) | undefined;

  before(async () => {
    kit = makeKit('ef-lock-load-');
    bundles = await mlpVersions(kit, ['1.0.0', '2.0.0']);
    const pause = async (point: PausePoint) => {
      if (point !== 'activate:loaded') return;
      const f = atLoaded;
      atLoaded = undefined;
      await f?.();
    };
    ({ hub, agent } = await enrolledMlp(kit, ID, bundles, '1.0.0', (data) => startAgent(data, { sync: { reconnectMs: 200 } }, { deferCheckMs: 20, pause })));
  });
  after(async () => {
    await agent?.stop();
    await hub?.close();
    kit?.cleanup();
  });

  it('a lock taken while the new version loads holds the switch: deferred, its session released, switched once the lock goes', async () => {
    const serving = async () => (await req(agent.url, 'POST', '/v2/models/mlp/infer', row([1, 2, 3, 4]))).json?.model_version as string | undefined;
    const reported = (pred: (m: ReportedState['models'][number]) => boolean) => poll('reported state', () => hub.states.findLast((s) => s.models.some((m) => m.name === 'mlp' && pred(m)))?.models.find((m) => m.name === 'mlp'));
    let lock: { status: number; json: { locked: boolean; until: string } } | undefined;
    atLoaded = async () => {
      assert.equal(await serving(), '1.0.0', 'the version before the lock');
      lock = await req(agent.url, 'POST', '/edgefleet/v1/update-lock', { ttlSec: 600, reason: 'batch on one version' });
    };
    await hub.publish({ models: [desiredMlp(bundles, '2.0.0')] }, Date.now());
    const m = await reported((x) => x.status === 'deferred' && x.target === '2.0.0');
    assert.equal(lock?.status, 200);
    assert.equal(m.reason?.code, 'UPDATE_LOCKED');
    assert.equal(m.deferredUntil, lock?.json.until);
    assert.equal(m.active, '1.0.0');
    assert.equal(await serving(), '1.0.0', 'no switch after the lock answered 200');
    assert.equal(agent.runtime.manifestFor('mlp', '2.0.0'), undefined, 'the session loaded for the switch is released');
    assert.deepEqual(agent.events.list({ kind: 'activated' }).filter((e) => e.version === '2.0.0'), []);
    const got = await req(agent.url, 'GET', '/edgefleet/v1/update-lock');
    assert.deepEqual(got.json.deferred.map((d: { version: string; code: string }) => [d.version, d.code]), [['2.0.0', 'UPDATE_LOCKED']]);

    assert.equal((await req(agent.url, 'DELETE', '/edgefleet/v1/update-lock')).status, 200);
    await poll('switched once the lock was removed', async () => ((await serving()) === '2.0.0' ? true : undefined));
    assert.equal((await reported((x) => x.active === '2.0.0')).status, 'active');
  });
});
