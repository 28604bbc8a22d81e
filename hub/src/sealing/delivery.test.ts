// Getting sealed content keys to devices when something went wrong on the way (hub/src/sealing/delivery.ts):
// a real Store and Registry, the embedded aedes broker on 127.0.0.1:0 and mqtt.js devices. A device key
// recorded by a hub that died before it issued the device's next document, and a content key that
// arrives while a device runs that version in shadow, still end with a document carrying the key
// sealed to the device's current key; a device that keeps changing its key is not re-sealed unboundedly.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { randomMlp, waitFor } from '@edgefleet/examples';
import { STATE_SCHEMA, deviceTopic, generateBoxKeyPair, newContentKey, openSealedKey, type BoxKeyPair, type DesiredDocument } from '@edgefleet/shared';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { createEmbeddedBroker } from '../mqtt/embedded.js';
import type { FleetLink } from '../mqtt/ports.js';
import { RecordingLogger, RecordingMetrics, collect, connectDevice } from '../mqtt/testing/devices.js';
import { ManualClock } from '../testing/harness.js';
import { makeParts, type Parts } from '../testing/parts.js';
import { Keystore } from './keystore.js';
import { Sealing } from './service.js';
import { SealingDelivery } from './delivery.js';
import { devicePub, pushModels, sealingFixture } from './testing.js';

describe('sealed key delivery', () => {
  let dir: string;
  let store: Store;
  let sealing: Sealing;
  let link: FleetLink;
  let parts: Parts;
  let delivery: SealingDelivery;
  const clients: MqttClient[] = [];
  const clock = new ManualClock();
  const logger = new RecordingLogger();
  const k1 = newContentKey();
  const k2 = newContentKey();
  const mlp = randomMlp({ inputDim: 4, hidden: [16], outputDim: 3, seed: 5 });

  before(async () => {
    const f = sealingFixture('ef-hub-sealed-delivery-');
    dir = f.dir;
    store = Store.open(join(dir, 'hub'), HUB_MIGRATIONS);
    sealing = new Sealing(store, Keystore.open(join(dir, 'hub')));
    await pushModels(store, f, mlp, clock.now(), [{ version: '1.0.0', key: k1 }, { version: '2.0.0', key: k2 }]);
    sealing.putContentKey(store.models.get('secret', '1.0.0').manifest, k1, 'op', clock.now());
    link = createEmbeddedBroker({
      tcpPort: 0, host: '127.0.0.1', maxPayloadBytes: 256 * 1024, connectRateLimit: { perAddressPerMinute: 10_000 },
      devices: store.devices, metrics: new RecordingMetrics(), logger, clock,
    });
    await link.start();
    parts = makeParts({ store, link, hubKey: f.keys.hub, clock, logger, sealing });
    await parts.start();
    delivery = new SealingDelivery({ store, sealing, deployments: parts.deployments, reports: parts.ingest, logger });
    delivery.start();
  });
  after(async () => {
    for (const c of clients) await c.endAsync(true);
    await delivery.stop();
    await parts.stop();
    await link.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A device on the broker that receives its desired documents and reports states. */
  async function device(id: string) {
    const c = await connectDevice(link.address().mqtt, id, `secret-of-${id}-0123456789`);
    clients.push(c);
    const got = collect(c);
    await c.subscribeAsync(deviceTopic(id, 'desired'), { qos: 1 });
    const docs = () => got.filter((m) => m.topic === deviceTopic(id, 'desired')).map((m) => JSON.parse(m.payload) as DesiredDocument);
    const report = (key: BoxKeyPair) => c.publishAsync(deviceTopic(id, 'state'), JSON.stringify({
      schema: STATE_SCHEMA, deviceId: id, at: clock.now().toISOString(), agentVersion: '0.1.0', lastAppliedSeq: store.desired.lastSeq(id),
      trustVersion: 1, models: [], capabilities: ['sealed-models'], deviceKey: devicePub(key),
    }), { qos: 1 });
    return { c, docs, report };
  }

  it('a device key recorded by a hub that stopped before re-issuing: the next state report brings the keys sealed to it', async () => {
    const old = generateBoxKeyPair();
    store.devices.create('a', 'secret-of-a-0123456789', {}, null, clock.now());
    sealing.setDeviceKey('a', devicePub(old), 'enroll', clock.now());
    await parts.deployments.deploy({ model: 'secret', version: '1.0.0', target: { devices: ['a'] }, reason: 'r' }, 'op');
    assert.equal(store.desired.latest('a')?.signed.models[0]?.contentKey?.to, old.keyId);
    // The box's data dir was rebuilt: its new key reached a hub that recorded it (and audited it) and
    // was killed before it issued the device's document. This hub (restarted) sees the same key again.
    const fresh = generateBoxKeyPair();
    sealing.setDeviceKey('a', devicePub(fresh), 'state', clock.now());
    const a = await device('a');
    await a.report(fresh);
    const doc = await waitFor('a document with the key sealed to the new device key', () => a.docs().find((d) => d.signed.models[0]?.contentKey?.to === fresh.keyId), { timeoutMs: 15_000, intervalMs: 20 });
    assert.deepEqual(openSealedKey(doc.signed.models[0]!.contentKey!, fresh, doc.signed.models[0]!.contentKey!.keyId, 'a'), k1);
    // Nothing more to deliver: more reports of that key issue no document; a changed key does (in order).
    const before = a.docs().length;
    await a.report(fresh);
    await a.report(fresh);
    const next = generateBoxKeyPair();
    await a.report(next);
    await waitFor('a document sealed to the next key', () => a.docs().some((d) => d.signed.models[0]?.contentKey?.to === next.keyId), { timeoutMs: 15_000, intervalMs: 20 });
    assert.equal(a.docs().length, before + 1);
  });

  it('a content key that arrives while a device runs the version in shadow reaches it in the shadow entry', async () => {
    const key = generateBoxKeyPair();
    store.devices.create('s', 'secret-of-s-0123456789', {}, null, clock.now());
    sealing.setDeviceKey('s', devicePub(key), 'enroll', clock.now());
    await parts.deployments.deploy({ model: 'secret', version: '1.0.0', target: { devices: ['s'] }, reason: 'r' }, 'op');
    parts.deployments.assignShadows({ rolloutId: 'r-1', model: 'secret', version: '2.0.0', sampleRate: 0.5, tolerance: 0.01, threshold: null }, ['s']);
    assert.equal(store.desired.latest('s')?.signed.models[0]?.shadow?.contentKey, undefined);
    sealing.putContentKey(store.models.get('secret', '2.0.0').manifest, k2, 'op', clock.now());
    await delivery.resendVersion('secret', '2.0.0');
    const shadow = store.desired.latest('s')?.signed.models[0]?.shadow;
    assert.ok(shadow?.contentKey, 'the shadow entry carries the content key');
    assert.deepEqual(openSealedKey(shadow.contentKey, key, shadow.contentKey.keyId, 's'), k2);
  });

  it('a device sending a new device key in every report: at most 4 changes an hour are taken, then one after the hour', async () => {
    const first = generateBoxKeyPair();
    store.devices.create('f', 'secret-of-f-0123456789', {}, null, clock.now());
    sealing.setDeviceKey('f', devicePub(first), 'enroll', clock.now());
    await parts.deployments.deploy({ model: 'secret', version: '1.0.0', target: { devices: ['f'] }, reason: 'r' }, 'op');
    const f = await device('f');
    const seq = store.desired.lastSeq('f');
    const flips = Array.from({ length: 30 }, () => generateBoxKeyPair());
    for (const k of flips) await f.report(k);
    clock.advance(3600_000);
    const later = generateBoxKeyPair();
    await f.report(later);
    await waitFor('the key sent after the hour', () => store.desired.latest('f')?.signed.models[0]?.contentKey?.to === later.keyId, { timeoutMs: 15_000, intervalMs: 20 });
    const changed = store.audit.query({ action: 'device.key_changed', target: 'f', limit: 100 });
    assert.equal(changed.length, 5);
    assert.ok(store.desired.lastSeq('f') - seq <= 5, `${store.desired.lastSeq('f') - seq} documents issued`);
    assert.equal(logger.lines.filter((l) => l.level === 'warn' && (l.obj as { deviceId?: string }).deviceId === 'f').length, 1, 'the refusals reported once');
  });
});
