// A content key in the database that this hub's DATA/content-keys.key does not open: a second hub on the
// same database with a key file of its own, or a hub.db restored or moved without its key file (a
// fresh one is made at start). Real Store, Registry and deployments part, two keystores over one
// database. Documents are still issued (to devices running plain models too), a deploy of the version is
// refused as CONTENT_KEY_MISSING, and pushing the content key again repairs it. And two hubs making
// DATA/content-keys.key at the same moment on a new shared data dir end with one key file, with hard
// links and without (createFileOnce, file-once.test.ts; a link step failing with EPERM here).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomMlp, type Keys } from '@edgefleet/examples';
import { contentKeyId, generateBoxKeyPair, newContentKey, openSealedKey } from '@edgefleet/shared';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import type { FleetLink } from '../mqtt/ports.js';
import { RecordingLogger } from '../mqtt/testing/devices.js';
import { ManualClock } from '../testing/harness.js';
import { makeParts } from '../testing/parts.js';
import { Keystore, KEYSTORE_FILE } from './keystore.js';
import { Sealing } from './service.js';
import { b64, devicePub, pushModels, sealingFixture } from './testing.js';

const noLinks = () => {
  throw Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' });
};

describe('a stored content key that this hub\'s key file does not open', () => {
  let dir: string;
  let keys: Keys;
  let store: Store;
  const clock = new ManualClock();
  const k1 = newContentKey();
  const mlp = randomMlp({ inputDim: 4, hidden: [16], outputDim: 3, seed: 9 });

  before(async () => {
    const f = sealingFixture('ef-hub-keystore-');
    ({ dir, keys } = f);
    store = Store.open(join(dir, 'hub'), HUB_MIGRATIONS);
    await pushModels(store, f, mlp, clock.now(), [{ name: 'secret', version: '1.0.0', key: k1 }, { name: 'open', version: '1.0.0' }]);
  });
  after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('issues documents without that key, refuses a deploy of the version, and takes the key again', () => {
    // The first hub stores the content key and deploys; the second hub has its own DATA/content-keys.key.
    const first = new Sealing(store, Keystore.open(join(dir, 'hub')));
    mkdirSync(join(dir, 'hub-2'), { mode: 0o700 });
    const logger = new RecordingLogger();
    const other = new Sealing(store, Keystore.open(join(dir, 'hub-2')), logger);
    const m1 = store.models.get('secret', '1.0.0').manifest;
    first.putContentKey(m1, k1, 'op', clock.now());
    const p1 = makeParts({ store, link: {} as FleetLink, hubKey: keys.hub, clock, logger: new RecordingLogger(), sealing: first });
    p1.deployments.createDeployment({ model: 'secret', version: '1.0.0', target: { tags: { fleet: 'sealed' } }, reason: 'r' }, 'op');
    p1.deployments.createDeployment({ model: 'open', version: '1.0.0', target: { tags: { fleet: 'plain' } }, reason: 'r' }, 'op');
    store.devices.create('plain-box', 'secret-of-plain-box-0123', { fleet: 'plain' }, null, clock.now());
    const box = generateBoxKeyPair();
    store.devices.create('new-box', 'secret-of-new-box-01234', { fleet: 'sealed' }, null, clock.now());
    other.setDeviceKey('new-box', devicePub(box), 'enroll', clock.now());

    // The other hub joins the new box to its deployment and renews documents in one batch with a plain box.
    const p2 = makeParts({ store, link: {} as FleetLink, hubKey: keys.hub, clock, logger: new RecordingLogger(), sealing: other });
    p2.deployments.joinDeployments('new-box');
    p2.deployments.joinDeployments('plain-box');
    const docs = p2.deployments.storeDesired(['plain-box', 'new-box']);
    assert.deepEqual(docs.map((d) => d.signed.models.map((m) => m.name)), [['open'], ['secret']]);
    assert.equal(docs[1]?.signed.models[0]?.contentKey, undefined, 'no key it cannot open');
    assert.equal(other.hasContentKey(m1), false);
    assert.throws(() => p2.deployments.createDeployment({ model: 'secret', version: '1.0.0', target: { all: true }, reason: 'r' }, 'op'), (e: { code?: string }) => e.code === 'CONTENT_KEY_MISSING');

    // Reported once, naming the version and the file, without the key.
    const errors = logger.lines.filter((l) => l.level === 'error');
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.msg ?? '', /content-keys\.key/);
    assert.deepEqual(errors[0]!.obj, { model: 'secret', version: '1.0.0', keyId: contentKeyId(k1).slice(0, 12), err: (errors[0]!.obj as { err: string }).err });
    assert.ok(!JSON.stringify(errors).includes(b64(k1)));

    // The operator pushes the content key again: stored under this hub's key file, sealed to the box.
    assert.deepEqual(other.putContentKey(m1, k1, 'op', clock.now()), { keyId: contentKeyId(k1), outcome: 'created' });
    const sealed = other.sealedFor('new-box', m1);
    assert.ok(sealed);
    assert.deepEqual(openSealedKey(sealed, box, contentKeyId(k1), 'new-box'), k1);
    assert.equal(other.putContentKey(m1, k1, 'op', clock.now()).outcome, 'exists');
  });
});

describe('two hubs making DATA/content-keys.key at the same moment', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'ef-hub-keystore-race-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const links of [true, false]) {
    it(`end with the key file of the first${links ? '' : ' on a filesystem without hard links'}: a content key it wrapped opens with both, and after a restart`, () => {
      const data = join(dir, links ? 'shared-data' : 'shared-data-no-links');
      const hooks = links ? {} : { link: noLinks };
      const k = newContentKey();
      const keyId = contentKeyId(k);
      let first: Keystore | undefined;
      let wrapped = '';
      // The second hub finds no key file; before it makes one, the first makes its own and wraps a content key.
      const second = Keystore.open(data, undefined, {
        ...hooks,
        beforeCreate: () => {
          first = Keystore.open(data, undefined, hooks);
          wrapped = first.wrap(k, keyId);
        },
      });
      assert.ok(first, 'the first hub made its key file in between');
      assert.deepEqual(second.unwrap(wrapped, keyId), k);
      assert.deepEqual(Keystore.open(data, undefined, hooks).unwrap(wrapped, keyId), k);
      assert.equal(statSync(join(data, KEYSTORE_FILE)).mode & 0o777, 0o600);
      assert.deepEqual(readdirSync(data), [KEYSTORE_FILE], 'no temp file left behind');
    });
  }

  it('a key file that exists is never replaced, with hard links or without', () => {
    const data = join(dir, 'given');
    mkdirSync(data, { mode: 0o700 });
    const path = join(data, KEYSTORE_FILE);
    const own = Buffer.alloc(32, 9).toString('base64');
    writeFileSync(path, `${own}\n`, { mode: 0o600 });
    const k = newContentKey();
    const wrapped = Keystore.ofKey(Buffer.alloc(32, 9)).wrap(k, contentKeyId(k));
    for (const hooks of [{}, { link: noLinks }]) {
      assert.deepEqual(Keystore.open(data, undefined, hooks).unwrap(wrapped, contentKeyId(k)), k);
      assert.equal(readFileSync(path, 'utf8'), `${own}\n`);
    }
    assert.deepEqual(readdirSync(data), [KEYSTORE_FILE]);
  });
});
