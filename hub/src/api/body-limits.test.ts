// Body caps on the hub's routes (issue 9, docs/security.md): a body over the
// route's cap is refused with PAYLOAD_TOO_LARGE before it is read (a declared
// Content-Length, or counted while a chunked body streams in), over a real
// socket to a real node server so "before it is read" is observable: the 413
// arrives while most of the body was never sent. Deeply nested JSON, in a
// request body or in a pushed bundle's manifest, is a 4xx with a code.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { buildMultiBundle, makeKeys, makeTrust, writeDeepManifestBundle, type Keys } from '@edgefleet/examples';
import { type TrustBody } from '@edgefleet/shared';
import { bundleVerifier } from '../registry.js';
import { makeHarness, type Harness } from '../testing/harness.js';
import { PUBLIC_BODY_BYTES } from './http.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('body-limits', () => {
  let dir: string;
  let keys: Keys;
  let trust: TrustBody;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ef-caps-'));
    keys = makeKeys(join(dir, 'keys'));
    trust = makeTrust(dir, keys).body;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function listen(h: Harness): Promise<{ port: number; close(): Promise<void> }> {
    const server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: h.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    return {
      port: (server.address() as AddressInfo).port,
      close: () => new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeAllConnections(): void }).closeAllConnections();
      }),
    };
  }

  /** Sends `head` and then `chunks` one by one until a response arrives; resolves with it and the bytes sent. */
  function exchange(port: number, head: string, chunks: Buffer[]): Promise<{ response: string; sent: number }> {
    return new Promise((resolve, reject) => {
      const sock = connect(port, '127.0.0.1');
      let response = '';
      let sent = 0;
      let i = 0;
      const next = (): void => {
        if (response !== '' || i >= chunks.length) return;
        const c = chunks[i++]!;
        sent += c.length;
        sock.write(c, () => setImmediate(next));
      };
      sock.on('connect', () => sock.write(head, next));
      sock.on('data', (d) => {
        response += d.toString('latin1');
        if (response.includes('\r\n\r\n') && /\}\s*$/.test(response)) {
          sock.destroy();
          resolve({ response, sent });
        }
      });
      sock.on('error', (err) => { if (response === '') reject(err); });
      sock.on('close', () => resolve({ response, sent }));
    });
  }

  test('POST /enroll with a 300 MB Content-Length: 413 PAYLOAD_TOO_LARGE after a few KiB, nothing more read', { timeout: 20_000 }, async () => {
    const h = makeHarness();
    const srv = await listen(h);
    try {
      const declared = 300 * 1024 * 1024;
      const head = `POST /api/v1/enroll HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${declared}\r\n\r\n`;
      // 1 MiB at most is offered in 4 KiB pieces; the answer must come first.
      const chunks = Array.from({ length: 256 }, () => Buffer.alloc(4096, 0x20));
      const { response, sent } = await exchange(srv.port, head, chunks);
      assert.match(response, /^HTTP\/1\.1 413/);
      assert.match(response, /"code":"PAYLOAD_TOO_LARGE"/);
      assert.match(response, new RegExp(`request body of ${declared} bytes is too large: expected at most ${PUBLIC_BODY_BYTES} bytes`));
      assert.ok(sent < 1024 * 1024, `the 413 came before the client could send 1 MiB (sent ${sent})`);
    } finally {
      await srv.close();
      h.close();
    }
  });

  test('POST /enroll with a chunked body over the cap: 413 while the body is still streaming', { timeout: 20_000 }, async () => {
    const h = makeHarness();
    const srv = await listen(h);
    try {
      const head = 'POST /api/v1/enroll HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n';
      const piece = Buffer.alloc(4096, 0x20);
      const chunk = Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]);
      const { response, sent } = await exchange(srv.port, head, Array.from({ length: 256 }, () => chunk));
      assert.match(response, /^HTTP\/1\.1 413/);
      assert.match(response, /"code":"PAYLOAD_TOO_LARGE"/);
      assert.match(response, new RegExp(`expected at most ${PUBLIC_BODY_BYTES} bytes`));
      assert.ok(sent < 1024 * 1024, `the 413 came before the end of the body (sent ${sent})`);
    } finally {
      await srv.close();
      h.close();
    }
  });

  test('body caps come from the route table: public /enroll small, operator JSON routes larger; no Content-Length is counted too', async () => {
    const h = makeHarness();
    try {
      const pad = 'x'.repeat(PUBLIC_BODY_BYTES);
      // app.request sends no Content-Length: the cap holds by counting.
      const r = await h.req('POST', '/api/v1/enroll', { token: null, json: { token: 'eft_x', facts: { note: pad } } });
      assert.equal(r.status, 413);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'PAYLOAD_TOO_LARGE');
      // The same size is fine for an operator route (1 MiB); it fails later, on the schema.
      const t = await h.req('POST', '/api/v1/enrollment-tokens', { role: 'operator', json: { maxUses: 1, ttlSec: 60, note: pad } });
      assert.notEqual(t.status, 413, await t.clone().text());
      const big = await h.req('POST', '/api/v1/enrollment-tokens', { role: 'operator', json: { note: 'x'.repeat(1024 * 1024) } });
      assert.equal(big.status, 413);
    } finally {
      h.close();
    }
  });

  test('deeply nested JSON in a request body: 400 BAD_REQUEST naming the nesting bound', async () => {
    const h = makeHarness();
    try {
      const deep = `{"maxUses":1,"ttlSec":60,"tags":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
      const r = await h.req('POST', '/api/v1/enrollment-tokens', { role: 'operator', body: deep, headers: { 'content-type': 'application/json' } });
      assert.equal(r.status, 400);
      const e = ((await r.json()) as { error: { code: string; message: string } }).error;
      assert.equal(e.code, 'BAD_REQUEST');
      assert.match(e.message, /enrollment token request: body nests deeper than 64 levels/);
    } finally {
      h.close();
    }
  });

  test('a pushed bundle whose manifest nests 200k levels: 422 BUNDLE_INVALID, nothing stored', async () => {
    const h = makeHarness({
      keys,
      verifyBundle: bundleVerifier(() => trust),
    });
    try {
      const b = await buildMultiBundle({ dir: join(dir, 'deep'), keys, version: '1.0.0' });
      const deep = join(dir, 'deep.efb');
      await writeDeepManifestBundle(b.path, deep);
      const r = await h.req('POST', '/api/v1/models', { role: 'operator', body: new Uint8Array(readFileSync(deep)), headers: { 'content-type': 'application/octet-stream' } });
      assert.equal(r.status, 422, await r.clone().text());
      const e = ((await r.json()) as { error: { code: string; message: string } }).error;
      assert.equal(e.code, 'BUNDLE_INVALID');
      assert.match(e.message, /manifest.json nests deeper than 64 levels/);
      assert.equal(h.store.models.list().length, 0);
    } finally {
      h.close();
    }
  });
});
