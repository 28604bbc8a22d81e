// The update-lock route's body bound (update-lock.ts LOCAL_BODY_MAX) at the bound and one past it, with a
// Content-Length and chunked (no length declared): a body of exactly LOCAL_BODY_MAX bytes is read and
// the lock set; one byte more is a 413 naming the bound, and nothing is set. Real agent on 127.0.0.1:0.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { makeKit, paddedJson, postChunked, startAgent, type Kit } from '../testing.js';
import type { Agent } from '../agent.js';
import { LOCAL_BODY_MAX } from './update-lock.js';

const PATH = '/edgefleet/v1/update-lock';

/** `{"ttlSec": 60, "reason": "bound"}` padded with spaces to `bytes` bytes. */
const padded = (bytes: number) => paddedJson({ ttlSec: 60, reason: 'bound' }, bytes);

describe('update lock body bound', () => {
  let kit: Kit;
  let agent: Agent;
  before(async () => {
    kit = makeKit('ef-lock-bound-');
    agent = await startAgent(join(kit.dir, 'data'), {});
  });
  after(async () => {
    await agent?.stop();
    kit?.cleanup();
  });

  for (const how of ['with a Content-Length', 'chunked'] as const) {
    it(`${how}: ${LOCAL_BODY_MAX} bytes set the lock, ${LOCAL_BODY_MAX + 1} are a 413 that sets nothing`, async () => {
      const post = (body: string) => how === 'chunked' ? postChunked(agent.url, PATH, body)
        : fetch(agent.url + PATH, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then(async (r) => ({ status: r.status, text: await r.text() }));
      const del = await fetch(agent.url + PATH, { method: 'DELETE' });
      assert.ok(del.status < 500);
      const over = await post(padded(LOCAL_BODY_MAX + 1));
      assert.equal(over.status, 413, over.text);
      assert.match(over.text, new RegExp(`expected at most ${LOCAL_BODY_MAX} bytes`));
      const none = (await (await fetch(agent.url + PATH)).json()) as { locked: boolean };
      assert.equal(none.locked, false, 'nothing set');
      const at = await post(padded(LOCAL_BODY_MAX));
      assert.equal(at.status, 200, at.text);
      const set = (await (await fetch(agent.url + PATH)).json()) as { locked: boolean; reason?: string };
      assert.deepEqual([set.locked, set.reason], [true, 'bound']);
    });
  }
});
