// `edgefleet-agent enroll` waits for the hub's answer HUB_ANSWER_MS (120 s, shared/src/unreachable.ts, decision
// 0143), then fails with IO_ERROR saying nothing answered: against an address that takes connections and never
// answers, both its requests (the clock check, then POST /enroll) end, the wait made short here.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { checkClock, enroll, deviceFacts } from './enroll.js';

it('enroll against an address that takes the connection and never answers ends in IO_ERROR naming the wait', { timeout: 60_000 }, async () => {
  const sockets: Socket[] = [];
  const silent = createServer((s) => void sockets.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  const refused = { name: 'AppError', code: 'IO_ERROR', message: `cannot reach the hub at ${base}: no answer in 0.5 s: expected the hub's address (edgefleet-hub run logs it as "http"); a program there takes connections and does not answer, or the hub is stuck` };
  try {
    await assert.rejects(checkClock(base, new Date(), fetch, undefined, 500), refused);
    await assert.rejects(enroll({ hub: base, token: 'eft_x', facts: deviceFacts() }, fetch, 500), refused);
    assert.ok(sockets.length >= 2, 'each request\'s connection was taken');
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  }
});
