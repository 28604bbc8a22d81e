// POST /devices/{id}/revoke and `edgefleet devices revoke` name the enrollment token that enrolled the
// device while that token can still enroll a box (not revoked, expired nor used up): whoever holds it,
// say with a stolen box whose provisioning kept it, enrolled again as a new device after the revocation
// and nothing said so (docs/operations.md "Keys"). A device added directly, or whose token cannot
// enroll any more, gets `enrollmentToken: null` and no such line. Real app, real store (SQLite and PostgreSQL).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FACTS, makeHarness } from '../testing/harness.js';
import { cliOver } from '../testing/cli.js';
import { forEachBackend, type Backend } from '../testing/backends.js';

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
test('devices revoke names the enrollment token that can still enroll a box, and only then', async () => {
  const h = makeHarness({ database: backend.database() });
  const cli = await cliOver(h.app, h.tokens.admin, h.dir);
  try {
    const token = async (maxUses: number, ttlSec: number) =>
      (await (await h.req('POST', '/api/v1/enrollment-tokens', { role: 'operator', json: { maxUses, ttlSec } })).json()) as { token: string; id: string; expires: string };
    const enroll = async (t: string, deviceId: string) =>
      assert.equal((await h.req('POST', '/api/v1/enroll', { token: null, json: { token: t, deviceId, facts: FACTS } })).status, 201);
    const et = await token(3, 3600);
    await enroll(et.token, 'box-a');
    await enroll(et.token, 'box-b');
    assert.equal((await h.req('POST', '/api/v1/devices', { json: { deviceId: 'box-c' } })).status, 201);

    const a = await cli.run('devices', 'revoke', 'box-a', '--reason', 'stolen');
    assert.equal(a.code, 0, a.err);
    assert.equal(a.out, 'revoked box-a (disconnected)\n' +
      `the enrollment token ${et.id} that enrolled it can still enroll a box (1 of 3 uses left, until ${et.expires}): ` +
      `whoever holds it can enroll a new device; unless other boxes still need it: edgefleet enroll-token revoke ${et.id} --reason TEXT\n`);
    const c = await h.req('POST', '/api/v1/devices/box-c/revoke', { json: { reason: 'retired' } });
    assert.equal(((await c.json()) as { enrollmentToken: unknown }).enrollmentToken, null, 'box-c was added directly');

    // The token revoked: box-b, which it enrolled too, has nothing to add.
    assert.equal((await cli.run('enroll-token', 'revoke', et.id, '--reason', 'box-a stolen')).code, 0);
    assert.equal((await cli.run('devices', 'revoke', 'box-b', '--reason', 'stolen too')).out, 'revoked box-b (disconnected)\n');

    // Used up, and expired: nothing either.
    const one = await token(1, 3600);
    await enroll(one.token, 'box-d');
    const short = await token(5, 60);
    await enroll(short.token, 'box-e');
    h.clock.advance(61_000);
    for (const id of ['box-d', 'box-e']) {
      const r = await h.req('POST', `/api/v1/devices/${id}/revoke`, { json: { reason: 'x' } });
      assert.equal(((await r.json()) as { enrollmentToken: unknown }).enrollmentToken, null, id);
    }
  } finally {
    cli.close();
    h.close();
  }
});
}
