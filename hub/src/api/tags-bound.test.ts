// Tags are bounded in the shared wire schema: at most MAX_TAGS per device or enrollment token, keys
// of 64 and values of 256 characters. Enrollment tokens, devices add and PUT tags accept the bound
// and refuse one past it with a message naming the limit; nothing is stored or audited then.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_TAGS } from '@edgefleet/shared';
import { makeHarness } from '../testing/harness.js';
import { forEachBackend, type Backend } from '../testing/backends.js';

const tags = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v'.repeat(256)]));

/** The database backend of the suite running now (docs/decisions/0040-postgresql.md). */
let backend: Backend;
// The same suite on each database backend.
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
test(`tags: ${MAX_TAGS} are accepted everywhere, one more (or a longer key or value) is refused naming the limit`, async () => {
  const h = makeHarness({ database: backend.database() });
  try {
    assert.equal(MAX_TAGS, 64);
    const over = tags(MAX_TAGS + 1);
    for (const [method, path, body, role] of [
      ['POST', '/api/v1/enrollment-tokens', { tags: over }, 'operator'],
      ['POST', '/api/v1/devices', { deviceId: 'over', tags: over }, 'admin'],
    ] as const) {
      const r = await h.req(method, path, { role, json: body });
      assert.equal(r.status, 400, `${method} ${path}`);
      assert.match(await r.text(), /"SCHEMA_INVALID".*tags: expected at most 64 tags, got 65/);
    }
    assert.equal(h.store.devices.exists('over'), false);

    const add = await h.req('POST', '/api/v1/devices', { json: { deviceId: 'full', tags: tags(MAX_TAGS) } });
    assert.equal(add.status, 201, await add.clone().text());
    assert.equal((await h.req('POST', '/api/v1/enrollment-tokens', { role: 'operator', json: { tags: tags(MAX_TAGS) } })).status, 201);
    const put = await h.req('PUT', '/api/v1/devices/full/tags', { json: { tags: over } });
    assert.equal(put.status, 400);
    assert.match(await put.text(), /expected at most 64 tags, got 65/);
    assert.equal(Object.keys(h.store.devices.get('full').tags).length, MAX_TAGS);

    const longKey = await h.req('PUT', '/api/v1/devices/full/tags', { json: { tags: { [`k${'x'.repeat(64)}`]: 'v' } } });
    assert.equal(longKey.status, 400);
    assert.match(await longKey.text(), /at most 64/);
    const longValue = await h.req('PUT', '/api/v1/devices/full/tags', { json: { tags: { site: 'v'.repeat(257) } } });
    assert.equal(longValue.status, 400);
    assert.match(await longValue.text(), /tag value of at most 256 characters/);
    assert.deepEqual(h.store.audit.query({ action: 'device.tags' }), [], 'refused writes are not audited');
  } finally {
    h.close();
  }
});
}
