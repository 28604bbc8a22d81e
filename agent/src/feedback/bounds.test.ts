// POST /edgefleet/v1/feedback at its bounds (./route.ts, docs/agent.md "Feedback") on a real agent:
// exactly MAX_FEEDBACK_ITEMS items are answered and one more is a 400 naming the count; a body of exactly
// MAX_FEEDBACK_BYTES is read and one byte more is a 413, from its Content-Length and while streamed
// (chunked, no Content-Length).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { join } from 'node:path';
import type { Agent } from '../agent.js';
import { makeKit, req, startAgent, type Kit } from '../testing.js';
import { MAX_FEEDBACK_BYTES, MAX_FEEDBACK_ITEMS } from './route.js';

const FEEDBACK = '/edgefleet/v1/feedback';
const items = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `x${i}`, label: 0 }));
/** A valid feedback body of exactly `bytes` bytes: one item, padded with JSON whitespace. */
const padded = (bytes: number) => {
  const body = JSON.stringify({ items: items(1) });
  return body + ' '.repeat(bytes - body.length);
};

/** The body sent chunked (no Content-Length), in two writes. */
function chunked(base: string, body: string): Promise<{ status: number; json: { error?: string; unknown?: number } }> {
  return new Promise((resolve, reject) => {
    const r = http.request(`${base}${FEEDBACK}`, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as { error?: string; unknown?: number } }));
    });
    r.on('error', reject);
    r.write(body.slice(0, body.length >> 1));
    r.end(body.slice(body.length >> 1));
  });
}

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
