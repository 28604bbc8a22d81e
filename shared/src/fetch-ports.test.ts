// The ports the configurations refuse for servers clients reach by fetch (fetch-ports.ts) are the ones this Node's
// fetch refuses: it says "bad port" before connecting, so nothing needs to listen (and nothing is dialled).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FETCH_BLOCKED_PORTS, fetchBlockedPortProblem } from './fetch-ports.js';
import { FetchedPort } from './wire/fetched-port.js';

test("every port in the list is one Node's fetch refuses as a bad port", async () => {
  for (const port of FETCH_BLOCKED_PORTS) {
    const err = await fetch(`http://127.0.0.1:${port}/`).then(() => undefined, (e: unknown) => e as Error);
    assert.equal((err?.cause as Error | undefined)?.message, 'bad port', `port ${port}`);
  }
  assert.equal(FETCH_BLOCKED_PORTS.size, 82, "the Fetch standard's list as Node 20's fetch holds it");
});

test('a blocked port is refused, naming it, why and who could not reach it; 0 and others are taken', () => {
  assert.equal(fetchBlockedPortProblem(6000, 'the CLI'), "port 6000 is one fetch refuses to connect to (the Fetch standard's blocked ports, "
    + 'https://fetch.spec.whatwg.org/#port-blocking), so the CLI could not reach it; expected another port');
  for (const port of [0, 8700, 8701, 6664, 6670, 10081, 65535]) assert.equal(fetchBlockedPortProblem(port, 'x'), undefined, `port ${port}`);
  const schema = FetchedPort('apps');
  assert.equal(schema.safeParse(8701).success, true);
  const r = schema.safeParse(6665);
  assert.equal(r.success, false);
  assert.match(r.error?.issues[0]?.message ?? '', /^port 6665 is one fetch refuses to connect to .* so apps could not reach it; expected another port$/);
  assert.equal(schema.safeParse(70000).success, false, 'the range still holds');
});
