// Sealed models on the hub with a real Store, Registry and the deployments part: content keys are
// checked against the manifest and kept wrapped (never in hub.db or the blobs in the clear, nor the
// model), desired documents carry the key sealed to each entitled device only, a revoked device gets
// no new keys, and a deploy of a sealed version without its key is refused.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { findBytes, randomMlp, secretWindows } from '@edgefleet/examples';
import { contentKeyId, generateBoxKeyPair, newContentKey, openSealedKey, type BoxKeyPair, type DesiredDocument, type RolloutCreate } from '@edgefleet/shared';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import type { FleetLink } from '../mqtt/ports.js';
import { RecordingLogger } from '../mqtt/testing/devices.js';
import { ManualClock } from '../testing/harness.js';
import { makeParts, type Parts } from '../testing/parts.js';
import { Keystore, KEYSTORE_FILE } from './keystore.js';
import { Sealing } from './service.js';
import { RolloutEngine } from '../rollouts/engine.js';
import { RollupGateData } from '../rollouts/rollup-gate-data.js';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { b64, devicePub, pushModels, sealingFixture } from './testing.js';

/** The database backend of the suite running now (docs/decisions/0040-postgresql.md). */
let backend: Backend;
// The same suite on each database backend.
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
describe('sealed models on the hub', () => {
  let dir: string;
  let store: Store;
  let sealing: Sealing;
  let parts: Parts;
  const clock = new ManualClock();
  const k1 = newContentKey();
  const k2 = newContentKey();
  const mlp = randomMlp({ inputDim: 4, hidden: [64], outputDim: 3, seed: 11 });
  const dev: Record<string, BoxKeyPair> = { a: generateBoxKeyPair(), c: generateBoxKeyPair() };
  const modelsOf = (docs: DesiredDocument[], id: string) => docs.find((d) => d.signed.deviceId === id)?.signed.models ?? [];

  before(async () => {
    const f = sealingFixture('ef-hub-sealed-');
    dir = f.dir;
    store = Store.open(join(dir, 'hub'), HUB_MIGRATIONS, { database: backend.database() });
    sealing = new Sealing(store, Keystore.open(join(dir, 'hub')));
    parts = makeParts({ store, link: {} as FleetLink, hubKey: f.keys.hub, clock, logger: new RecordingLogger(), sealing });
    await pushModels(store, f, mlp, clock.now(), [{ version: '1.0.0', key: k1 }, { version: '2.0.0', key: k2 }]);
    for (const id of ['a', 'b', 'c']) store.devices.create(id, `secret-of-${id}-0123456789`, { site: 'x' }, null, clock.now());
    sealing.setDeviceKey('a', devicePub(dev.a!), 'enroll', clock.now());
    sealing.setDeviceKey('c', devicePub(dev.c!), 'state', clock.now());
  });
  after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the keystore 0600 and refuses a malformed or mislabelled device key', () => {
    assert.equal(statSync(join(dir, 'hub', KEYSTORE_FILE)).mode & 0o777, 0o600);
    assert.throws(() => sealing.setDeviceKey('b', { keyId: dev.a!.keyId, public: b64(generateBoxKeyPair().publicKey) }, 'state', clock.now()), /does not match the key/);
    assert.throws(() => sealing.setDeviceKey('b', { keyId: dev.a!.keyId, public: 'AAAA' }, 'state', clock.now()), /expected 32 bytes/);
    assert.equal(sealing.deviceKeyId('b'), undefined);
  });

  it('refuses a deployment, a rollout and its preview of a sealed version whose content key the hub does not hold', async () => {
    const missing = (e: { code?: string }) => e.code === 'CONTENT_KEY_MISSING';
    assert.throws(() => parts.deployments.createDeployment({ model: 'secret', version: '1.0.0', target: { all: true }, reason: 'r' }, 'op'), missing);
    const engine = new RolloutEngine({ store, deployments: parts.deployments, gateData: new RollupGateData(store), clock, logger: new RecordingLogger(), options: { tickMs: 3_600_000 } });
    const req = { model: 'secret', version: '1.0.0', target: { all: true }, reason: 'r' } as RolloutCreate;
    const actor = { name: 'op' };
    await assert.rejects(engine.preview(req, actor), missing);
    await assert.rejects(engine.create(req, actor), missing);
    assert.deepEqual(store.rollouts.list().rollouts, []);
  });

  it('takes only the content key the manifest names; once', () => {
    const m1 = store.models.get('secret', '1.0.0').manifest;
    assert.throws(() => sealing.putContentKey(m1, k2, 'op', clock.now()), /a key file of another version/);
    assert.deepEqual(sealing.putContentKey(m1, k1, 'op', clock.now()), { keyId: contentKeyId(k1), outcome: 'created' });
    assert.equal(sealing.putContentKey(m1, k1, 'op', clock.now()).outcome, 'exists');
  });

  it('seals the key to each entitled device with a key; a device without one gets the version without a key', () => {
    const { docs } = parts.deployments.createDeployment({ model: 'secret', version: '1.0.0', target: { all: true }, reason: 'r' }, 'op');
    const keyId = contentKeyId(k1);
    for (const id of ['a', 'c'] as const) {
      const m = modelsOf(docs, id)[0]!;
      assert.ok(m.contentKey, `device ${id} got a sealed key`);
      assert.deepEqual(openSealedKey(m.contentKey, dev[id]!, keyId, id), k1);
      assert.throws(() => openSealedKey(m.contentKey!, dev[id === 'a' ? 'c' : 'a']!, keyId, id), (e: { code?: string }) => e.code === 'CONTENT_KEY_MISSING');
    }
    assert.equal(modelsOf(docs, 'b')[0]?.contentKey, undefined);
  });

  it('a revoked device gets no new keys', () => {
    store.devices.revoke('c', clock.now());
    const m2 = store.models.get('secret', '2.0.0').manifest;
    sealing.putContentKey(m2, k2, 'op', clock.now());
    const { docs } = parts.deployments.createDeployment({ model: 'secret', version: '2.0.0', target: { all: true }, reason: 're-keyed' }, 'op');
    assert.deepEqual(docs.map((d) => d.signed.deviceId).sort(), ['a', 'b']);
    assert.ok(modelsOf(docs, 'a')[0]?.contentKey);
    assert.equal(sealing.sealedFor('c', m2), undefined);
    assert.equal(sealing.sealedFor('c', store.models.get('secret', '1.0.0').manifest), undefined, 'not even the old key again');
  });

  it('holds neither a content key nor the model in the clear in hub.db, its WAL or the blobs; another keystore opens nothing', () => {
    const needles = [Buffer.from(k1), Buffer.from(k2), Buffer.from(b64(k1)), Buffer.from(b64(k2)), ...secretWindows(mlp.onnx)];
    const scan = findBytes([join(dir, 'hub')], needles);
    assert.deepEqual(scan.hits, []);
    assert.ok(scan.files >= 3, `scanned ${scan.files} files`);
    const wrapped = sealing.repo.contentKey(contentKeyId(k1))!.wrapped;
    assert.throws(() => Keystore.ofKey(Buffer.alloc(32, 7)).unwrap(wrapped, contentKeyId(k1)), (e: { code?: string }) => e.code === 'DECRYPT_FAILED');
  });
});
}
