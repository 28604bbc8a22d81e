// The operator CLI's requests wait for the hub's answer for HUB_ANSWER_MS, then fail with IO_ERROR saying
// nothing answered (shared/src/unreachable.ts): `edgefleet devices ls` against a port where a program takes
// connections and never answers waited forever.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { waitFor } from '@edgefleet/examples';
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
    // Waited for, not read at once: the test shares its process (docs/decisions/0145), and a busy event loop can run
    // the client's 0.5 s deadline before the server's connection callback, which still comes.
    await waitFor('the connection was taken', () => sockets.length >= 1, { timeoutMs: 10_000 });
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  }
});
