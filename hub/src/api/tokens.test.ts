// API tokens: an admin revokes one with a reason; it stops working at once, the revocation is audited,
// revoking twice or revoking the last admin token is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeHarness } from '../testing/harness.js';

test('revoking an API token: it stops working, is audited, and the last admin token cannot go', async () => {
  const h = makeHarness();
  try {
    const list = async () => ((await (await h.req('GET', '/api/v1/tokens')).json()) as { tokens: Array<{ id: string; name: string; role: string; revoked: boolean }> }).tokens;
    const op = (await list()).find((t) => t.role === 'operator')!;
    assert.equal((await h.req('GET', '/api/v1/devices', { role: 'operator' })).status, 200);

    const noReason = await h.req('POST', `/api/v1/tokens/${op.id}/revoke`, { json: {} });
    assert.equal(noReason.status, 400);
    assert.match(await noReason.text(), /reason/);

    const r = await h.req('POST', `/api/v1/tokens/${op.id}/revoke`, { json: { reason: 'laptop lost' } });
    assert.equal(r.status, 200, await r.clone().text());
    assert.equal(((await r.json()) as { revoked: boolean }).revoked, true);
    const after = await h.req('GET', '/api/v1/devices', { role: 'operator' });
    assert.equal(after.status, 401, 'a revoked token is refused at once');
    const again = await h.req('POST', `/api/v1/tokens/${op.id}/revoke`, { json: { reason: 'twice' } });
    assert.equal(again.status, 409);

    const audit = (await (await h.req('GET', '/api/v1/audit?action=token.revoke', { role: 'viewer' })).json()) as { entries: Array<{ actor: string; target: string; reason: string }> };
    assert.deepEqual(audit.entries.map((e) => [e.actor, e.target, e.reason]), [['admin-token', op.id, 'laptop lost']]);

    const admin = (await list()).find((t) => t.role === 'admin')!;
    const last = await h.req('POST', `/api/v1/tokens/${admin.id}/revoke`, { json: { reason: 'oops' } });
    assert.equal(last.status, 409);
    assert.match(await last.text(), /last admin token/);
    assert.equal((await h.req('GET', '/api/v1/tokens')).status, 200, 'the admin token still works');
    assert.equal((await h.req('POST', '/api/v1/tokens/nope/revoke', { json: { reason: 'x' } })).status, 404);
  } finally {
    h.close();
  }
});
