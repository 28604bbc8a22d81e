// The CLI's --watch waits on the hub's live stream: a matching event ends a long wait at once, other
// events do not, and a hub without the stream leaves it polling (wait = sleep).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { waitFor } from '@edgefleet/examples';
import { makeHarness } from '../testing/harness.js';
import { EventBus } from '../events/bus.js';
import { StreamHub } from '../api/stream.js';
import { StreamWaiter } from './stream-waiter.js';

test('stream waiter: woken by its deployment\'s progress, not by others; polls when the hub has no stream', async () => {
  const bus = new EventBus();
  let hub: StreamHub | null = null;
  const h = makeHarness({ streams: () => (hub = new StreamHub(bus)) });
  const server = await new Promise<ServerType>((resolve) => { const s = serve({ fetch: h.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s)); });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const open = (path: string) => (last: string | null, signal: AbortSignal) => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${h.tokens.viewer}`, ...(last ? { 'last-event-id': last } : {}) }, signal });
  const w = new StreamWaiter(open('/api/v1/stream'), (e) => e.type === 'deployment.progress' && e.data.deploymentId === 7);
  const progress = (deploymentId: number) => bus.publish('deployment.progress', { deploymentId, deviceId: 'd', model: 'm', version: '1.0.0', status: 'downloading', progress: 0.5, reason: null, at: new Date().toISOString() });
  try {
    w.start();
    await waitFor('stream live', () => w.live);
    const t0 = Date.now();
    const other = w.wait(400);
    progress(8);
    await other;
    assert.ok(Date.now() - t0 >= 350, 'another deployment does not wake it');
    const long = w.wait(60_000);
    progress(7);
    await long;
    assert.ok(Date.now() - t0 < 10_000, 'its own deployment wakes it at once');

    const none = new StreamWaiter(open('/api/v1/no-stream-here'), () => true);
    none.start();
    const t1 = Date.now();
    await none.wait(200);
    assert.equal(none.live, false);
    assert.ok(Date.now() - t1 >= 150);
    none.stop();
  } finally {
    w.stop();
    (hub as StreamHub | null)?.stop();
    await new Promise<void>((r) => { server.close(() => r()); (server as unknown as { closeAllConnections(): void }).closeAllConnections(); });
    h.close();
  }
});
