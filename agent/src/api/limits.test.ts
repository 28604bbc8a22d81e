// The API server's per-client bounds (issue 9, docs/security.md) on a real
// server on 127.0.0.1 port 0 with small limits: connections over the cap wait
// for a slot, then are answered 503 (past the waiting ones and the spares, closed on accept), slow headers get a 408 TIMEOUT, a drip-fed body is cut off
// at the request timeout, and stop() closes a drip-fed connection after its
// grace period instead of waiting for the client.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { maxHeaderSize, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@edgefleet/examples/fleet';
import { ApiServer, type ApiServerOptions } from './server.js';
import { openRaw, parseReply, type RawConnection } from './raw-client.js';
import { ConnectionCaps, SPARE_CONNECTIONS, WAITING_CONNECTIONS } from './connection-cap.js';

/** Reads the whole body, then answers with its length. */
function echoLength(req: IncomingMessage, res: ServerResponse): void {
  let n = 0;
  req.on('data', (c: Buffer) => { n += c.length; });
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ bytes: n }));
  });
}

const BASE: ApiServerOptions = {
  host: '127.0.0.1', port: 0, maxConnections: 64, headersTimeoutMs: 10_000, requestTimeoutMs: 20_000, keepAliveTimeoutMs: 5_000, writeTimeoutMs: 30_000, stopGraceMs: 2_000,
};
const WAIT = { timeoutMs: 8_000, intervalMs: 20 };

describe('API server limits', () => {
  let server: ApiServer | undefined;
  let caps = new ConnectionCaps();
  /** The value of a series of the caps' on /metrics, e.g. `edgefleet_agent_api_connections_waiting{listener="api.port"}`. */
  const metric = (series: string) => Number(caps.metrics().split('\n').find((l) => l.startsWith(`${series} `))?.slice(series.length + 1));
  const conns: RawConnection[] = [];
  afterEach(async () => {
    for (const c of conns.splice(0)) c.destroy();
    await server?.stop();
    server = undefined;
  });
  const start = async (over: Partial<ApiServerOptions>, handler = echoLength) => {
    caps = new ConnectionCaps();
    server = new ApiServer(handler, { ...BASE, ...over }, undefined, undefined, caps);
    await server.start();
    return Number(new URL(server.url).port);
  };
  const open = async (port: number) => {
    const c = await openRaw(port);
    conns.push(c);
    return c;
  };

  /** `n` connections within the cap, each with a request in progress (its body not all sent): held open. */
  const busy = async (port: number, n: number) => {
    const cs: RawConnection[] = [];
    for (let i = 0; i < n; i++) {
      const c = await open(port);
      await c.write('POST /x HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 2\r\n\r\nh');
      cs.push(c);
    }
    return cs;
  };

  it('a connection over maxConnections waits, unread, and is served once one closes', async () => {
    const port = await start({ maxConnections: 3 });
    const cs = await busy(port, 3);
    // Accepted in the order they connect: the 4th is over the cap and waits.
    const waiting = await open(port);
    await waiting.write('POST /x HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 2\r\n\r\nhi');
    await waitFor('the connection over the cap waiting', () => server!.waitingConnections === 1 || undefined, WAIT);
    // One within the cap answered and closed: the waiting one takes its slot, and its request is served.
    await cs[0]!.write('i');
    await waitFor('the first answer', () => parseReply(cs[0]!.received()), WAIT);
    cs[0]!.destroy();
    const served = await waitFor('the waiting connection served', () => parseReply(waiting.received()), WAIT);
    assert.equal(served.status, 200);
    assert.deepEqual(served.json, { bytes: 2 });
    assert.equal(server!.waitingConnections, 0);
  });

  it('a connection that waits headersTimeoutMs for a slot is answered 503 OVERLOADED and closed', async () => {
    const port = await start({ maxConnections: 3, headersTimeoutMs: 400 });
    await busy(port, 3);
    const over = await open(port);
    await over.write('POST /x HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 2\r\n\r\nhi');
    await waitFor('the connection that waited too long answered and closed', () => over.closed(), WAIT);
    const refused = parseReply(over.received());
    assert.equal(refused?.status, 503, over.received());
    assert.deepEqual(refused?.json, { error: `api.port ${port} holds 3 connections (api.maxConnections), and no slot freed for this one within 400 ms (api.headersTimeoutMs; at most ${WAITING_CONNECTIONS} wait): expected at most 3 at once on it; retry once one closes, or send more requests on fewer connections (keep-alive)`, code: 'OVERLOADED' });
    assert.equal(server!.waitingConnections, 0);
  });

  it(`answers 503 at once past the ${WAITING_CONNECTIONS} waiting, and closes connections on accept past ${SPARE_CONNECTIONS} more`, async () => {
    const port = await start({ maxConnections: 1 });
    await busy(port, 1);
    const cs: RawConnection[] = [];
    for (let i = 0; i < WAITING_CONNECTIONS + SPARE_CONNECTIONS + 1; i++) cs.push(await open(port));
    await waitFor('one connection past the spares closed by the server', () => cs.some((c) => c.closed()), WAIT);
    assert.equal(cs.filter((c) => !c.closed()).length, WAITING_CONNECTIONS + SPARE_CONNECTIONS, 'exactly the connection past the spares is closed');
    assert.equal(server!.waitingConnections, WAITING_CONNECTIONS);
    assert.equal(metric('edgefleet_agent_api_connections{listener="api.port"}'), 1);
    assert.equal(metric('edgefleet_agent_api_connections_waiting{listener="api.port"}'), WAITING_CONNECTIONS);
    assert.equal(metric('edgefleet_agent_api_connections_refused_total{listener="api.port",how="answered"}'), SPARE_CONNECTIONS);
    assert.equal(metric('edgefleet_agent_api_connections_refused_total{listener="api.port",how="closed"}'), 1);
    // The first past the waiting ones is answered at once, while the waiting ones still wait.
    const spare = cs[WAITING_CONNECTIONS]!;
    await spare.write('GET /x HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
    const refused = await waitFor('a spare answered', () => parseReply(spare.received()), WAIT);
    assert.equal(refused.status, 503);
    assert.equal(server!.waitingConnections, WAITING_CONNECTIONS);
    // A stop answers the waiting ones 503 instead of leaving them unread.
    const last = cs[WAITING_CONNECTIONS - 1]!;
    await last.write('GET /x HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
    const stopped = server!.stop();
    assert.equal(parseReply(await waitFor('the last waiting one answered', () => last.received() || undefined, WAIT))?.status, 503);
    assert.equal(server!.waitingConnections, 0);
    assert.equal(metric('edgefleet_agent_api_connections_waiting{listener="api.port"}'), 0);
    assert.equal(metric('edgefleet_agent_api_connections_refused_total{listener="api.port",how="answered"}'), SPARE_CONNECTIONS + WAITING_CONNECTIONS, 'the waiting ones a stop answered counted too');
    for (const c of cs) c.destroy();
    await stopped;
  });

  it('answers headers that never finish with 408 TIMEOUT and closes the connection', async () => {
    const port = await start({ headersTimeoutMs: 300, requestTimeoutMs: 2_000 });
    const c = await open(port);
    await c.write('POST /x HTTP/1.1\r\nhost: 127.0.0.1\r\n');
    const stop = c.drip('x-slow: 1\r\n', 50);
    try {
      await waitFor('the server to close a slow-header connection', () => c.closed(), WAIT);
    } finally {
      stop();
    }
    const reply = parseReply(c.received());
    assert.equal(reply?.status, 408, c.received());
    assert.deepEqual(reply?.json, { error: 'request not received within 2000 ms (headers within 300 ms)', code: 'TIMEOUT' });
  });

  it('answers headers over node\'s limit with 431 naming the limit, and closes the connection', async () => {
    const port = await start({});
    const c = await open(port);
    await c.write(`GET /v2 HTTP/1.1\r\nhost: 127.0.0.1\r\nx-big: ${'a'.repeat(maxHeaderSize)}\r\n\r\n`);
    await waitFor('the server to close a connection whose headers are too large', () => c.closed(), WAIT);
    const reply = parseReply(c.received());
    assert.equal(reply?.status, 431, c.received());
    assert.deepEqual(reply?.json, {
      error: `request headers are too large: expected at most ${maxHeaderSize} bytes of request line and headers (send large values in the body)`, code: 'PAYLOAD_TOO_LARGE',
    });
  });

  it('answers a request node cannot parse with 400 in node\'s words, and an unknown Expect with 417 (HTTP/2: ./http2-refusal.test.ts)', async () => {
    const port = await start({});
    const cases: Array<[string, string]> = [
      ['POST /x HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n',
        "malformed HTTP request (Transfer-Encoding can't be present with Content-Length, HPE_INVALID_TRANSFER_ENCODING): expected HTTP/1.1"],
    ];
    const expect = await open(port);
    await expect.write('POST /x HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 5\r\nexpect: 200-ok\r\n\r\n');
    await waitFor('the server to answer an unknown Expect and close', () => expect.closed(), WAIT);
    assert.deepEqual([parseReply(expect.received())?.status, parseReply(expect.received())?.json],
      [417, { error: 'Expect "200-ok" is not supported: expected no Expect header, or "100-continue"', code: 'BAD_REQUEST' }], expect.received());
    for (const [raw, error] of cases) {
      const c = await open(port);
      await c.write(raw);
      await waitFor('the server to close a connection it cannot parse', () => c.closed(), WAIT);
      const reply = parseReply(c.received());
      assert.deepEqual([reply?.status, reply?.json], [400, { error, code: 'BAD_REQUEST' }], c.received());
    }
  });

  it('frees the slot of a client that never reads nor closes, once its 408 TIMEOUT is written', async () => {
    const port = await start({ maxConnections: 2, headersTimeoutMs: 300, requestTimeoutMs: 600 });
    // Two connections fill the cap, send nothing, and never read: the server's FIN is never seen, so
    // only the server closing its side frees their slots.
    const silent = [connect(port, '127.0.0.1'), connect(port, '127.0.0.1')];
    for (const s of silent) s.on('error', () => undefined);
    try {
      const reply = await waitFor('a client within the cap served after the silent ones timed out', async () => {
        const c = await open(port);
        await c.write('GET /x HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
        await waitFor('a reply or a close', () => parseReply(c.received()) !== undefined || c.closed(), { timeoutMs: 1_000, intervalMs: 10 }).catch(() => undefined);
        // 503 OVERLOADED while the silent ones still hold the cap.
        const r = parseReply(c.received());
        return r?.status === 503 ? undefined : r;
      }, { timeoutMs: 3_000, intervalMs: 50 });
      assert.equal(reply.status, 200);
    } finally {
      for (const s of silent) s.destroy();
    }
  });

  it('cuts off a drip-fed body at the request timeout', async () => {
    const port = await start({ headersTimeoutMs: 300, requestTimeoutMs: 600 });
    const c = await open(port);
    await c.write('POST /x HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 100000\r\n\r\n');
    c.drip('x', 30);
    await waitFor('the server to close a drip-fed request', () => c.closed(), WAIT);
    assert.ok(c.sent() < 100_000, 'closed before the body was complete');
    assert.equal(parseReply(c.received()), undefined, 'no reply: the handler never saw the whole body');
  });

  it('stop() closes a drip-fed connection after the grace period', async () => {
    const port = await start({ requestTimeoutMs: 60_000, stopGraceMs: 200 });
    const c = await open(port);
    await c.write('POST /x HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 100000\r\n\r\n');
    const head = c.sent();
    c.drip('x', 30);
    await waitFor('the body to start arriving', () => c.sent() >= head + 3, WAIT);
    const s = server!;
    server = undefined;
    await s.stop();
    await waitFor('the drip-fed connection to be closed', () => c.closed(), WAIT);
    assert.ok(c.sent() < 100_000);
  });

  it('stop() gives a Unix-socket request the grace period too, then closes its connection', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ef-api-limits-'));
    try {
      let requests = 0;
      await start({ requestTimeoutMs: 60_000, stopGraceMs: 300, socket: join(dir, 'api.sock') }, (req, res) => {
        requests++;
        echoLength(req, res);
      });
      const c = connect(join(dir, 'api.sock'));
      let closed = false;
      c.on('close', () => { closed = true; });
      c.on('error', () => undefined);
      c.write('POST /x HTTP/1.1\r\nhost: localhost\r\ncontent-length: 100000\r\n\r\n');
      const drip = setInterval(() => c.write('x'), 30);
      try {
        await waitFor('the drip-fed Unix-socket request in flight', () => requests === 1 || undefined, WAIT);
        const s = server!;
        server = undefined;
        const t0 = performance.now();
        await s.stop();
        const ms = performance.now() - t0;
        assert.ok(ms >= 250, `stop waited for the in-flight request for its grace period (${Math.round(ms)} ms of 300)`);
        await waitFor('the drip-fed Unix-socket connection to be closed', () => closed, { timeoutMs: 1_000, intervalMs: 10 });
      } finally {
        clearInterval(drip);
        c.destroy();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
