// A re-run of an enrollment (same id and token, the device never connected: hub/src/api/routes-enroll.ts)
// that carries another device key than the first run's is audited `device.key_changed`, as a key changed
// in a reported state is (docs/security.md "Sealed models": content keys are sealed to that key from now
// on). Before, the key was replaced with no audit entry saying so, and the re-run's `device.enroll` entry
// did not name the key. A new id enrolled with the key an enrolled device holds marks that one replaced
// (device.replaced). A real hub process over HTTP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateBoxKeyPair } from '@edgefleet/shared';
import { makeKeys, makeTrust } from '@edgefleet/examples';
import { createEnrollToken, startHub, type HubHandle } from '@edgefleet/examples/fleet';
import { devicePub } from './testing.js';

const FACTS = { os: 'linux', arch: 'x64', cpus: 2, memoryMb: 1024, agentVersion: '0.1.0' };

test('a re-run of an enrollment with another device key is audited device.key_changed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-reenroll-key-'));
  const keys = makeKeys(join(dir, 'keys'));
  const trust = makeTrust(dir, keys);
  let hub: HubHandle | undefined;
  try {
    hub = await startHub({ dataDir: join(dir, 'hub'), trustPath: trust.path, hubKeyPath: keys.files.hub.keyPath });
    const token = await createEnrollToken(hub, { maxUses: 1, ttlSec: 3600 });
    const [first, second] = [generateBoxKeyPair(), generateBoxKeyPair()];
    const enroll = (key: ReturnType<typeof generateBoxKeyPair>) => fetch(`${hub!.http}/api/v1/enroll`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: token.token, deviceId: 'late', facts: FACTS, deviceKey: devicePub(key) }),
    });
    assert.equal((await enroll(first)).status, 201);
    assert.equal((await enroll(first)).status, 201, 'a re-run with the same key');
    const audit = async (action: string) => (await hub!.api<{ entries: Array<{ actor: string; target: string; reason: string | null; details: { keyId?: string; deviceKey?: string | null } }> }>('GET', `/audit?action=${action}&target=late`)).entries;
    assert.deepEqual(await audit('device.key_changed'), [], 'the same key is no change');
    assert.equal((await enroll(second)).status, 201, 'a re-run with another key');
    const changed = await audit('device.key_changed');
    assert.equal(changed.length, 1);
    assert.equal(changed[0]!.actor, `enrollment-token:${token.id}`);
    assert.equal(changed[0]!.details.keyId, second.keyId);
    assert.match(changed[0]!.reason ?? '', /re-run of the enrollment carried a different device key/);
    assert.deepEqual((await audit('device.enroll')).map((e) => e.details.deviceKey).sort(), [first.keyId, first.keyId, second.keyId].sort());
    // The box enrolled again as a new id (enroll --force keeps its key): the hub marks `late` replaced by it,
    // audited (docs/decisions/0155-a-box-enrolled-again-replaces-its-old-id.md); the re-runs above replaced nothing.
    assert.deepEqual(await audit('device.replaced'), []);
    const other = await createEnrollToken(hub, { maxUses: 1, ttlSec: 3600 });
    const res = await fetch(`${hub.http}/api/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: other.token, facts: FACTS, deviceKey: devicePub(second) }) });
    assert.equal(res.status, 201);
    const fresh = ((await res.json()) as { deviceId: string }).deviceId;
    const replaced = await audit('device.replaced');
    assert.deepEqual(replaced.map((e) => [e.actor, e.details]), [[`enrollment-token:${other.id}`, { by: fresh, keyId: second.keyId }]]);
    assert.match(replaced[0]!.reason ?? '', new RegExp(`^its box enrolled again as ${fresh} with the same device key .*: late leaves the rollouts it is placed in while offline; revoke it \\(edgefleet devices revoke late\\)`));
  } finally {
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
