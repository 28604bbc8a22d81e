// The optional bearer token of the local API: required from clients that are not on the loopback
// interface, never from loopback ones. Tests may bind 127.0.0.1 only, so the server below is real
// but presents each request with the remote address named in a test header (the handler's decision
// is what is under test, not the kernel's).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApiHandler } from './handler.js';
import { bearerCheck } from './guards.js';
import { ApiMetrics } from './metrics.js';
import { ModelRuntime } from '../runtime/runtime.js';

const TOKEN = 'local-api-token-123';

async function serve(token: string | undefined): Promise<{ server: Server; base: string }> {
  const handler = createApiHandler({
    runtime: new ModelRuntime({ overrides: {}, perModel: 1, queue: 0 }),
    metrics: new ApiMetrics(), maxBodyBytes: 1024, maxInflightBodyBytes: 1 << 20, allowedHosts: [], allowNonFinite: false, token, isReady: () => true,
  });
  const server = createServer((req, res) => {
    const fake = req.headers['x-test-remote'];
    if (typeof fake === 'string') Object.defineProperty(req.socket, 'remoteAddress', { value: fake, configurable: true });
    handler(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function get(base: string, remote: string | null, auth?: string) {
  const headers: Record<string, string> = { connection: 'close' };
  if (remote) headers['x-test-remote'] = remote;
  if (auth) headers.authorization = auth;
  const res = await fetch(`${base}/v2/health/live`, { headers });
  return { status: res.status, body: (await res.json()) as { error?: string; live?: boolean }, www: res.headers.get('www-authenticate') };
}

describe('local API bearer token', () => {
  let withToken: { server: Server; base: string };
  let open: { server: Server; base: string };
  before(async () => {
    withToken = await serve(TOKEN);
    open = await serve(undefined);
  });
  after(() => {
    withToken.server.close();
    open.server.close();
  });

  it('refuses a remote client without the token, naming what is expected', async () => {
    const r = await get(withToken.base, '10.1.2.3');
    assert.equal(r.status, 401);
    assert.equal(r.www, 'Bearer');
    assert.match(r.body.error!, /missing or wrong bearer token: expected "Authorization: Bearer <token>" from a non-loopback client/);
  });

  it('refuses a remote client with a wrong token or scheme', async () => {
    assert.equal((await get(withToken.base, '192.168.0.7', 'Bearer wrong-token-xyz')).status, 401);
    assert.equal((await get(withToken.base, 'fe80::1', `Basic ${TOKEN}`)).status, 401);
    assert.equal((await get(withToken.base, '::ffff:10.0.0.9', `Bearer ${TOKEN}x`)).status, 401);
  });

  it('refuses a remote client with a token shorter or longer than the right one, or a prefix of it', async () => {
    for (const auth of ['Bearer ', 'Bearer l', `Bearer ${TOKEN.slice(0, -1)}`, `Bearer ${TOKEN}${TOKEN}`, `Bearer ${'x'.repeat(4000)}`, `bearer ${TOKEN}`, `Bearer  ${TOKEN}`]) {
      const r = await get(withToken.base, '10.1.2.3', auth);
      assert.deepEqual([r.status, r.www], [401, 'Bearer'], `${auth.slice(0, 40)} (${auth.length} chars)`);
    }
  });

  it('serves a remote client with the right token', async () => {
    const r = await get(withToken.base, '10.1.2.3', `Bearer ${TOKEN}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { live: true });
  });

  it('never asks loopback clients (IPv4, IPv6, IPv4-mapped) for the token', async () => {
    for (const remote of [null, '127.0.0.1', '127.0.0.53', '::1', '::ffff:127.0.0.1']) {
      assert.equal((await get(withToken.base, remote)).status, 200, `remote ${remote ?? 'real loopback'}`);
    }
  });

  it('without a configured token, remote clients are served', async () => {
    assert.equal((await get(open.base, '10.1.2.3')).status, 200);
  });
});

describe('bearerCheck (REST and gRPC)', () => {
  it('takes only the exact "Bearer <token>", whatever the length of what is sent', () => {
    const check = bearerCheck(TOKEN)!;
    assert.equal(check(`Bearer ${TOKEN}`), true);
    for (const header of ['', 'Bearer', `Bearer ${TOKEN} `, `Bearer ${TOKEN.toUpperCase()}`, `Bearer ${TOKEN.slice(1)}`, `${TOKEN}`, `Bearer ${TOKEN}\u0000`, 'é'.repeat(100)]) {
      assert.equal(check(header), false, JSON.stringify(header.slice(0, 40)));
    }
    for (const other of [undefined, null, 42, [`Bearer ${TOKEN}`], Buffer.from(`Bearer ${TOKEN}`)]) assert.equal(check(other), false, String(other));
  });

  it('is undefined without a token: nothing to check', () => {
    assert.equal(bearerCheck(undefined), undefined);
  });
});
