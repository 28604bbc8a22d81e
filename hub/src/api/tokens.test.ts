// API tokens: an admin revokes one with a reason; it stops working at once, the revocation is audited,
// revoking twice or revoking the last admin token is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeHarness } from '../testing/harness.js';
import { forEachBackend, type Backend } from '../testing/backends.js';

/** The database backend of the suite running now (docs/decisions/0040-postgresql.md). */
let backend: Backend;
// The same suite on each database backend.
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
test('revoking an API token: it stops working, is audited, and the last admin token cannot go', async () => {
  const h = makeHarness({ database: backend.database() });
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

test('token names are unique (revoked ones included) and audit entries carry the acting token id', async () => {
  const h = makeHarness({ database: backend.database() });
  try {
    const created = await h.req('POST', '/api/v1/tokens', { json: { name: 'admin', role: 'operator' } });
    assert.equal(created.status, 201, await created.clone().text());
    const first = (await created.json()) as { id: string; token: string };
    const dup = await h.req('POST', '/api/v1/tokens', { json: { name: 'admin', role: 'admin' } });
    assert.equal(dup.status, 409);
    assert.match(await dup.text(), new RegExp(`"CONFLICT".*an API token named \\\\"admin\\\\" already exists \\(${first.id}\\)`));
    assert.equal((await h.req('POST', `/api/v1/tokens/${first.id}/revoke`, { json: { reason: 'rotate' } })).status, 200);
    const reuse = await h.req('POST', '/api/v1/tokens', { json: { name: 'admin', role: 'operator' } });
    assert.equal(reuse.status, 409, 'a revoked token keeps its name: the audit log still shows it');
    assert.match(await reuse.text(), /revoked/);
    assert.equal(h.store.tokens.list().tokens.filter((t) => t.name === 'admin').length, 1);

    const other = (await (await h.req('POST', '/api/v1/tokens', { json: { name: 'ops-2', role: 'operator' } })).json()) as { id: string; token: string };
    assert.equal((await h.req('POST', '/api/v1/enrollment-tokens', { token: other.token, json: {} })).status, 201);
    const entries = (await (await h.req('GET', '/api/v1/audit', { role: 'viewer' })).json()) as { entries: Array<{ actor: string; actorId: string | null; action: string }> };
    const adminId = h.store.tokens.list().tokens.find((t) => t.name === 'admin-token')!.id;
    assert.deepEqual(entries.entries.map((e) => [e.action, e.actor, e.actorId]), [
      ['token.create', 'admin-token', adminId],
      ['token.revoke', 'admin-token', adminId],
      ['token.create', 'admin-token', adminId],
      ['enrollment-token.create', 'ops-2', other.id],
    ]);
    const byId = (await (await h.req('GET', `/api/v1/audit?actorId=${other.id}`, { role: 'viewer' })).json()) as { entries: unknown[] };
    assert.equal(byId.entries.length, 1);
  } finally {
    h.close();
  }
});
}
