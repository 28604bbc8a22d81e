// Device secrets of an earlier hub: a hub.db written before decision 0008 (scrypt hashes,
// hub/src/store/fixtures/README.md) is opened by this hub; its devices connect over real MQTT
// with the secrets they already have, and each scrypt hash is rewritten as hs256 on that first
// success (docs/decisions/0008-device-secret-verification.md). No device re-enrolls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from './index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { createEmbeddedBroker } from '../mqtt/embedded.js';
import { noopLogger, noopMetrics } from '../mqtt/ports.js';
import { connectDevice } from '../mqtt/testing/devices.js';
import { besideTest } from '@edgefleet/examples';

const FIXTURE = besideTest('./fixtures/hub-v3-scrypt.db', import.meta.url);
const SECRETS = JSON.parse(readFileSync(besideTest('./fixtures/hub-v3-scrypt.secrets.json', import.meta.url), 'utf8')) as Record<string, string>;

function hashOf(store: Store, id: string): string {
  return (store.db.prepare('SELECT secret_hash FROM devices WHERE id = ?').get(id) as { secret_hash: string }).secret_hash;
}

test('devices of a hub.db with scrypt hashes connect with their old secrets; hashes are upgraded in place', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-upgrade-'));
  copyFileSync(FIXTURE, join(dir, 'hub.db'));
  const store = Store.open(dir, HUB_MIGRATIONS);
  const link = createEmbeddedBroker({
    tcpPort: 0, host: '127.0.0.1', maxPayloadBytes: 16 * 1024, connectRateLimit: { perAddressPerMinute: 1000 },
    devices: store.devices, metrics: noopMetrics, logger: noopLogger, clock: { now: () => new Date() },
  });
  try {
    for (const id of Object.keys(SECRETS)) assert.match(hashOf(store, id), /^scrypt\$16384\$8\$1\$/, `fixture hash of ${id}`);
    await link.start();
    const url = link.address().mqtt;
    const secret = SECRETS['legacy-1'] as string;

    await assert.rejects(connectDevice(url, 'legacy-1', `${secret}x`), /bad user/i);
    assert.match(hashOf(store, 'legacy-1'), /^scrypt\$/, 'a failed attempt leaves the old hash');

    (await connectDevice(url, 'legacy-1', secret)).end(true);
    const upgraded = hashOf(store, 'legacy-1');
    assert.match(upgraded, /^hs256\$[\w-]{22}\$[\w-]{43}$/);
    (await connectDevice(url, 'legacy-1', secret)).end(true); // again, now through hs256
    assert.equal(hashOf(store, 'legacy-1'), upgraded);
    await assert.rejects(connectDevice(url, 'legacy-1', SECRETS['legacy-2'] as string), /bad user/i);

    // Another device is untouched until it connects itself; a revoked one stays refused and is not upgraded.
    assert.match(hashOf(store, 'legacy-2'), /^scrypt\$/);
    await assert.rejects(connectDevice(url, 'legacy-revoked', SECRETS['legacy-revoked'] as string), /not authorized/i);
    assert.match(hashOf(store, 'legacy-revoked'), /^scrypt\$/);
    assert.equal(store.devices.get('legacy-revoked').revoked, true);
  } finally {
    await link.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a rotation while an old-scheme secret is being checked wins; the old secret is then refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-upgrade-'));
  copyFileSync(FIXTURE, join(dir, 'hub.db'));
  const store = Store.open(dir, HUB_MIGRATIONS);
  try {
    const pending = store.devices.authenticate('legacy-2', SECRETS['legacy-2'] as string);
    // scrypt runs on the thread pool: this rotation lands before the check finishes.
    store.devices.rotateSecret('legacy-2', 'rotated-secret-rotated-secret-00');
    assert.equal(await pending, 'bad_secret');
    assert.equal(await store.devices.authenticate('legacy-2', 'rotated-secret-rotated-secret-00'), 'ok');

    const revoking = store.devices.authenticate('legacy-1', SECRETS['legacy-1'] as string);
    store.devices.revoke('legacy-1', new Date());
    assert.equal(await revoking, 'revoked');
    assert.match(hashOf(store, 'legacy-1'), /^scrypt\$/);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
