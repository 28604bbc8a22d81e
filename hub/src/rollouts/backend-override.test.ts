// rollout create's override of the backend check (docs/decisions/0129-model-backends-checked.md, addendum "rollout
// create --allow-backend-mismatch"), as deploy's: without it a rollout whose target holds a box that reported a backend
// the version is known not to load on is refused (BACKEND_UNSUPPORTED, nothing stored, naming the override); with it the
// rollout is created, audited with allowBackendMismatch, kept with the rollout (hub.db migration 105), shown, and its
// deployment sends the version to that box (never held back). Real store on SQLite and PostgreSQL, real embedded
// broker on 127.0.0.1:0 (rollouts/testing.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STATE_SCHEMA, ShadowStage, type AppError, type RolloutCreate } from '@edgefleet/shared';
import { cleanup, prepare, setup, v1Everywhere, type Env } from './testing.js';
import { backends } from '../testing/backends.js';
import { renderRollout } from '../cli/commands/remote-rollout.js';

before(prepare);
after(cleanup);

const box = 'd-001';
const req = (over: Partial<RolloutCreate>): RolloutCreate => ({ model: 'audio-energy', version: '3.0.0', target: { all: true }, waves: [{ name: 'all', percent: 100, bakeSec: 60 }], advance: 'manual', onFailure: 'pause', reason: 'v3', ...over });

/** 3.0.0 refused on wasm (as a push that found it so stores it; the check itself: deployments/backends.test.ts), and box d-001 reporting wasm. */
async function wasmBox(e: Env): Promise<void> {
  e.store.db.prepare("UPDATE model_versions SET backends = ? WHERE name = 'audio-energy' AND version = '3.0.0'")
    .run(JSON.stringify({ loads: ['native'], refused: { wasm: '[ShapeInferenceError] merging shape' } }));
  await e.parts.ingest.handleState(box, { schema: STATE_SCHEMA, deviceId: box, at: e.clock.now().toISOString(), agentVersion: '0.1.0', lastAppliedSeq: 0, trustVersion: 1, models: [], capabilities: ['backend-wasm'] });
}

for (const backend of backends()) describe(`rollout create --allow-backend-mismatch (${backend.name})`, () => {
  it('refuses without it naming the override; with it creates, audits, keeps, shows and sends to the wasm box', async () => {
    const e = await setup(3, {}, backend.database());
    try {
      await wasmBox(e);

      await assert.rejects(e.engine.create(req({}), { name: 'op' }), (err: AppError) => err.code === 'BACKEND_UNSUPPORTED'
        && /^1 device\(s\) of the target run a backend that cannot load it: d-001 \(wasm\);/.test(err.message)
        && /; or, if those boxes do load it, create the rollout with --allow-backend-mismatch \(allowBackendMismatch: true\)$/.test(err.message));
      assert.equal(e.store.db.prepare('SELECT COUNT(*) FROM rollouts').pluck().get(), 0, 'nothing stored for a refused create');

      const r = await e.engine.create(req({ allowBackendMismatch: true }), { name: 'op' });
      assert.equal(e.store.rollouts.get(r.id).allowBackendMismatch, true, 'kept with the rollout');
      const audit = e.store.audit.query({ action: 'rollout.create' });
      assert.equal((audit.find((a) => a.target === r.id)?.details as Record<string, unknown> | undefined)?.['allowBackendMismatch'], true);
      const dep = e.store.deployments.get(e.store.rollouts.get(r.id).deploymentId!);
      assert.equal(dep.allowBackendMismatch, true, 'its deployment sends whatever the backend');
      assert.equal(dep.devices.find((d) => d.deviceId === box)?.status, 'pending');
      assert.deepEqual(e.store.desired.latest(box)?.signed.models.map((m) => m.version), ['3.0.0'], 'sent to the wasm box');
      const view = e.engine.view(r.id);
      assert.equal(view.allowBackendMismatch, true);
      assert.match(renderRollout(view), /^sent whatever the backend \(--allow-backend-mismatch\)$/m);
    } finally {
      await e.close();
    }
  });

  it('its shadow stage sends the candidate to the wasm box too (not held back, not left out of the stage)', async () => {
    const e = await setup(3, {}, backend.database());
    try {
      await v1Everywhere(e);
      await wasmBox(e);
      await e.engine.create(req({ allowBackendMismatch: true, shadow: ShadowStage.parse({}) }), { name: 'op' });
      const m = e.store.desired.latest(box)?.signed.models.find((x) => x.name === 'audio-energy');
      assert.deepEqual([m?.version, m?.shadow?.version], ['1.0.0', '3.0.0']);
    } finally {
      await e.close();
    }
  });

  it('without it, boxes that never reported wait, and rollout show says why beside their status', async () => {
    const e = await setup(2, {}, backend.database());
    try {
      e.store.db.prepare("UPDATE model_versions SET backends = ? WHERE name = 'audio-energy' AND version = '3.0.0'")
        .run(JSON.stringify({ loads: ['native'], refused: { wasm: '[ShapeInferenceError] merging shape' } }));
      const r = await e.engine.create(req({}), { name: 'op' });
      const view = e.engine.view(r.id);
      assert.ok(view.devices?.length && view.devices.every((d) => d.status === 'pending' && /^waiting for the box's first state report/.test(d.reason ?? '')), JSON.stringify(view.devices));
      const text = renderRollout(view);
      assert.match(text, /^DEVICE +PLACE +WAVE +PREVIOUS +STATUS +WHY$/m, text);
      assert.match(text, /^d-000 +\S+ +all +- +pending +waiting for the box's first state report/m, text);
    } finally {
      await e.close();
    }
  });
});
