// Several hubs on one database with one content-keys key file (docs/hub.md "Several hubs"): the first hub
// makes DATA/content-keys.key, the operator copies it to the second hub, whose config names the copy
// (`contentKeys`). A content key pushed through either hub then opens on the other: documents carry it,
// no CONTENT_KEY_MISSING, nothing logged. Real Store (two connections to one database: SQLite, then
// PostgreSQL), Registry and deployments part. A named file that does not exist is refused, naming it and
// how to make one, and is never created; the command the error gives makes a file the hub takes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
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
import { forEachBackend, type Backend } from '../testing/backends.js';
import { Keystore, KEYSTORE_FILE, makeKeyFileCommand } from './keystore.js';
import { Sealing } from './service.js';
import { devicePub, pushModels, sealingFixture } from './testing.js';

/** The database backend of the suite running now (docs/decisions/0040-postgresql.md). */
let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
describe('two hubs on one database naming one content-keys key file', () => {
  let dir: string;
  let keys: Keys;
  let store1: Store;
  let store2: Store;
  const clock = new ManualClock();
  const k1 = newContentKey();
  const k2 = newContentKey();
  const mlp = randomMlp({ inputDim: 4, hidden: [16], outputDim: 3, seed: 5 });

  before(async () => {
    const f = sealingFixture('ef-hub-shared-keys-');
    ({ dir, keys } = f);
    // Hub 1 and hub 2 have data dirs of their own and share the database (on SQLite, hub 1's hub.db).
    const database = backend.database();
    store1 = Store.open(join(dir, 'hub-1'), HUB_MIGRATIONS, { database, shared: true });
    store2 = Store.open(join(dir, 'hub-2'), HUB_MIGRATIONS, { database: database ?? join(dir, 'hub-1', 'hub.db'), shared: true });
    await pushModels(store1, f, mlp, clock.now(), [{ version: '1.0.0', key: k1 }, { version: '2.0.0', key: k2 }]);
  });
  after(() => {
    store2?.close();
    store1?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens on each hub the content keys pushed through the other: documents carry them, deploys are taken', () => {
    // Hub 1 makes DATA/content-keys.key; the operator copies it (0600) to where hub 2's contentKeys names.
    const log1 = new RecordingLogger();
    const log2 = new RecordingLogger();
    const hub1 = new Sealing(store1, Keystore.open(join(dir, 'hub-1')), log1);
    const copy = join(dir, 'etc', KEYSTORE_FILE);
    mkdirSync(join(dir, 'etc'), { mode: 0o700 });
    copyFileSync(join(dir, 'hub-1', KEYSTORE_FILE), copy);
    chmodSync(copy, 0o600);
    const ks2 = Keystore.open(join(dir, 'hub-2'), copy);
    assert.equal(ks2.path, copy);
    assert.equal(existsSync(join(dir, 'hub-2', KEYSTORE_FILE)), false, 'no key file of its own');
    const hub2 = new Sealing(store2, ks2, log2);

    const v1 = store1.models.get('secret', '1.0.0').manifest;
    const v2 = store2.models.get('secret', '2.0.0').manifest;
    assert.equal(hub1.putContentKey(v1, k1, 'op', clock.now()).outcome, 'created');
    assert.equal(hub2.putContentKey(v2, k2, 'op', clock.now()).outcome, 'created');
    // Pushing again through the other hub finds the key it stored (it opens): nothing is rewrapped.
    assert.equal(hub2.putContentKey(v1, k1, 'op', clock.now()).outcome, 'exists');
    assert.equal(hub1.putContentKey(v2, k2, 'op', clock.now()).outcome, 'exists');
    assert.equal(hub2.hasContentKey(v1), true);
    assert.equal(hub1.hasContentKey(v2), true);

    // A box enrolled on hub 2, deployed from hub 2 with the key pushed through hub 1.
    const box = generateBoxKeyPair();
    store2.devices.create('box-1', 'secret-of-box-1-0123456789', { fleet: 'sealed' }, null, clock.now());
    hub2.setDeviceKey('box-1', devicePub(box), 'enroll', clock.now());
    const p2 = makeParts({ store: store2, link: {} as FleetLink, hubKey: keys.hub, clock, logger: new RecordingLogger(), sealing: hub2 });
    p2.deployments.createDeployment({ model: 'secret', version: '1.0.0', target: { tags: { fleet: 'sealed' } }, reason: 'r' }, 'op');
    const [doc] = p2.deployments.storeDesired(['box-1']);
    const entry = doc?.signed.models.find((m) => m.name === 'secret');
    assert.equal(entry?.version, '1.0.0');
    assert.ok(entry?.contentKey, 'the document carries the content key');
    assert.deepEqual(openSealedKey(entry.contentKey, box, contentKeyId(k1), 'box-1'), k1);

    // Hub 1 deploys the version whose key came through hub 2 and seals it to the same box.
    const p1 = makeParts({ store: store1, link: {} as FleetLink, hubKey: keys.hub, clock, logger: new RecordingLogger(), sealing: hub1 });
    p1.deployments.createDeployment({ model: 'secret', version: '2.0.0', target: { tags: { fleet: 'sealed' } }, reason: 'r' }, 'op');
    const [doc1] = p1.deployments.storeDesired(['box-1']);
    const entry1 = doc1?.signed.models.find((m) => m.name === 'secret');
    assert.equal(entry1?.version, '2.0.0');
    assert.ok(entry1?.contentKey, 'the document carries the content key');
    assert.deepEqual(openSealedKey(entry1.contentKey, box, contentKeyId(k2), 'box-1'), k2);

    assert.deepEqual([...log1.lines, ...log2.lines].filter((l) => l.level === 'error'), [], 'no key that does not open');
  });
});
}

describe('a contentKeys file that does not exist', () => {
  it('is refused naming the file and how to make one, is never created, and the command given makes one the hub takes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ef-hub-keyfile-'));
    try {
      const named = join(dir, 'etc', KEYSTORE_FILE);
      assert.throws(() => Keystore.open(join(dir, 'data'), named), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'CONFIG_INVALID');
        assert.ok(e.message.includes(`content keys key file ${named} (contentKeys, --content-keys) does not exist`), e.message);
        assert.ok(e.message.includes(`copy the ${KEYSTORE_FILE} of the hub that made it`), e.message);
        assert.ok(e.message.includes(makeKeyFileCommand(named)), e.message);
        return true;
      });
      assert.equal(existsSync(named), false);
      assert.equal(existsSync(join(dir, 'data')), false, 'nothing made in the data dir either');

      // The command from the message: a 0600 file of 32 random bytes in base64 that opens and wraps.
      mkdirSync(join(dir, 'etc'), { mode: 0o700 });
      execFileSync('sh', ['-c', makeKeyFileCommand(named)]);
      assert.equal(statSync(named).mode & 0o777, 0o600);
      const a = Keystore.open(join(dir, 'data'), named);
      const b = Keystore.open(join(dir, 'other'), named);
      const k = newContentKey();
      assert.deepEqual(b.unwrap(a.wrap(k, contentKeyId(k)), contentKeyId(k)), k);
      assert.equal(existsSync(join(dir, 'data')), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
