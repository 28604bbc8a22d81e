// DELETE /deployments/{id} and `edgefleet undeploy` over real HTTP (the rollout environment's REST app on
// 127.0.0.1:0, real Store on each backend, embedded aedes broker): a dry run changes nothing; more than 10
// devices need confirmDevices equal to the count (the CLI: --yes); the undeploy is audited with its reason;
// an unknown, already undeployed or rollout-owned deployment is refused; a viewer may not undeploy.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { appOf, cleanup, cliAgainst, prepare, setup, v1Everywhere, type Env } from '../rollouts/testing.js';

let backend: Backend;
before(prepare);
after(cleanup);

/** DELETE /api/v1/deployments/{id}?QUERY as `role`: the status and body. */
async function del(e: Env, id: number, query: string, role: 'viewer' | 'operator' = 'operator'): Promise<{ status: number; body: { devices?: number; error?: { code: string; message: string } } }> {
  const token = e.store.tokens.create(`${role}-${Math.random().toString(16).slice(2)}`, role, 'test', e.clock.now()).token;
  const res = await appOf(e).request(`/api/v1/deployments/${id}?${query}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as { devices?: number; error?: { code: string; message: string } } };
}

const statuses = (e: Env, id: number) => [...new Set(e.store.deployments.get(id).devices.map((d) => d.status))];
const undeployAudits = (e: Env) => e.store.audit.query({}).filter((a) => a.action === 'deployment.undeploy');

forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
describe('undeploy over REST and the CLI', () => {
  it('12 devices: a dry run changes nothing, the count must be confirmed, the undeploy is audited', async () => {
    const e = await setup(12, {}, backend.database());
    const cli = await cliAgainst(e);
    try {
      await v1Everywhere(e);
      const dep = e.store.deployments.list().deployments[0]!.id;
      const seqBefore = e.store.desired.lastSeq('d-000');

      const dry = await cli.run('undeploy', String(dep), '--reason', 'retired', '--dry-run');
      assert.equal(dry.code, 0, dry.err);
      assert.match(dry.out, new RegExp(`deployment ${dep}: would undeploy: 12 device\\(s\\)`));
      const dryRest = await del(e, dep, 'reason=retired&dryRun=true');
      assert.deepEqual([dryRest.status, dryRest.body.devices], [200, 12]);
      assert.notEqual(statuses(e, dep)[0], 'removing');
      assert.equal(e.store.desired.lastSeq('d-000'), seqBefore, 'a dry run signs no document');
      assert.deepEqual(undeployAudits(e), []);

      for (const q of ['reason=retired', 'reason=retired&confirmDevices=11']) {
        const r = await del(e, dep, q);
        assert.equal(r.status, 409, q);
        assert.equal(r.body.error?.code, 'CONFIRMATION_REQUIRED');
        assert.match(r.body.error?.message ?? '', /from 12 devices .*send confirmDevices=12 to confirm/);
      }
      const noYes = await cli.run('undeploy', String(dep), '--reason', 'retired');
      assert.notEqual(noYes.code, 0);
      assert.match(noYes.err, /reaches 12 devices \(more than 10\): add --yes to confirm/);
      assert.equal((await del(e, dep, 'reason=retired&confirmDevices=12', 'viewer')).status, 403);
      const noReason = await del(e, dep, 'confirmDevices=12');
      assert.deepEqual([noReason.status, noReason.body.error?.code], [400, 'SCHEMA_INVALID'], 'a reason is required');
      assert.match(noReason.body.error?.message ?? '', /reason: expected \?reason=TEXT: why the model is taken off the devices/);
      const blank = await del(e, dep, 'reason=%20&confirmDevices=12');
      assert.match(blank.body.error?.message ?? '', /reason: expected a reason: why the model is taken off the devices/);
      const twelve = await del(e, dep, 'reason=x&confirmDevices=twelve');
      assert.equal(twelve.status, 400);
      assert.match(twelve.body.error?.message ?? '', /confirmDevices: expected the number of devices the undeploy reaches \(digits only\)/);
      assert.deepEqual(undeployAudits(e), []);
      assert.notEqual(statuses(e, dep)[0], 'removing');

      const done = await cli.run('undeploy', String(dep), '--reason', 'retired', '--yes');
      assert.equal(done.code, 0, done.err);
      assert.match(done.out, /undeployed: 12 device\(s\) told to stop serving the model/);
      assert.deepEqual(statuses(e, dep), ['removing']);
      assert.deepEqual(e.store.desired.latest('d-000')?.signed.removed?.map((r) => [r.name, r.reason]), [['audio-energy', 'retired']]);
      const [entry] = undeployAudits(e);
      assert.deepEqual([entry?.target, entry?.reason, entry?.details], ['audio-energy@1.0.0', 'retired', { id: dep, devices: 12, superseded: 0 }]);
      const show = await cli.run('deployments', 'show', String(dep));
      assert.match(show.out, /undeployed by ops at .*; reason: retired/);
      assert.match(show.out, /12 device\(s\): 12 removing/);

      const again = await del(e, dep, 'reason=again');
      assert.deepEqual([again.status, again.body.error?.code], [409, 'CONFLICT']);
      assert.match(again.body.error?.message ?? '', /was undeployed already/);
      const unknown = await del(e, 9999, 'reason=x');
      assert.deepEqual([unknown.status, unknown.body.error?.message], [404, 'no deployment 9999']);
      assert.equal(undeployAudits(e).length, 1);
    } finally {
      cli.close();
      await e.close();
    }
  });

  it('a deployment a running rollout owns is refused, naming the rollout', async () => {
    const e = await setup(3, {}, backend.database());
    const cli = await cliAgainst(e);
    try {
      await v1Everywhere(e);
      const created = await cli.run('rollout', 'create', 'audio-energy', '2.0.0', '--all', '--reason', 'two', '--json');
      assert.equal(created.code, 0, created.err);
      const rollout = (JSON.parse(created.out) as { id: string }).id;
      await e.engine.tick();
      const owned = e.store.rollouts.get(rollout).deploymentId;
      assert.ok(owned !== null, 'the rollout told its first wave');
      const r = await del(e, owned, 'reason=x');
      assert.deepEqual([r.status, r.body.error?.code], [409, 'CONFLICT']);
      assert.match(r.body.error?.message ?? '', new RegExp(`belongs to rollout ${rollout} \\(running\\)`));
      assert.notEqual(statuses(e, owned)[0], 'removing');
    } finally {
      cli.close();
      await e.close();
    }
  });
});
}
