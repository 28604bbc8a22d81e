// POST /edgefleet/v1/feedback at its bounds (./route.ts, docs/agent.md "Feedback") on a real agent:
// exactly MAX_FEEDBACK_ITEMS items are answered and one more is a 400 naming the count; a body of exactly
// MAX_FEEDBACK_BYTES is read and one byte more is a 413, from its Content-Length and while streamed
// (chunked, no Content-Length).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Agent } from '../agent.js';
import { makeKit, paddedJson, postChunked, req, startAgent, type Kit } from '../testing.js';
import { MAX_FEEDBACK_BYTES, MAX_FEEDBACK_ITEMS } from './route.js';

const FEEDBACK = '/edgefleet/v1/feedback';
const items = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `x${i}`, label: 0 }));
/** A valid feedback body of exactly `bytes` bytes: one item, padded with JSON whitespace. */
const padded = (bytes: number) => paddedJson({ items: items(1) }, bytes);

/** The body sent chunked (no Content-Length), its answer's JSON. */
const chunked = async (base: string, body: string) => {
  const r = await postChunked(base, FEEDBACK, body);
  return { status: r.status, json: JSON.parse(r.text) as { error?: string; unknown?: number } };
};

describe('feedback bounds', () => {
  let kit: Kit;
  let agent: Agent;
  before(async () => {
    kit = makeKit();
    agent = await startAgent(join(kit.dir, 'data'));
  });
  after(async () => {
    await agent.stop();
    kit.cleanup();
  });

  it(`answers ${MAX_FEEDBACK_ITEMS} items and refuses ${MAX_FEEDBACK_ITEMS + 1}`, async () => {
    const ok = await req(agent.url, 'POST', FEEDBACK, { items: items(MAX_FEEDBACK_ITEMS) });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.unknown, MAX_FEEDBACK_ITEMS, 'ids never predicted: answered unknown');
    const over = await req(agent.url, 'POST', FEEDBACK, { items: items(MAX_FEEDBACK_ITEMS + 1) });
    assert.equal(over.status, 400);
    assert.equal(over.json.error, `items: ${MAX_FEEDBACK_ITEMS + 1} items, expected at most ${MAX_FEEDBACK_ITEMS} per request`);
  });

  it(`reads a body of ${MAX_FEEDBACK_BYTES} bytes and refuses one of ${MAX_FEEDBACK_BYTES + 1}, by its Content-Length and streamed`, async () => {
    const ok = await req(agent.url, 'POST', FEEDBACK, padded(MAX_FEEDBACK_BYTES));
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.unknown, 1);
    const over = await req(agent.url, 'POST', FEEDBACK, padded(MAX_FEEDBACK_BYTES + 1));
    assert.equal(over.status, 413);
    assert.equal(over.json.error, `feedback body of ${MAX_FEEDBACK_BYTES + 1} bytes is too large: expected at most ${MAX_FEEDBACK_BYTES} bytes (send fewer items per request)`);

    const streamedOk = await chunked(agent.url, padded(MAX_FEEDBACK_BYTES));
    assert.equal(streamedOk.status, 200, streamedOk.json.error);
    const streamedOver = await chunked(agent.url, padded(MAX_FEEDBACK_BYTES + 1));
    assert.equal(streamedOver.status, 413);
    assert.equal(streamedOver.json.error, `feedback body is too large: expected at most ${MAX_FEEDBACK_BYTES} bytes (send fewer items per request)`);
  });
});
