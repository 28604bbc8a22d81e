// Abuse resistance of the local API on an in-process agent with a real model
// (issue 9, docs/security.md): only loopback or configured Host names (DNS
// rebinding), only application/json POSTs, no CORS; bodies refused before they
// are read (oversized Content-Length, full queue, the in-flight body budget);
// bad percent-encoding, ragged tensors and a deeply nested manifest are bad
// input with a code, not a 500.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { writeDeepManifestBundle } from '@edgefleet/examples';
import { waitFor } from '@edgefleet/examples/fleet';
import type { Agent } from '../agent.js';
import { makeKit, mlpBundle, req, row, startAgent, type Kit } from '../testing.js';
import { openRaw, parseReply, type RawConnection } from './raw-client.js';

const MAX_BODY = 64 * 1024;
const WAIT = { timeoutMs: 8_000, intervalMs: 20 };

/** A request with any Host and headers (fetch does not let a test set Host). */
function call(base: string, method: string, path: string, headers: Record<string, string>, body?: string) {
  const u = new URL(base);
  return new Promise<{ status: number; headers: Record<string, unknown>; json: { error?: string; code?: string } }>((resolve, reject) => {
    const r = request({ host: u.hostname, port: u.port, path, method, headers: { connection: 'close', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => {
        let json = {};
        try { json = JSON.parse(text) as object; } catch { /* not JSON: the assertions on json say so */ }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
      });
    });
    r.on('error', reject);
    r.end(body);
  });
}

describe('local API abuse resistance', () => {
  let kit: Kit;
  let agent: Agent;
  let base: string;
  let port: number;
  const conns: RawConnection[] = [];

  before(async () => {
    kit = makeKit();
    const b = await mlpBundle(kit, '1.0.0');
    agent = await startAgent(join(kit.dir, 'data'), {
      api: { host: '127.0.0.1', port: 0, maxBodyBytes: MAX_BODY, maxInflightBodyBytes: 3 * MAX_BODY, allowedHosts: ['box.lan'] },
      concurrency: { perModel: 1, queue: 2 },
    });
    agent.trust.put(kit.trust.doc, 1);
    await agent.manager.install(b.path);
    base = agent.url;
    port = Number(new URL(base).port);
  });
  after(async () => {
    for (const c of conns) c.destroy();
    await agent.stop();
    kit.cleanup();
  });
  const open = async () => {
    const c = await openRaw(port);
    conns.push(c);
    return c;
  };
  const inferHead = (length: number, extra = '') => `POST /v2/models/mlp/infer HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n${extra}\r\n`;

  it('refuses a Host that is not loopback or configured (DNS rebinding) with 403 FORBIDDEN', async () => {
    for (const host of ['evil.example', 'evil.example:8701', '127.0.0.1.evil.example', '10.0.0.5:80']) {
      const r = await call(base, 'GET', '/v2/health/live', { host });
      assert.equal(r.status, 403, host);
      assert.equal(r.json.code, 'FORBIDDEN');
      assert.match(r.json.error!, new RegExp(`Host "${host.replace(/\./g, '\\.')}" is not accepted: expected 127\\.0\\.0\\.1, localhost, \\[::1\\] or one of box\\.lan`));
    }
    const post = await call(base, 'POST', '/v2/models/mlp/infer', { host: 'rebound.example', 'content-type': 'application/json' }, JSON.stringify(row([1, 2, 3, 4])));
    assert.equal(post.status, 403);
    for (const host of ['127.0.0.1', `127.0.0.1:${port}`, `localhost:${port}`, 'LOCALHOST', `[::1]:${port}`, 'box.lan:8701']) {
      assert.equal((await call(base, 'GET', '/v2/health/live', { host })).status, 200, host);
    }
  });

  it('refuses a POST that is not application/json with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const body = JSON.stringify(row([1, 2, 3, 4]));
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const r = await call(base, 'POST', '/v2/models/mlp/infer', { 'content-type': type }, body);
      assert.equal(r.status, 415, type);
      assert.equal(r.json.code, 'UNSUPPORTED_MEDIA_TYPE');
      assert.match(r.json.error!, new RegExp(`Content-Type "${type}" is not accepted: expected "application/json"`));
    }
    assert.equal((await call(base, 'POST', '/v2/models/mlp/infer', {}, body)).status, 415, 'no Content-Type');
    assert.equal((await call(base, 'POST', '/v2/models/mlp/infer', { 'content-type': 'application/json; charset=utf-8' }, body)).status, 200);
  });

  it('tells a body sent as curl -d sends it (a form), or with no Content-Type, the types accepted and the header to add', async () => {
    const body = JSON.stringify(row([1, 2, 3, 4]));
    const hint = " (curl -d sends application/x-www-form-urlencoded: add -H 'content-type: application/json')";
    const infer = 'expected "application/json", or "application/octet-stream" with Inference-Header-Content-Length (binary tensor data)';
    const cases: Array<[string, Record<string, string>, string]> = [
      ['/v2/models/mlp/infer', { 'content-type': 'application/x-www-form-urlencoded' }, `Content-Type "application/x-www-form-urlencoded" is not accepted: ${infer}${hint}`],
      ['/v2/models/mlp/infer', { 'content-type': 'Application/X-WWW-Form-Urlencoded; charset=utf-8' }, `Content-Type "Application/X-WWW-Form-Urlencoded; charset=utf-8" is not accepted: ${infer}${hint}`],
      // No type at all (curl -X POST without -d, a client that sets none): named so, not as Content-Type "", nor blamed on curl -d.
      ['/v2/models/mlp/infer', {}, `a POST with no Content-Type is not accepted: ${infer} (add -H 'content-type: application/json')`],
      ['/edgefleet/v1/feedback', {}, `a POST with no Content-Type is not accepted: expected "application/json" (add -H 'content-type: application/json')`],
      ['/v2/models/mlp/infer', { 'content-type': 'text/plain' }, `Content-Type "text/plain" is not accepted: ${infer}`],
      ['/v2/repository/index', { 'content-type': 'application/x-www-form-urlencoded' }, `Content-Type "application/x-www-form-urlencoded" is not accepted: expected "application/json" (or no body)${hint}`],
      ['/edgefleet/v1/update-lock', { 'content-type': 'application/x-www-form-urlencoded' }, `Content-Type "application/x-www-form-urlencoded" is not accepted: expected "application/json"${hint}`],
    ];
    for (const [path, headers, error] of cases) {
      const r = await call(base, 'POST', path, headers, body);
      assert.deepEqual([r.status, r.json], [415, { error, code: 'UNSUPPORTED_MEDIA_TYPE' }], `${path} ${JSON.stringify(headers)}`);
    }
  });

  it('refuses a compressed body (any Content-Encoding) with 415 naming the encoding, not 400 "not JSON"', async () => {
    const { gzipSync } = await import('node:zlib');
    const bodies: Array<[string, string]> = [
      ['/v2/models/mlp/infer', JSON.stringify(row([1, 2, 3, 4]))],
      ['/edgefleet/v1/update-lock', JSON.stringify({ ttlSec: 60, reason: 'x' })],
      ['/edgefleet/v1/feedback', JSON.stringify({ items: [{ id: 'a', label: 1 }] })],
    ];
    for (const [path, text] of bodies) {
      for (const encoding of ['gzip', 'br', 'deflate, gzip']) {
        const body = gzipSync(text).toString('latin1');
        const r = await call(base, 'POST', path, { 'content-type': 'application/json', 'content-encoding': encoding }, body);
        assert.equal(r.status, 415, `${path} ${encoding}`);
        assert.equal(r.json.code, 'UNSUPPORTED_MEDIA_TYPE');
        assert.equal(r.json.error, `Content-Encoding "${encoding}" is not accepted: expected the body sent unencoded (no Content-Encoding, or "identity")`);
      }
    }
    const identity = await call(base, 'POST', '/v2/models/mlp/infer', { 'content-type': 'application/json', 'content-encoding': 'identity' }, JSON.stringify(row([1, 2, 3, 4])));
    assert.equal(identity.status, 200);
  });

  it('sends no CORS headers and does not answer a preflight permissively', async () => {
    const pre = await call(base, 'OPTIONS', '/v2/models/mlp/infer', { origin: 'http://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' });
    assert.ok(pre.status >= 400, `preflight status ${pre.status}`);
    assert.equal(pre.headers['access-control-allow-origin'], undefined);
    const get = await call(base, 'GET', '/v2/models/mlp', { origin: 'http://evil.example' });
    assert.equal(get.status, 200);
    assert.equal(get.headers['access-control-allow-origin'], undefined);
  });

  it('answers bad percent-encoding in a path with 400 BAD_REQUEST', async () => {
    for (const [method, path] of [['GET', '/v2/models/%E0%A4%A'], ['POST', '/v2/models/%ZZ/infer'], ['GET', '/v2/models/mlp/versions/%C3/ready']] as const) {
      const r = await call(base, method, path, { 'content-type': 'application/json' }, method === 'POST' ? '{}' : undefined);
      assert.equal(r.status, 400, path);
      assert.equal(r.json.code, 'BAD_REQUEST');
      assert.match(r.json.error!, /in the path is not valid percent-encoding/);
    }
  });

  it('refuses ragged nested tensor data, naming the input, even when the value count fits the shape', async () => {
    const cases: Array<[number[], unknown, RegExp]> = [
      [[1, 4], [[1, 2], [3, 4]], /input "input": data has 2 items but shape \[1, 4\] needs 1 there/],
      [[2, 4], [[1, 2, 3, 4, 5], [6, 7, 8]], /input "input": data\[0\] has 5 items but shape \[2, 4\] needs 4 there/],
      [[2, 4], [[1, 2, 3, 4], 5], /input "input": data\[1\] is 5 but shape \[2, 4\] needs an array of 4 items there/],
      [[1, 4], [[1, 2, 3, [4]]], /input "input": data\[0\]\[3\] is an array but shape \[1, 4\] has 2 levels/],
    ];
    for (const [shape, data, re] of cases) {
      const r = await req(base, 'POST', '/v2/models/mlp/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape, data }] });
      assert.equal(r.status, 400, JSON.stringify(data));
      assert.equal(r.json.code, 'INVALID_INPUT');
      assert.match(r.json.error, re);
    }
    const ok = await req(base, 'POST', '/v2/models/mlp/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4], data: [[1, 2, 3, 4], [5, 6, 7, 8]] }] });
    assert.equal(ok.status, 200, ok.text);
  });

  it('answers a Content-Length over the limit with 413 before the body is sent', async () => {
    const c = await open();
    await c.write(inferHead(100 * 1024 * 1024));
    await c.offer(Array.from({ length: 256 }, () => Buffer.alloc(4096, 0x20)));
    const reply = await waitFor('a 413 reply', () => parseReply(c.received()), WAIT);
    assert.equal(reply.status, 413);
    assert.equal((reply.json as { code: string }).code, 'PAYLOAD_TOO_LARGE');
    assert.match(reply.headers, /connection: close/);
    assert.ok(c.sent() < 1024 * 1024, `replied before the client could send 1 MiB (sent ${c.sent()})`);
  });

  it('sheds a request to a model with a full queue with 503 before reading its body', async () => {
    const limiter = agent.runtime.limiterFor('mlp')!;
    assert.equal(limiter.acquire(), undefined, 'the one slot is free');
    const waiting = [limiter.acquire(), limiter.acquire()]; // perModel 1, queue 2: now full
    assert.equal(limiter.full, true);
    try {
      const c = await open();
      await c.write(inferHead(MAX_BODY));
      await c.offer(Array.from({ length: 16 }, () => Buffer.alloc(1024, 0x20)));
      const reply = await waitFor('a 503 reply', () => parseReply(c.received()), WAIT);
      assert.equal(reply.status, 503);
      assert.equal((reply.json as { code: string }).code, 'OVERLOADED');
      assert.match(reply.headers, /retry-after: 1/);
      assert.match(reply.headers, /connection: close/);
      assert.ok(c.sent() < MAX_BODY, `shed before the body was sent (sent ${c.sent()} of ${MAX_BODY})`);
    } finally {
      limiter.release();
      await waiting[0];
      limiter.release();
      await waiting[1];
      limiter.release();
    }
    assert.equal((await req(base, 'POST', '/v2/models/mlp/infer', row([1, 2, 3, 4]))).status, 200);
  });

  it('bounds the bytes of bodies being read at once: 503 past maxInflightBodyBytes, served again once they go', async () => {
    const slow: RawConnection[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await open();
      await c.write(inferHead(MAX_BODY));
      await c.write('{"inputs":');
      slow.push(c);
    }
    const body = JSON.stringify(row([1, 2, 3, 4]));
    // The three reservations arrive asynchronously: wait until they are all held (a request served meanwhile
    // holds its parsed tensors in the same budget while it runs, and could take the third one's place).
    await waitFor('3 x 64 KiB of bodies being read', async () => (await req(base, 'GET', '/metrics')).text.includes(`edgefleet_agent_request_bytes{kind="bodies"} ${3 * MAX_BODY}\n`) || undefined, WAIT);
    const refused = await req(base, 'POST', '/v2/models/mlp/infer', body);
    assert.equal(refused.status, 503, refused.text);
    assert.equal(refused.json.code, 'OVERLOADED');
    assert.equal(refused.json.error, `the agent holds ${3 * MAX_BODY} bytes of requests (${3 * MAX_BODY} of bodies being read, 0 of parsed tensors waiting or running; limit ${3 * MAX_BODY}, api.maxInflightBodyBytes); retry later`);
    assert.equal(slow.filter((c) => parseReply(c.received())).length, 0, 'the slow bodies are still being read');
    slow[0]!.destroy();
    await waitFor('the reservation of a closed connection to be released', async () => (await req(base, 'POST', '/v2/models/mlp/infer', body)).status === 200, WAIT);
  });

  it('refuses to install a bundle whose manifest nests 200k levels, with BUNDLE_INVALID', async () => {
    const b = await mlpBundle(kit, '2.0.0');
    const deep = join(kit.dir, 'deep.efb');
    await writeDeepManifestBundle(b.path, deep);
    await assert.rejects(agent.manager.install(deep), (e: { code?: string; message: string }) => e.code === 'BUNDLE_INVALID' && /manifest.json nests deeper than 64 levels/.test(e.message));
    assert.equal(agent.runtime.active('mlp')?.version, '1.0.0');
  });
});
