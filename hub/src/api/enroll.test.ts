// Enrollment over the REST API: a valid token gives working credentials; an
// expired, used-up, revoked or unknown token is refused with a message saying why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeviceCredentials, parseWire } from '@edgefleet/shared';
import { FACTS, makeHarness } from '../testing/harness.js';
import { forEachBackend, type Backend } from '../testing/backends.js';

/** The database backend of the suite running now (docs/decisions/0040-postgresql.md). */
let backend: Backend;
// The same suite on each database backend.
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
test('enrollment: valid token -> id, secret that authenticates, brokers, trust; tags from the token', async () => {
  const h = makeHarness({ database: backend.database() });
  try {
    const t = await h.req('POST', '/api/v1/enrollment-tokens', { role: 'operator', json: { tags: { site: 'plant-1' }, maxUses: 2, ttlSec: 3600 } });
    assert.equal(t.status, 201);
    const tok = (await t.json()) as { token: string; id: string; uses: number; maxUses: number };
    assert.equal(tok.uses, 0);
    const r = await h.req('POST', '/api/v1/enroll', { token: null, json: { token: tok.token, deviceId: 'box-1', facts: FACTS } });
    assert.equal(r.status, 201, await r.clone().text());
    const creds = parseWire(DeviceCredentials, await r.json(), 'credentials');
    assert.equal(creds.deviceId, 'box-1');
    assert.deepEqual(creds.brokers, ['mqtt://127.0.0.1:1883']);
    assert.deepEqual(creds.trust, h.trust);
    assert.equal(await h.store.devices.authenticate('box-1', creds.secret), 'ok');
    assert.equal(await h.store.devices.authenticate('box-1', `${creds.secret}x`), 'bad_secret');
    const dev = h.store.devices.get('box-1');
    assert.deepEqual(dev.tags, { site: 'plant-1' });
    assert.deepEqual(dev.facts, FACTS);
    // no proposed id: the hub assigns one
    const r2 = await h.req('POST', '/api/v1/enroll', { token: null, json: { token: tok.token, facts: FACTS } });
    assert.equal(r2.status, 201);
    assert.match(((await r2.json()) as { deviceId: string }).deviceId, /^dev-[0-9a-f]{12}$/);
  } finally {
    h.close();
  }
});

test('enrollment: expired, exhausted and unknown tokens are refused clearly', async () => {
  const h = makeHarness({ database: backend.database() });
  try {
    const t = await h.req('POST', '/api/v1/enrollment-tokens', { role: 'operator', json: { maxUses: 1, ttlSec: 60 } });
    const { token } = (await t.json()) as { token: string };
    const enroll = (body: object) => h.req('POST', '/api/v1/enroll', { token: null, json: body });

    const wrong = await enroll({ token: 'eft_nope', facts: FACTS });
    assert.equal(wrong.status, 401);
    assert.match(((await wrong.json()) as { error: { message: string } }).error.message, /not recognised/);

    assert.equal((await enroll({ token, deviceId: 'a-1', facts: FACTS })).status, 201);
    const used = await enroll({ token, deviceId: 'a-2', facts: FACTS });
    assert.equal(used.status, 401);
    assert.match(((await used.json()) as { error: { message: string } }).error.message, /used up \(1 of 1 uses\)/);

    const t2 = await h.req('POST', '/api/v1/enrollment-tokens', { role: 'operator', json: { maxUses: 5, ttlSec: 60 } });
    const { token: token2 } = (await t2.json()) as { token: string };
    h.clock.advance(61_000);
    const expired = await enroll({ token: token2, facts: FACTS });
    assert.equal(expired.status, 401);
    const body = (await expired.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'UNAUTHENTICATED');
    assert.match(body.error.message, /expired at/);
    assert.equal(h.store.devices.exists('a-2'), false);
  } finally {
    h.close();
  }
});

test('enrollment: a taken id is a 409 and costs no use; bad facts name the field', async () => {
  const h = makeHarness({ database: backend.database() });
  try {
    const t = await h.req('POST', '/api/v1/enrollment-tokens', { role: 'operator', json: { maxUses: 2 } });
    const { token, id } = (await t.json()) as { token: string; id: string };
    assert.equal((await h.req('POST', '/api/v1/enroll', { token: null, json: { token, deviceId: 'x', facts: FACTS } })).status, 201);
    h.store.devices.markSeen('x', true, new Date()); // it connected: the id is no longer the enrollment's to re-run
    const dup = await h.req('POST', '/api/v1/enroll', { token: null, json: { token, deviceId: 'x', facts: FACTS } });
    assert.equal(dup.status, 409);
    assert.equal(h.store.enrollment.get(id).uses, 1);
    const bad = await h.req('POST', '/api/v1/enroll', { token: null, json: { token, facts: { ...FACTS, cpus: 'four' } } });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: { message: string } }).error.message, /facts\.cpus/);
    const notJson = await h.req('POST', '/api/v1/enroll', { token: null, body: '{nope', headers: { 'content-type': 'application/json' } });
    assert.equal(notJson.status, 400);
    assert.match(((await notJson.json()) as { error: { message: string } }).error.message, /not JSON/);
  } finally {
    h.close();
  }
});

test('enrollment: a re-run with the same id and token for a device that never connected gets a new secret and takes no use', async () => {
  const h = makeHarness({ database: backend.database() });
  try {
    const mk = async () => (await (await h.req('POST', '/api/v1/enrollment-tokens', { role: 'operator', json: { maxUses: 1, tags: { site: 'a' } } })).json()) as { token: string; id: string };
    const tok = await mk();
    const first = parseWire(DeviceCredentials, await (await h.req('POST', '/api/v1/enroll', { token: null, json: { token: tok.token, deviceId: 'late', facts: FACTS } })).json(), 'credentials');
    // The box failed after this (say its trust check); it runs the same command again.
    const again = await h.req('POST', '/api/v1/enroll', { token: null, json: { token: tok.token, deviceId: 'late', facts: FACTS } });
    assert.equal(again.status, 201, await again.clone().text());
    const creds = parseWire(DeviceCredentials, await again.json(), 'credentials');
    assert.equal(creds.deviceId, 'late');
    assert.equal(await h.store.devices.authenticate('late', creds.secret), 'ok');
    assert.equal(await h.store.devices.authenticate('late', first.secret), 'bad_secret', 'the first secret is replaced');
    assert.equal(h.store.enrollment.get(tok.id).uses, 1, 'no second use taken');
    assert.deepEqual(h.store.devices.get('late').tags, { site: 'a' });
    const audit = h.store.audit.query({ action: 'device.enroll', target: 'late' });
    assert.equal(audit.length, 2);
    assert.match(JSON.stringify(audit[1]!.details), /never connected/);
    assert.deepEqual(audit.map((e) => [e.actor, e.actorId]), [[`enrollment-token:${tok.id}`, tok.id], [`enrollment-token:${tok.id}`, tok.id]], 'the re-run names the token by id too');
    // Another token cannot take the id over; nor can the same token once the device has connected.
    const other = await mk();
    assert.equal((await h.req('POST', '/api/v1/enroll', { token: null, json: { token: other.token, deviceId: 'late', facts: FACTS } })).status, 409);
    h.store.devices.markSeen('late', true, new Date());
    assert.equal((await h.req('POST', '/api/v1/enroll', { token: null, json: { token: tok.token, deviceId: 'late', facts: FACTS } })).status, 401);
  } finally {
    h.close();
  }
});

test('enrollment: a revoked token enrolls nothing more, re-runs included; devices it enrolled keep working', async () => {
  const h = makeHarness({ database: backend.database() });
  try {
    const t = await h.req('POST', '/api/v1/enrollment-tokens', { role: 'operator', json: { maxUses: 1000, ttlSec: 366 * 86400, tags: { site: 'n' } } });
    const tok = (await t.json()) as { token: string; id: string };
    const enroll = (deviceId: string) => h.req('POST', '/api/v1/enroll', { token: null, json: { token: tok.token, deviceId, facts: FACTS } });
    const first = parseWire(DeviceCredentials, await (await enroll('kept')).json(), 'credentials');
    assert.equal((await enroll('never-connected')).status, 201);
    const revoke = (id: string, json: unknown, role: 'viewer' | 'operator' = 'operator') => h.req('POST', `/api/v1/enrollment-tokens/${id}/revoke`, { role, json });

    assert.equal((await revoke(tok.id, { reason: 'leaked' }, 'viewer')).status, 403);
    const noReason = await revoke(tok.id, {});
    assert.equal(noReason.status, 400);
    assert.match(((await noReason.json()) as { error: { message: string } }).error.message, /reason/);
    assert.equal(h.store.enrollment.get(tok.id).revoked, null, 'refused revocations change nothing');
    const r = await revoke(tok.id, { reason: 'pasted into a public ticket' });
    assert.equal(r.status, 200, await r.clone().text());
    const info = (await r.json()) as { revoked: { at: string; by: string }; uses: number };
    assert.deepEqual(info.revoked, { at: h.clock.now().toISOString(), by: 'operator-token' });
    assert.equal(info.uses, 2);
    const entries = h.store.audit.query({ action: 'enrollment-token.revoke' });
    assert.deepEqual(entries.map((e) => [e.target, e.actor, e.reason]), [[tok.id, 'operator-token', 'pasted into a public ticket']]);
    assert.match(entries[0]!.actorId ?? '', /^tok_/);

    // A new enrollment and a re-run for the device that never connected are both refused, saying why; no use is taken.
    for (const id of ['new-box', 'never-connected']) {
      const refused = await enroll(id);
      assert.equal(refused.status, 401, id);
      const e = ((await refused.json()) as { error: { code: string; message: string } }).error;
      assert.equal(e.code, 'UNAUTHENTICATED');
      assert.match(e.message, new RegExp(`enrollment token ${tok.id} was revoked at .*: ask an operator for a new one`));
    }
    assert.equal(h.store.devices.exists('new-box'), false);
    assert.equal(h.store.enrollment.get(tok.id).uses, 2);
    assert.equal(await h.store.devices.authenticate('kept', first.secret), 'ok', 'a device it enrolled keeps its credentials');

    const again = await revoke(tok.id, { reason: 'twice' });
    assert.equal(again.status, 409);
    assert.match(((await again.json()) as { error: { message: string } }).error.message, /was revoked already, at .* by operator-token/);
    assert.equal((await revoke('et_0123456789abcdef', { reason: 'x' })).status, 404);
    const listed = (await (await h.req('GET', '/api/v1/enrollment-tokens', { role: 'viewer' })).json()) as { tokens: Array<{ id: string; revoked: unknown }> };
    assert.deepEqual(listed.tokens.map((x) => [x.id, x.revoked]), [[tok.id, info.revoked]]);
  } finally {
    h.close();
  }
});

test('health carries the hub clock (enroll compares the box clock with it)', async () => {
  const h = makeHarness({ database: backend.database() });
  try {
    const r = await h.req('GET', '/api/v1/health', { token: null });
    assert.equal(r.status, 200);
    const body = (await r.json()) as { ok: boolean; time: string };
    assert.equal(body.ok, true);
    assert.equal(body.time, h.clock.now().toISOString());
  } finally {
    h.close();
  }
});
}
