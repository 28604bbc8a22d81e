// The HTTP surface of a whole hub (hub.ts, embedded broker, SQLite; testing/sweep.ts) on 127.0.0.1 port 0,
// from outside: a known path asked with another method (405 + Allow, OPTIONS), a body of another media
// type (415), HEAD on routes whose body is a stream (nothing left open), and requests Node's parser
// refuses before the app (431, 400): each a JSON error with a code and a message, the hub serving on.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { assertRefused, startSweepHub } from '../testing/sweep.js';
import { STREAM_DEFAULTS } from './stream.js';

/** Sends `request` as is on a new connection and returns all the server wrote before it closed. */
function raw(http: string, request: string): Promise<string> {
  const u = new URL(http);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(u.port), u.hostname);
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => { out += d; });
    s.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? resolve(out) : reject(err)));
    s.on('close', () => resolve(out));
    s.write(request);
  });
}

/** The status and body of a raw HTTP/1.1 answer. */
function parsed(answer: string): { status: number; text: string; head: string } {
  const at = answer.indexOf('\r\n\r\n');
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0), head: answer.slice(0, at), text: answer.slice(at + 4) };
}

describe('the HTTP surface from outside', () => {
  let s: Awaited<ReturnType<typeof startSweepHub>>;
  before(async () => { s = await startSweepHub(undefined); });
  after(async () => { await s?.close(); });

  it('a known path asked with another method: 405 METHOD_NOT_ALLOWED with Allow; OPTIONS: 204 with Allow; an unknown path stays 404', async () => {
    const cases: Array<[string, string, string]> = [
      ['DELETE', '/devices', 'GET, HEAD, POST, OPTIONS'],
      ['PATCH', '/devices/dev-a', 'GET, HEAD, OPTIONS'],
      ['GET', '/devices/dev-a/tags', 'PUT, OPTIONS'],
      ['PUT', '/enroll', 'POST, OPTIONS'],
      ['GET', '/enroll', 'POST, OPTIONS'],
      ['HEAD', '/enroll', 'POST, OPTIONS'],
      ['POST', '/stream', 'GET, HEAD, OPTIONS'],
      ['DELETE', '/health', 'GET, HEAD, OPTIONS'],
    ];
    for (const [method, path, allow] of cases) {
      const r = await s.api(method, path);
      assert.deepEqual([r.status, r.headers.get('allow')], [405, allow], `${method} ${path}: ${r.text}`);
      if (method === 'HEAD') continue; // no body
      assertRefused({ status: 400, text: r.text }, `${method} ${path}`);
      assert.match(r.text, new RegExp(`"code":"METHOD_NOT_ALLOWED","message":"method ${method} is not allowed on /api/v1${path}: expected ${allow}`));
    }
    const options = await s.api('OPTIONS', '/devices');
    assert.deepEqual([options.status, options.headers.get('allow'), options.text], [204, 'GET, HEAD, POST, OPTIONS', '']);
    for (const [method, path] of [['GET', '/nothing'], ['OPTIONS', '/nothing'], ['DELETE', '/devices/dev-a/nothing']] as const) {
      const r = await s.api(method, path);
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.match(r.text, /"code":"NOT_FOUND"/);
    }
    const metricsPost = await fetch(`${s.http}/metrics`, { method: 'POST' });
    assert.deepEqual([metricsPost.status, metricsPost.headers.get('allow')], [405, 'GET, HEAD, OPTIONS']);
  });

  it('a body of another media type than the route reads: 415 UNSUPPORTED_MEDIA_TYPE naming what came and what was expected; nothing written', async () => {
    const device = (id: string) => JSON.stringify({ deviceId: id });
    const refused: Array<[string, string, string | Uint8Array, string, RegExp]> = [
      ['POST', '/devices', device('dev-form'), 'application/x-www-form-urlencoded', /Content-Type \\"application\/x-www-form-urlencoded\\" is not accepted by POST \/api\/v1\/devices: expected application\/json, a JSON object \(curl -d sends a form: add -H 'content-type: application\/json'\)/],
      ['POST', '/devices', device('dev-octet'), 'application/octet-stream', /Content-Type \\"application\/octet-stream\\" is not accepted by POST \/api\/v1\/devices: expected application\/json/],
      ['POST', '/devices', device('dev-multi'), 'multipart/form-data; boundary=x', /Content-Type \\"multipart\/form-data; boundary=x\\" is not accepted/],
      ['POST', '/enroll', JSON.stringify({ token: s.enrollToken }), 'text/html', /expected application\/json/],
      ['POST', '/models', new Uint8Array(512), 'application/json', /Content-Type \\"application\/json\\" is not accepted by POST \/api\/v1\/models: expected application\/octet-stream, the bundle file as the whole body/],
      ['POST', '/models', new Uint8Array(512), 'multipart/form-data; boundary=x', /curl -F sends a form: use --data-binary @FILE/],
    ];
    for (const [method, path, body, type, message] of refused) {
      const r = await s.api(method, path, body, type);
      assert.equal(r.status, 415, `${method} ${path} as ${type}: ${r.text}`);
      assertRefused({ status: 400, text: r.text }, `${method} ${path} as ${type}`);
      assert.match(r.text, /"code":"UNSUPPORTED_MEDIA_TYPE"/);
      assert.match(r.text, message);
    }
    const devices = await s.api('GET', '/devices');
    assert.doesNotMatch(devices.text, /dev-form|dev-octet|dev-multi/);
    // JSON by its parameters or a +json type, text/plain (what fetch() sends a string as) and no type are read as JSON.
    for (const [id, type] of [['dev-charset', 'application/json; charset=utf-8'], ['dev-vnd', 'application/vnd.edgefleet+json'], ['dev-text', 'text/plain;charset=UTF-8']] as const) {
      const r = await s.api('POST', '/devices', device(id), type);
      assert.equal(r.status, 201, `${type}: ${r.text}`);
    }
  });

  it('HEAD on the live stream holds none of its places (the body HEAD drops is cancelled)', async () => {
    for (let i = 0; i < STREAM_DEFAULTS.perToken + 4; i++) {
      const r = await s.api('HEAD', '/stream');
      assert.deepEqual([r.status, r.headers.get('content-type')], [200, 'text/event-stream; charset=utf-8'], `HEAD /stream ${i}`);
    }
    const ctl = new AbortController();
    const live = await fetch(`${s.http}/api/v1/stream`, { headers: { authorization: `Bearer ${s.token}` }, signal: ctl.signal });
    assert.equal(live.status, 200, 'a stream after HEADs: its token\'s places were not held by them');
    ctl.abort();
    await live.body?.cancel().catch(() => undefined);
  });

  it('what Node\'s parser refuses before the app: a JSON error with a code and a message, and the hub serves on', async () => {
    const cases: Array<[string, string, number, RegExp]> = [
      ['a 20,000-character URL', `GET /api/v1/devices?q=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431, /"code":"PAYLOAD_TOO_LARGE","message":"request line and headers are too large: expected at most \d+ bytes/],
      ['a 20,000-character header', `GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Junk: ${'a'.repeat(20_000)}\r\n\r\n`, 431, /request line and headers are too large/],
      ['no HTTP at all', 'HELLO\r\n\r\n', 400, /"code":"BAD_REQUEST","message":"the request is not valid HTTP\/1.1 \(HPE_[A-Z_]+: [^)]+\): expected a request line/],
      ['a Content-Length that is no number', 'POST /api/v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}', 400, /not valid HTTP\/1.1/],
    ];
    for (const [what, request, status, message] of cases) {
      const r = parsed(await raw(s.http, request));
      assert.equal(r.status, status, `${what}: ${r.head}`);
      assert.match(r.head, /content-type: application\/json/i, what);
      assertRefused({ status: 400, text: r.text }, what);
      assert.match(r.text, message, what);
    }
    assert.equal((await s.api('GET', '/health')).status, 200);
  });
});

