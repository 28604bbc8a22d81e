// Device administration and the audit log: each write (enrollment token,
// device add/tags/rotate/revoke, token create) leaves one audit entry with
// actor, target and reason; revocation disconnects and refuses the secret;
// the audit table refuses UPDATE and DELETE; revocation drops the device's sealed copies of content keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contentKeyId, generateBoxKeyPair, newContentKey, sealContentKey } from '@edgefleet/shared';
import { SealingRepo } from '../sealing/repo.js';
import { makeHarness } from '../testing/harness.js';
import { forEachBackend, type Backend } from '../testing/backends.js';

/** The database backend of the suite running now (docs/decisions/0040-postgresql.md). */
let backend: Backend;
// The same suite on each database backend.
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
test('device writes are audited with actor, target and reason; revoke disconnects and locks out', async () => {
  const h = makeHarness({ database: backend.database() });
  try {
    const add = await h.req('POST', '/api/v1/devices', { json: { deviceId: 'cam-7', tags: { site: 'a' } } });
    assert.equal(add.status, 201);
    const { secret } = (await add.json()) as { secret: string };
    assert.equal(await h.store.devices.authenticate('cam-7', secret), 'ok');

    const tags = await h.req('PUT', '/api/v1/devices/cam-7/tags', { json: { tags: { site: 'b', ring: 'canary' }, reason: 'moved' } });
    assert.equal(tags.status, 200);
    assert.deepEqual(((await tags.json()) as { tags: object }).tags, { site: 'b', ring: 'canary' });

    const rot = await h.req('POST', '/api/v1/devices/cam-7/rotate-secret', { json: {} });
    const { secret: secret2 } = (await rot.json()) as { secret: string };
    assert.notEqual(secret2, secret);
    assert.equal(await h.store.devices.authenticate('cam-7', secret), 'bad_secret');
    assert.equal(await h.store.devices.authenticate('cam-7', secret2), 'ok');

    const noReason = await h.req('POST', '/api/v1/devices/cam-7/revoke', { json: {} });
    assert.equal(noReason.status, 400);
    assert.match(await noReason.text(), /reason/);
    const rev = await h.req('POST', '/api/v1/devices/cam-7/revoke', { json: { reason: 'stolen' } });
    assert.equal(rev.status, 200);
    assert.equal(((await rev.json()) as { disconnected: boolean }).disconnected, true);
    assert.deepEqual(h.disconnected, ['cam-7', 'cam-7']);
    assert.equal(await h.store.devices.authenticate('cam-7', secret2), 'revoked');
    assert.equal((await h.req('POST', '/api/v1/devices/cam-7/revoke', { json: { reason: 'again' } })).status, 409);

    const tok = await h.req('POST', '/api/v1/tokens', { json: { name: 'ci', role: 'viewer' } });
    assert.equal(tok.status, 201);
    const et = await h.req('POST', '/api/v1/enrollment-tokens', { role: 'operator', json: {} });
    assert.equal(et.status, 201);

    const audit = (await (await h.req('GET', '/api/v1/audit', { role: 'viewer' })).json()) as {
      entries: Array<{ actor: string; action: string; target: string; reason: string | null }>;
    };
    assert.deepEqual(
      audit.entries.map((e) => [e.actor, e.action, e.target, e.reason]),
      [
        ['admin-token', 'device.add', 'cam-7', null],
        ['admin-token', 'device.tags', 'cam-7', 'moved'],
        ['admin-token', 'device.rotate-secret', 'cam-7', null],
        ['admin-token', 'device.revoke', 'cam-7', 'stolen'],
        ['admin-token', 'token.create', audit.entries[4]?.target ?? '', null],
        ['operator-token', 'enrollment-token.create', audit.entries[5]?.target ?? '', null],
      ],
    );
    const filtered = (await (await h.req('GET', '/api/v1/audit?action=device.revoke', { role: 'viewer' })).json()) as { entries: unknown[] };
    assert.equal(filtered.entries.length, 1);
    const byActor = (await (await h.req('GET', '/api/v1/audit?actor=operator-token', { role: 'viewer' })).json()) as { entries: unknown[] };
    assert.equal(byActor.entries.length, 1);
    const badSince = await h.req('GET', '/api/v1/audit?since=yesterday', { role: 'viewer' });
    assert.equal(badSince.status, 400);
    assert.match(await badSince.text(), /since/);
    // a failed write (409 above) left no entry
    assert.equal(audit.entries.filter((e) => e.action === 'device.revoke').length, 1);
  } finally {
    h.close();
  }
});

test('revoking a device drops its sealed copies of content keys; other devices keep theirs', async () => {
  const h = makeHarness({ database: backend.database() });
  try {
    const ids = ['box-1', 'box-2'];
    for (const id of ids) assert.equal((await h.req('POST', '/api/v1/devices', { json: { deviceId: id, tags: {} } })).status, 201);
    // Each device holds both content keys, sealed to its own box key (as Sealing.sealedFor stores them).
    const repo = new SealingRepo(h.store.db);
    const contentKeys = [newContentKey(), newContentKey()];
    const boxKeyOf: Record<string, string> = {};
    for (const id of ids) {
      const box = generateBoxKeyPair();
      boxKeyOf[id] = box.keyId;
      for (const k of contentKeys) repo.putSealed(id, contentKeyId(k), box.keyId, sealContentKey(k, box.publicKey));
    }
    const sealedOf = (id: string) => contentKeys.filter((k) => repo.sealed(id, contentKeyId(k), boxKeyOf[id]!) !== undefined).length;
    assert.deepEqual(ids.map(sealedOf), [2, 2]);

    assert.equal((await h.req('POST', '/api/v1/devices/box-1/revoke', { json: { reason: 'stolen' } })).status, 200);
    assert.deepEqual(ids.map(sealedOf), [0, 2]);
    const rows = h.store.db.prepare('SELECT device_id FROM sealed_keys ORDER BY device_id').all() as Array<{ device_id: string }>;
    assert.deepEqual(rows.map((r) => r.device_id), ['box-2', 'box-2']);
    // A refused revoke (unknown device) drops nothing.
    assert.equal((await h.req('POST', '/api/v1/devices/box-9/revoke', { json: { reason: 'typo' } })).status, 404);
    assert.deepEqual(ids.map(sealedOf), [0, 2]);
  } finally {
    h.close();
  }
});

test('GET /audit?action= refuses an action the hub never records and no entry carries, naming the one meant', async () => {
  const h = makeHarness({ database: backend.database() });
  try {
    h.store.audit.append({ actor: 'a', action: 'device.revoke', target: 'cam-1', at: h.clock.now() });
    // An action from an older build that is still in the log reads as before.
    h.store.audit.append({ actor: 'a', action: 'device.retired' as never, target: 'cam-2', at: h.clock.now() });
    const get = async (action: string) => {
      const r = await h.req('GET', `/api/v1/audit?action=${encodeURIComponent(action)}`, { role: 'viewer' });
      return { status: r.status, body: (await r.json()) as { entries?: Array<{ target: string }>; error?: { code: string; message: string } } };
    };
    const typo = await get('device.revokd');
    assert.deepEqual([typo.status, typo.body.error?.code], [400, 'INVALID_INPUT']);
    assert.equal(typo.body.error?.message, 'no audit entry has action "device.revokd" and the hub records no such action: expected "device.revoke"?');
    const far = await get('fleet.nuke');
    assert.equal(far.status, 400);
    assert.match(far.body.error?.message ?? '', /expected one of its \d+ actions \(alert\.\*, alert_rule\.\*, drift_report\.\*, .*token\.\*; docs\/hub\.md "REST API"\)$/);
    assert.deepEqual((await get('device.revoke')).body.entries?.map((e) => e.target), ['cam-1']);
    assert.deepEqual((await get('device.retired')).body.entries?.map((e) => e.target), ['cam-2']);
    // Known but never recorded here: an empty page, not an error.
    assert.deepEqual(await get('model.delete'), { status: 200, body: { entries: [], next: null } });
    assert.deepEqual((await get('config.set.incomplete')).status, 200);
  } finally {
    h.close();
  }
});

test('the audit table is append-only: UPDATE and DELETE are refused by the database', () => {
  const h = makeHarness({ database: backend.database() });
  try {
    h.store.audit.append({ actor: 'a', action: 'device.add', target: 't', at: h.clock.now() });
    assert.throws(() => h.store.db.prepare("UPDATE audit SET actor = 'b'").run(), /append-only/);
    assert.throws(() => h.store.db.prepare('DELETE FROM audit').run(), /append-only/);
    assert.equal(h.store.audit.query({}).length, 1);
  } finally {
    h.close();
  }
});
}
