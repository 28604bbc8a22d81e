// The first-run page's hub check (hub-check.ts) on real sockets: a port nothing listens on, a plain-HTTP
// server given as https://, another program on the port, a redirect, a server that accepts and never
// answers (the deadline), the app's quit during a check, and the bound on checks under way; Chromium's
// error words (net.fetch, which cannot run here) from a stand-in fetch. A real hub
// answering the check (a wrong token, a right one) is test/src/console/desktop-hub-check.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { AppError } from '@edgefleet/shared';
import { checkHub, HubChecker } from './hub-check.js';

async function listen(s: Server | ReturnType<typeof createNetServer>): Promise<string> {
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(s.address() as AddressInfo).port}`;
}

/** A server that accepts connections and never answers; close() drops them. */
async function silent(): Promise<{ host: string; close(): void }> {
  const sockets: Socket[] = [];
  const s = createNetServer((c) => { sockets.push(c); });
  const host = await listen(s);
  return { host, close: () => { for (const c of sockets) c.destroy(); s.close(); } };
}

async function refusal(p: Promise<void>): Promise<AppError> {
  const err = await p.then(() => assert.fail('the check passed'), (e: unknown) => e);
  assert.ok(err instanceof AppError, String(err));
  return err;
}

test('hub check: nothing listening, plain HTTP as https://, another program, a redirect: each says why', async () => {
  const free = createNetServer();
  const freeHost = await listen(free);
  await new Promise<void>((resolve) => free.close(() => resolve()));
  let e = await refusal(checkHub(`http://${freeHost}`, 'efa_12345678'));
  assert.equal(e.code, 'IO_ERROR');
  assert.match(e.message, new RegExp(`^cannot reach the hub at http://${freeHost}: fetch failed: connect ECONNREFUSED`));

  const web = createServer((req, res) => {
    if (req.url === '/moved/api/v1/models') { res.writeHead(200, { 'content-type': 'application/json' }); res.end('[]'); return; }
    if (req.headers.host?.startsWith('127.0.0.1') && req.url === '/api/v1/models' && req.headers.authorization === 'Bearer efa_redirect') {
      res.writeHead(301, { location: `http://${req.headers.host}/moved/api/v1/models` }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>router admin</title>');
  });
  const host = await listen(web);
  try {
    e = await refusal(checkHub(`https://${host}`, 'efa_12345678'));
    assert.equal(e.code, 'IO_ERROR');
    assert.match(e.message, /the server answered in plain HTTP, not TLS: expected an http:\/\/ URL/);
    e = await refusal(checkHub(`http://${host}`, 'efa_12345678'));
    assert.equal(e.message, `http://${host} answered GET /api/v1/models with HTTP 200 (text/html), not an edgefleet hub's answer: expected the hub's address in the form's "Hub address", e.g. http://127.0.0.1:8700 (edgefleet-hub run logs it as "http")`);
    e = await refusal(checkHub(`http://${host}`, 'efa_redirect'));
    assert.equal(e.code, 'BAD_REQUEST');
    assert.match(e.message, new RegExp(`answered GET /api/v1/models with a redirect \\(HTTP 301\\) to http://${host}/moved/api/v1/models: expected the hub's own address`));
  } finally {
    web.close();
  }
});

test('hub check: a server that never answers is given up at the deadline', async () => {
  const s = await silent();
  try {
    const t0 = Date.now();
    const e = await refusal(checkHub(`http://${s.host}`, 'efa_12345678', { timeoutMs: 300 }));
    assert.equal(e.code, 'TIMEOUT');
    assert.match(e.message, /did not answer GET \/api\/v1\/models within 0\.3 s: check the address and that the hub is running; nothing was saved$/);
    assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
  } finally {
    s.close();
  }
});

test('hub check: at most 2 under way; the app\'s quit ends them at once and refuses new ones', async () => {
  const s = await silent();
  try {
    const checker = new HubChecker({ timeoutMs: 60_000 });
    const first = refusal(checker.check(`http://${s.host}`, 'efa_12345678'));
    const second = refusal(checker.check(`http://${s.host}`, 'efa_12345678'));
    const third = await refusal(checker.check(`http://${s.host}`, 'efa_12345678'));
    assert.equal(third.code, 'RATE_LIMITED');
    assert.match(third.message, /^2 hub checks are under way: wait for their answer \(at most 60 s\)$/);
    const t0 = Date.now();
    checker.stop();
    for (const e of await Promise.all([first, second])) {
      assert.equal(e.code, 'NOT_READY');
      assert.match(e.message, /^the app is quitting: the hub at .* was not checked and nothing was saved$/);
    }
    assert.ok(Date.now() - t0 < 2000, `quit waited ${Date.now() - t0} ms`);
    assert.equal((await refusal(checker.check(`http://${s.host}`, 'efa_12345678'))).code, 'NOT_READY');
  } finally {
    s.close();
  }
});

test('hub check: Chromium\'s network errors (net.fetch in main) get what to do about TLS', async () => {
  const failing = (message: string) => () => Promise.reject(new Error(message));
  let e = await refusal(checkHub('https://hub.example:8700', 'efa_12345678', { fetch: failing('net::ERR_SSL_PROTOCOL_ERROR') }));
  assert.equal(e.message, 'cannot reach the hub at https://hub.example:8700: net::ERR_SSL_PROTOCOL_ERROR (no TLS handshake: if the hub serves plain HTTP, expected an http:// address)');
  e = await refusal(checkHub('https://hub.example:8700', 'efa_12345678', { fetch: failing('net::ERR_CERT_AUTHORITY_INVALID') }));
  assert.match(e.message, /ERR_CERT_AUTHORITY_INVALID \(the hub's certificate is not trusted by this system/);
  e = await refusal(checkHub('http://hub.example:8700', 'efa_12345678', { fetch: failing('net::ERR_NAME_NOT_RESOLVED') }));
  assert.equal(e.message, 'cannot reach the hub at http://hub.example:8700: net::ERR_NAME_NOT_RESOLVED');
});
