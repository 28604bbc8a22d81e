// POST/GET/DELETE /edgefleet/v1/update-lock on a standalone agent (real HTTP on 127.0.0.1:0, real
// agent.db): bad requests get a 400 (or 413/415) naming what was wrong and what was expected, the lock
// is bounded, and the local API's guards (Host) apply to it as to every route.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { makeKit, req, startAgent, type Kit } from '../testing.js';
import type { Agent } from '../agent.js';
import { UPDATE_LOCK_MAX_SEC } from '../store/update-lock-repo.js';

const PATH = '/edgefleet/v1/update-lock';

describe('update lock route', () => {
  let kit: Kit;
  let agent: Agent;
  const clock = { t: Date.parse('2026-06-01T10:00:00Z'), now() { return this.t; } };
  before(async () => {
    kit = makeKit('ef-lock-');
    agent = await startAgent(join(kit.dir, 'data'), {}, { clock });
  });
  after(async () => {
    await agent?.stop();
    kit?.cleanup();
  });

  it('refuses bad requests with a clear 400, 413 or 415, and sets nothing', async () => {
    const raw = (body: string, type = 'application/json') => fetch(agent.url + PATH, { method: 'POST', headers: { 'content-type': type }, body }).then(async (r) => ({ status: r.status, json: await r.json() as { error: string; code: string } }));
    const cases: Array<[unknown, RegExp]> = [
      [{ reason: 'x' }, /^ttlSec: expected a whole number of seconds from 1 to 86400 \(a day; renew the lock for longer\), got nothing$/],
      [{ ttlSec: 0, reason: 'x' }, /^ttlSec: .* got 0$/],
      [{ ttlSec: UPDATE_LOCK_MAX_SEC + 1, reason: 'x' }, /^ttlSec: .* got 86401$/],
      [{ ttlSec: 1.5, reason: 'x' }, /^ttlSec: .* got 1.5$/],
      [{ ttlSec: '60', reason: 'x' }, /^ttlSec: .* got "60"$/],
      [{ ttlSec: 60 }, /^reason: expected a non-empty string of at most 200 characters/],
      [{ ttlSec: 60, reason: '   ' }, /^reason: expected a non-empty string/],
      [{ ttlSec: 60, reason: 'r'.repeat(201) }, /^reason: expected a non-empty string of at most 200 characters saying why \(shown on the hub\), got 201 characters$/],
      [{ ttlSec: 60, reason: '\u{1F6A7}'.repeat(201) }, /^reason: .* got 201 characters$/],
      [{ ttlSec: 60, reason: 5 }, /^reason: .* got 5$/],
      [{ ttlSec: 60, reason: 'x', until: 5, note: '' }, /^unknown fields "until", "note": expected only ttlSec and reason$/],
      [{ ttlSec: 60, reason: 'x', until: 5 }, /^unknown field "until": expected only ttlSec and reason$/],
      [[60, 'x'], /^expected a JSON object \{"ttlSec": N, "reason": "..."\}$/],
      [null, /^expected a JSON object/],
    ];
    for (const [body, message] of cases) {
      const r = await req(agent.url, 'POST', PATH, body === null ? 'null' : body);
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
      assert.equal(r.json.code, 'BAD_REQUEST');
      assert.match(r.json.error, message, JSON.stringify(body));
    }
    const notJson = await raw('{"ttlSec": 60,');
    assert.equal(notJson.status, 400);
    assert.match(notJson.json.error, /request body is not JSON .*: expected \{"ttlSec": N, "reason": "..."\}/);
    // A reason in latin1 ("café", 0xE9) was shown on the hub as "caf\uFFFD"; now refused naming the byte.
    const latin = await fetch(agent.url + PATH, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.from('{"ttlSec": 60, "reason": "caf\xe9"}', 'latin1') });
    assert.deepEqual([latin.status, await latin.json()], [400, { error: 'request body is not valid UTF-8 (byte 29 is 0xE9): expected JSON text in UTF-8 (convert latin1 or UTF-16 text before sending)', code: 'BAD_REQUEST' }]);
    const form = await raw('ttlSec=60', 'application/x-www-form-urlencoded');
    assert.equal(form.status, 415);
    assert.match(form.json.error, /expected "application\/json"/);
    const big = await raw(JSON.stringify({ ttlSec: 60, reason: 'x'.repeat(5000) }));
    assert.equal(big.status, 413);
    assert.match(big.json.error, /expected at most 4096 bytes/);
    const put = await req(agent.url, 'PUT', PATH, { ttlSec: 60, reason: 'x' });
    assert.deepEqual([put.status, put.headers.get('allow'), put.json], [405, 'GET, POST, DELETE', { code: 'METHOD_NOT_ALLOWED', error: 'method PUT is not allowed on /edgefleet/v1/update-lock: expected GET, POST or DELETE' }]);
    const other = await req(agent.url, 'GET', '/edgefleet/v1/locks');
    assert.equal(other.status, 404);
    assert.match(other.json.error, /expected \/edgefleet\/v1\/update-lock/);
    // A web page's request (another Host) is refused as on every route.
    const page = await new Promise<number | undefined>((resolve, reject) => {
      const u = new URL(agent.url);
      request({ host: u.hostname, port: u.port, path: PATH, method: 'DELETE', headers: { host: 'evil.example' } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      }).on('error', reject).end();
    });
    assert.equal(page, 403);
    assert.deepEqual((await req(agent.url, 'GET', PATH)).json, { locked: false, deferred: [] });
  });

  it('sets, renews, reads and removes the lock; it expires by the box clock', async () => {
    const a = await req(agent.url, 'POST', PATH, { ttlSec: 60, reason: '  calibration  ' });
    assert.equal(a.status, 200, a.text);
    assert.deepEqual(a.json, { locked: true, reason: 'calibration', until: '2026-06-01T10:01:00.000Z', setAt: '2026-06-01T10:00:00.000Z', deferred: [] });
    clock.t += 30_000;
    const b = await req(agent.url, 'POST', PATH, { ttlSec: UPDATE_LOCK_MAX_SEC, reason: 'renewed' });
    assert.equal(b.json.until, new Date(clock.t + UPDATE_LOCK_MAX_SEC * 1000).toISOString());
    clock.t += UPDATE_LOCK_MAX_SEC * 1000 - 1;
    assert.equal((await req(agent.url, 'GET', PATH)).json.locked, true);
    clock.t += 1;
    assert.deepEqual((await req(agent.url, 'GET', PATH)).json, { locked: false, deferred: [] });
    await req(agent.url, 'POST', PATH, { ttlSec: 600, reason: 'x' });
    // The clock stepped back a week: the lock lasts at most its bound from now, not a week more.
    clock.t -= 7 * 86_400_000;
    assert.equal((await req(agent.url, 'GET', PATH)).json.until, new Date(clock.t + UPDATE_LOCK_MAX_SEC * 1000).toISOString());
    const del = await req(agent.url, 'DELETE', PATH);
    assert.deepEqual(del.json, { locked: false, deferred: [] });
    assert.equal((await req(agent.url, 'DELETE', PATH)).status, 200, 'removing no lock is fine');
    // 200 characters are 200 code points: 200 emoji (400 UTF-16 units) are accepted.
    const emoji = await req(agent.url, 'POST', PATH, { ttlSec: 60, reason: '\u{1F6A7}'.repeat(200) });
    assert.equal(emoji.status, 200, emoji.text);
    assert.equal(emoji.json.reason, '\u{1F6A7}'.repeat(200));
    await req(agent.url, 'DELETE', PATH);
  });
});
