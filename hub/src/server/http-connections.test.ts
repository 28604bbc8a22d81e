// The hub's HTTP connections capped per remote address and in all (docs/hub.md "HTTP connections"),
// on the real server `listen` starts, over real sockets from several loopback addresses: held slow
// requests take an address's share; the next one gets a 503 naming the limit and is never served;
// another address is served; past the total a connection is closed on accept; a closed connection
// gives its place back.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { Server } from 'node:http';
import { waitFor } from '@edgefleet/examples';
import type { HubConfig } from '../config.js';
import { listen } from './wiring.js';
import { Metrics } from '../metrics.js';
import { RecordingLogger } from '../mqtt/testing/devices.js';
import { connectionRefusals } from './http-connections.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('http-connections', () => {
  let server: Server;
  let port: number;
  let served = 0;
  const metrics = new Metrics();
  const logger = new RecordingLogger();
  const refusedBy = (limit: string) => metrics.value('edgefleet_hub_http_connections_refused_total', { limit });
  const held: Socket[] = [];

  before(async () => {
    const app = { fetch: async (req: Request) => { served++; await req.arrayBuffer(); return new Response('ok'); } } as unknown as Parameters<typeof listen>[0];
    server = (await listen(app, { httpPort: 0, host: '127.0.0.1', http: { maxConnections: 5, maxConnectionsPerAddress: 3 } } as HubConfig, connectionRefusals(metrics, logger))) as Server;
    port = (server.address() as { port: number }).port;
  });
  after(async () => {
    for (const s of held) s.destroy();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const open = () => new Promise<number>((resolve) => server.getConnections((_e, n) => resolve(n)));

  /** A connection from `from` sending a request whose body never ends (a slow client), kept open. */
  async function hold(from: string): Promise<void> {
    const s = connect({ port, host: '127.0.0.1', localAddress: from });
    s.on('error', () => undefined);
    held.push(s);
    await once(s, 'connect');
    s.write('POST /api/v1/enroll HTTP/1.1\r\nhost: hub\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{');
  }

  /** A whole GET from `from`: the response text, or '' when the connection closed without one. */
  function get(from: string): Promise<string> {
    return new Promise((resolve) => {
      const s = connect({ port, host: '127.0.0.1', localAddress: from });
      let text = '';
      s.on('error', () => undefined);
      s.on('data', (d) => (text += d.toString()));
      s.on('close', () => resolve(text));
      s.on('connect', () => s.write('GET /healthz HTTP/1.1\r\nhost: hub\r\nconnection: close\r\n\r\n'));
    });
  }

  test('an address past its share gets a 503 naming the limit and is not served; others are', async () => {
    for (let i = 0; i < 3; i++) await hold('127.0.0.1');
    await waitFor('3 slow requests held', () => served === 3 || undefined);
    const refused = await get('127.0.0.1');
    assert.match(refused, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
    assert.match(refused, /retry-after: 1\r\n/);
    const body = JSON.parse(refused.slice(refused.indexOf('\r\n\r\n') + 4)) as { error: { code: string; message: string } };
    assert.deepEqual(body.error, { code: 'RATE_LIMITED', message: 'too many open connections from 127.0.0.1: at most 3 (http.maxConnectionsPerAddress); close idle ones or retry later' });
    assert.equal(served, 3, 'the refused connection\'s request was never served');
    // Counted by the limit that refused it, and logged (at most once a minute).
    assert.equal(refusedBy('per_address'), 1);
    await get('127.0.0.1');
    assert.equal(refusedBy('per_address'), 2);
    assert.deepEqual(logger.lines.filter((e) => e.level === 'warn').map((e) => [e.msg, (e.obj as { limit?: string }).limit, (e.obj as { address?: string }).address]), [['HTTP connections refused: one address holds http.maxConnectionsPerAddress', 'per_address', '127.0.0.1']]);
    assert.match(await get('127.0.0.2'), /^HTTP\/1\.1 200 OK\r\n[\s\S]*ok$/);
  });

  test('past maxConnections a connection is closed on accept; a closed one gives its place back', async () => {
    await hold('127.0.0.2');
    await hold('127.0.0.2');
    await waitFor('5 connections open', async () => (await open()) === 5 || undefined);
    assert.equal(await get('127.0.0.3'), '', 'closed without an answer');
    await waitFor('the dropped connection counted', () => refusedBy('total') === 1 || undefined);
    held.shift()!.destroy(); // one of 127.0.0.1's
    await waitFor('4 connections open', async () => (await open()) === 4 || undefined);
    assert.match(await get('127.0.0.1'), /^HTTP\/1\.1 200 OK\r\n/);
  });
});
