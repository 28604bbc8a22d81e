// hubUnreachable and tlsHint (unreachable.ts) on real failures: fetch to an HTTPS server whose private CA
// this process does not trust, a TLS connection to a name the certificate does not carry, and a port
// nothing listens on. The CA and certificate are made with openssl, as docs/operations.md "TLS" does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { hubUnreachable, tlsHint } from './unreachable.js';

const openssl = spawnSync('openssl', ['version']).status === 0;

test('an untrusted or misnamed certificate is named with what to do; a refused connection says so', { skip: openssl ? false : 'openssl not installed' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-unreachable-'));
  const ssl = (...args: string[]) => assert.equal(spawnSync('openssl', args, { cwd: dir }).status, 0, `openssl ${args.join(' ')}`);
  const server = createHttpsServer((_req, res) => res.end('{}'));
  try {
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=test CA');
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'hub.csr', '-subj', '/CN=hub');
    writeFileSync(join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1\n');
    ssl('x509', '-req', '-in', 'hub.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'cert.pem', '-days', '2', '-extfile', 'ext');
    const read = (f: string) => readFileSync(join(dir, f));
    server.setSecureContext({ cert: read('cert.pem'), key: read('key.pem') });
    const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

    const origin = `https://127.0.0.1:${port}`;
    const fetchError = await fetch(`${origin}/api/v1/health`).then(() => assert.fail('fetched'), (e: unknown) => e);
    const err = hubUnreachable(origin, fetchError);
    assert.equal(err.code, 'IO_ERROR');
    assert.equal(err.message, `cannot reach the hub at ${origin}: fetch failed: unable to verify the first certificate (the server's certificate is not signed by a CA this program trusts: `
      + 'for a private CA set NODE_EXTRA_CA_CERTS=/path/to/ca.pem in its environment (docs/operations.md "TLS"))');

    // Trusted, but reached by a name the certificate does not carry.
    const misnamed = await new Promise<Error & { code?: string }>((resolve, reject) => {
      const c = connect({ port, host: 'localhost', ca: read('ca.pem') });
      c.once('secureConnect', () => { c.destroy(); reject(new Error('connected')); });
      c.once('error', resolve);
    });
    assert.match(tlsHint(misnamed) ?? '', /does not name the host in the URL/);

    const free = await new Promise<number>((resolve) => {
      const s = createNetServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const refused = await fetch(`http://127.0.0.1:${free}/`).then(() => assert.fail('fetched'), (e: unknown) => e);
    assert.match(hubUnreachable(`http://127.0.0.1:${free}`, refused).message, new RegExp(`^cannot reach the hub at http://127\\.0\\.0\\.1:${free}: fetch failed: connect ECONNREFUSED 127\\.0\\.0\\.1:${free} \\(nothing listens there: expected a running hub's address, e\\.g\\. http://127\\.0\\.0\\.1:8700 \\(edgefleet-hub run logs it as "http"\\)\\)$`));
    const unknown = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('getaddrinfo ENOTFOUND hub.invalid'), { code: 'ENOTFOUND' }) });
    assert.equal(hubUnreachable('http://hub.invalid:8700', unknown).message, 'cannot reach the hub at http://hub.invalid:8700: fetch failed: getaddrinfo ENOTFOUND hub.invalid (the host name does not resolve: expected a running hub\'s address, e.g. http://127.0.0.1:8700 (edgefleet-hub run logs it as "http"))');
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an https:// URL of a server that speaks plain HTTP (the hub does) says so, on one line', async () => {
  const server = createHttpServer((_req, res) => res.end('{}'));
  try {
    const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
    const origin = `https://127.0.0.1:${port}`;
    const fetchError = await fetch(`${origin}/api/v1/health`).then(() => assert.fail('fetched'), (e: unknown) => e);
    const err = hubUnreachable(origin, fetchError);
    assert.equal(err.code, 'IO_ERROR');
    assert.equal(err.message, `cannot reach the hub at ${origin}: fetch failed: no TLS handshake (the server answered in plain HTTP, not TLS: `
      + 'expected an http:// URL for it, or the https:// address of its TLS proxy)');
    assert.ok(!err.message.includes('\n'), err.message);
  } finally {
    server.close();
  }
});

test('a port fetch refuses to connect to (a hub run with --http-port 6665 serves, but no CLI reaches it) is named with what to do', async () => {
  // fetch refuses the Fetch standard's blocked ports before connecting: nothing is sent, so nothing needs to listen.
  for (const origin of ['http://127.0.0.1:6665', 'http://127.0.0.1:6000']) {
    const fetchError = await fetch(`${origin}/api/v1/health`).then(() => assert.fail('fetched'), (e: unknown) => e);
    const err = hubUnreachable(origin, fetchError);
    assert.equal(err.code, 'IO_ERROR');
    const port = new URL(origin).port;
    assert.equal(err.message, `cannot reach the hub at ${origin}: fetch failed: bad port (port ${port} is one that fetch, as browsers, `
      + 'refuses to connect to (the Fetch standard\'s blocked ports): run the hub on another --http-port, e.g. 8700, or put a proxy on another port in front of it)');
  }
});
