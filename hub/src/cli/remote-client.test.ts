// The operator CLI's requests wait for the hub's answer for HUB_ANSWER_MS, then fail with IO_ERROR saying
// nothing answered (shared/src/unreachable.ts): `edgefleet devices ls` against a port where a program takes
// connections and never answers waited forever.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { HubClient } from './remote-client.js';

it('a request to an address that takes the connection and never answers ends in IO_ERROR naming the wait', { timeout: 60_000 }, async () => {
  const sockets: Socket[] = [];
  const silent = createServer((s) => void sockets.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  try {
    const hub = new HubClient(base, 'efa_x', '--token', 500);
    await assert.rejects(hub.request('GET', '/devices'), {
      name: 'AppError', code: 'IO_ERROR',
      message: `cannot reach the hub at ${base}: no answer in 0.5 s: expected the hub's address (edgefleet-hub run logs it as "http"); a program there takes connections and does not answer, or the hub is stuck`,
    });
    assert.ok(sockets.length >= 1, 'the connection was taken');
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  }
});
