// A tag target needs a tag: `target: {"tags": {}}` matched every device, and every device enrolled
// later, on POST /deployments, /rollouts, /rollouts/preview and /captures. It is refused (400, naming
// target.tags and pointing at {"all": true}), as are tag keys and values past the device tags' bounds;
// nothing is stored or audited. A real hub.db and the real REST app.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_TAGS } from '@edgefleet/shared';
import { makeHarness } from '../testing/harness.js';

const ROUTES = [
  ['/deployments', { model: 'vib', version: '1.0.0', reason: 'r' }],
  ['/rollouts', { model: 'vib', version: '1.0.0', reason: 'r' }],
  ['/rollouts/preview', { model: 'vib', version: '1.0.0' }],
  ['/captures', { model: 'vib', rate: 0.5, maxRows: 10, durationSec: 60, reason: 'r' }],
] as const;

test('a tag target with no tag, or with tags past the bounds, is refused naming target.tags', async () => {
  const h = makeHarness();
  try {
    const cases = [
      [{}, /target\.tags: expected at least one tag \(\{"key": "value"\}\); use \{"all": true\} for every device/],
      [{ 'Not A Key': 'x' }, /target\.tags\.Not A Key: /],
      [{ site: 'v'.repeat(257) }, /target\.tags.*expected a tag value of at most 256 characters/],
      [Object.fromEntries(Array.from({ length: MAX_TAGS + 1 }, (_, i) => [`k${i}`, 'v'])), /target\.tags: expected at most 64 tags, got 65/],
    ] as const;
    for (const [path, body] of ROUTES) {
      for (const [tags, message] of cases) {
        const r = await h.req('POST', `/api/v1${path}`, { role: 'operator', json: { ...body, target: { tags } } });
        const { error } = (await r.json()) as { error: { code: string; message: string } };
        assert.equal(r.status, 400, `${path} ${JSON.stringify(tags).slice(0, 40)}: ${error.message}`);
        assert.equal(error.code, 'SCHEMA_INVALID', path);
        assert.match(error.message, message, path);
      }
      // One tag gets past the schema (this harness has no model or parts to go further).
      const one = await h.req('POST', `/api/v1${path}`, { role: 'operator', json: { ...body, target: { tags: { site: 'north' } } } });
      assert.doesNotMatch(await one.text(), /SCHEMA_INVALID/, path);
    }
    assert.deepEqual(h.store.audit.query({}).filter((e) => e.action !== 'token.create'), [], 'nothing refused is audited');
  } finally {
    h.close();
  }
});
