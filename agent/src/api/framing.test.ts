// Requests node's HTTP parser refuses once a request on the connection is being served (a malformed
// chunked body, more bytes than Content-Length said), and requests with no Host, against a real agent
// and model: each answered with a JSON error naming what was wrong, in order after the requests sent
// whole, the connection then closed, nothing held, and other clients served (./malformed.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NetConnectOpts } from 'node:net';
import { join } from 'node:path';
import type { Agent } from '../agent.js';
import { makeKit, mlpBundle, req, row, startAgent, type Kit } from '../testing.js';

/** Writes `bytes` on a new connection and resolves with all that came back once the agent closed it. */
function exchange(to: NetConnectOpts, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(to);
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString('latin1')));
    s.on('error', reject);
    s.on('close', () => resolve(got));
    s.write(bytes);
  });
}

/** Each answer in `text`: its status and its JSON error body ({} for a success). */
function answers(text: string): Array<{ status: number; code?: string; error?: string }> {
  const out: Array<{ status: number; code?: string; error?: string }> = [];
  for (let at = 0; at < text.length;) {
    const head = text.indexOf('\r\n\r\n', at);
    assert.ok(head > 0, `an answer's head in ${JSON.stringify(text.slice(at))}`);
    const headers = text.slice(at, head);
    const length = /\r\ncontent-length: *(\d+)/i.exec(headers)?.[1];
    let json = '';
    at = head + 4;
    if (length !== undefined) {
      json = text.slice(at, at + Number(length));
      at += Number(length);
    } else if (!/\r\ntransfer-encoding: *chunked/i.test(headers)) {
      json = text.slice(at); // HTTP/1.0: the body runs to the close
      at = text.length;
    } else {
      // Chunked: size lines until the 0 one.
      for (let n = -1; n !== 0;) {
        const eol = text.indexOf('\r\n', at);
        n = parseInt(text.slice(at, eol), 16);
        assert.ok(n >= 0, `a chunk size at ${JSON.stringify(text.slice(at, at + 20))}`);
        json += text.slice(eol + 2, eol + 2 + n);
        at = eol + 2 + n + 2;
      }
    }
    const body = JSON.parse(json) as { code?: string; error?: string };
    out.push({ status: Number(headers.slice(9, 12)), ...(body.code === undefined ? {} : { code: body.code, error: body.error }) });
  }
  return out;
}

const BODY = JSON.stringify(row([1, 2, 3, 4]));
const infer = (framing: string) => `POST /v2/models/mlp/infer HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n${framing}\r\n`;
const live = 'GET /v2/health/live HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n';

describe('malformed framing and a missing Host on the REST API', () => {
  let kit: Kit;
  let agent: Agent;
  let tcp: NetConnectOpts;
  let socket: NetConnectOpts;

  before(async () => {
    kit = makeKit();
    const b = await mlpBundle(kit, '1.0.0');
    agent = await startAgent(join(kit.dir, 'data'), { api: { host: '127.0.0.1', port: 0, socket: join(kit.dir, 'agent.sock') } });
    agent.trust.put(kit.trust.doc, 1);
    await agent.manager.install(b.path);
    tcp = { host: '127.0.0.1', port: Number(new URL(agent.url).port) };
    socket = { path: join(kit.dir, 'agent.sock') };
  });
  after(async () => {
    await agent.stop();
    kit.cleanup();
  });

  const bodiesHeld = async () => Number(/^edgefleet_agent_request_bytes\{kind="bodies"\} (-?\d+)$/m.exec((await req(agent.url, 'GET', '/metrics')).text)?.[1]);

  it('answers a chunked body whose framing is malformed 400 BAD_REQUEST in the parser\'s words, not a reset, and holds nothing after', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['a chunk size that is not hex', `${infer('transfer-encoding: chunked\r\n')}ZZ\r\n${BODY}\r\n0\r\n\r\n`, /^malformed HTTP request \(Invalid character in chunk size, HPE_INVALID_CHUNK_SIZE\): expected HTTP\/1\.1$/],
      ['a chunk longer than its size', `${infer('transfer-encoding: chunked\r\n')}4\r\n${BODY}\r\n0\r\n\r\n`, /^malformed HTTP request \(.+, HPE_[A-Z_]+\): expected HTTP\/1\.1$/],
      ['the update lock\'s body so', 'POST /edgefleet/v1/update-lock HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n', /HPE_INVALID_CHUNK_SIZE/],
    ];
    for (const [what, bytes, error] of cases) {
      for (const to of [tcp, socket]) {
        const got = answers(await exchange(to, bytes));
        assert.equal(got.length, 1, `${what}: ${JSON.stringify(got)}`);
        assert.equal(got[0]!.status, 400, what);
        assert.equal(got[0]!.code, 'BAD_REQUEST', what);
        assert.match(got[0]!.error!, error, what);
      }
    }
    assert.equal(await bodiesHeld(), 0);
  });

  it('answers requests sent whole before bytes the parser refuses, in order, then 400 for those bytes, then closes', async () => {
    // More bytes than Content-Length said: the request is served, the rest is read as the next request.
    const longer = answers(await exchange(tcp, `${infer(`content-length: ${BODY.length}\r\n`)}${BODY}, "outputs": []}\r\n\r\n`));
    assert.deepEqual(longer.map((a) => a.status), [200, 400], JSON.stringify(longer));
    assert.match(longer[1]!.error!, /^malformed HTTP request \(.+, HPE_[A-Z_]+\): expected HTTP\/1\.1$/);
    // Pipelined: two GETs and an inference, then garbage.
    const piped = answers(await exchange(tcp, `${live}${live}${infer(`content-length: ${BODY.length}\r\n`)}${BODY}\x00\x01 not HTTP\r\n\r\n`));
    assert.deepEqual(piped.map((a) => [a.status, a.code]), [[200, undefined], [200, undefined], [200, undefined], [400, 'BAD_REQUEST']]);
    assert.match(piped[3]!.error!, /HPE_INVALID_METHOD/);
    assert.equal((await req(agent.url, 'POST', '/v2/models/mlp/infer', row([1, 2, 3, 4]))).status, 200);
  });

  it('answers a request with no Host header 400 BAD_REQUEST naming the names accepted (HTTP/1.1 and 1.0); on the Unix socket none is needed', async () => {
    const error = 'request has no Host header: expected 127.0.0.1, localhost, [::1] (api.allowedHosts), with any port';
    for (const version of ['1.1', '1.0']) {
      const got = answers(await exchange(tcp, `GET /v2/health/live HTTP/${version}\r\nconnection: close\r\n\r\n`));
      assert.deepEqual(got, [{ status: 400, code: 'BAD_REQUEST', error }], version);
    }
    const unix = answers(await exchange(socket, `POST /v2/models/mlp/infer HTTP/1.1\r\ncontent-type: application/json\r\ncontent-length: ${BODY.length}\r\nconnection: close\r\n\r\n${BODY}`));
    assert.deepEqual(unix, [{ status: 200 }]);
  });
});
