// Fault test (partition): a real agent and hub through a TCP proxy that trickles bytes.
// A model download over 4 KiB/s, slower than one block per keepalive: MQTT.js counted only acks and
// PINGRESP as signs of life, and the PINGRESP waited behind the block in flight, so the agent closed the
// link 1.5 × sync.keepaliveSec after its ping, mid-block, asked for the block again on the next
// connection, and the download never finished (a 1 MiB bundle at 16 KiB/s with the default 30 s
// keepalive: 2.2 MB moved in 150 s, nothing installed). Any byte from the broker now counts
// (agent/src/sync/keepalive.ts): one connection carries the download, each byte moved once.
// A backlog sent up over 2 KiB/s after an offline spell: a message that could not cross before the
// keepalive ran out was lost with its connection and sent first again, whole, at every connection (by
// MQTT.js and then by the outbox), so the outbox never drained. Now the link's unacked publishes fail
// when it closes and the outbox halves its next message (agent/src/sync/outbox.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { BundleResult } from '@edgefleet/examples';
import { pushBundle, trafficLoop, vibrationRows, waitFor } from '@edgefleet/examples/fleet';
import { MODEL, assertEveryWindowOnce, bigBundle, checkInstalledFiles, filesEndingWith, getJson, localWindows } from './helpers.js';
import { proxiedDevice } from './proxied-device.js';

const RATE = 4096;
const KEEPALIVE_SEC = 2;

describe('slow link', () => {
  let big: BundleResult;
  const c = proxiedDevice('slow', async ({ s, dir }) => {
    big = await bigBundle(join(dir, 'fx', 'bundles'), s.fx.keys, '3.0.0', { hidden: 100, policy: { maxP95LatencyMs: 10_000 } });
    await pushBundle(s.hub, big.path);
  });

  it('a download slower than a block per keepalive finishes on one connection, each byte moved once', async () => {
    const agent = await c.start({ keepaliveSec: KEEPALIVE_SEC, reconnectMs: 300 });
    const { s, proxy, dev } = c;
    proxy.configure({ bytesPerSec: RATE });
    const fast = proxy.accepted;
    proxy.cutAll(); // the next connection trickles
    await waitFor('online through the slow link', async () => (proxy.accepted > fast && (await c.online())) || undefined, { timeoutMs: 30_000 });
    const t0 = Date.now();
    const conns = proxy.accepted;
    const down = proxy.forwarded.down;
    // One block of the default 1 MiB: the whole bundle, about 13 s at 4 KiB/s, over 4 keepalives.
    assert.ok(big.size > 4 * KEEPALIVE_SEC * RATE, `the bundle (${big.size} bytes) takes over 4 keepalives to cross`);
    const dep = await s.hub.api<{ id: number }>('POST', '/deployments', { model: MODEL, version: '3.0.0', target: { all: true }, reason: 'slow link' });
    await waitFor('3.0.0 active (hub view)', async () => {
      const d = await s.hub.api<{ devices: Array<{ status: string }> }>('GET', `/deployments/${dep.id}`);
      return d.devices[0]?.status === 'active' || undefined;
    }, { timeoutMs: 90_000, intervalMs: 500 });
    const moved = proxy.forwarded.down - down;
    process.stderr.write(`slow link: ${big.size} bytes at ${RATE} B/s in ${Date.now() - t0} ms, ${moved} bytes down, ${proxy.accepted - conns} new connections\n`);
    assert.equal(proxy.accepted - conns, 0, 'the link that carried the download was kept');
    assert.ok(moved < big.size * 1.2, `each byte moved once (${moved} bytes down for a ${big.size}-byte bundle)`);
    assert.equal((await getJson(`${agent.url}/v2/models/${MODEL}/versions/3.0.0/ready`))?.json?.ready, true);
    assert.deepEqual(checkInstalledFiles(dev.dataDir, big.manifest), [], 'installed files hash correctly');
    assert.deepEqual(filesEndingWith(dev.dataDir, '.part'), [], 'no partial file left');
  });

  it('a backlog sent over a link slower than a message per keepalive drains', async () => {
    const { s, proxy, dev, agent } = c;
    // Offline while the box serves: its windows pile up in the outbox.
    proxy.configure({ bytesPerSec: undefined });
    proxy.setDown(true);
    proxy.cutAll();
    const traffic = trafficLoop([agent!], vibrationRows({ rowsPerRequest: 2 }), 5);
    await new Promise((r) => setTimeout(r, 15_000));
    await traffic.stop();
    await waitFor('every prediction in a window', async () => (await localWindows(dev.dataDir)).reduce((n, w) => n + w.count, 0) >= traffic.stats[0]!.predictions || undefined, { timeoutMs: 30_000 });
    // Back on a link of 2 KiB/s: a batch of the backlog's windows takes several keepalives to go up.
    proxy.configure({ bytesPerSec: 2048 });
    const conns = proxy.accepted;
    const up = proxy.forwarded.up;
    proxy.setDown(false);
    await assertEveryWindowOnce(s.hub.api, dev, traffic.stats[0]!.predictions, 120_000);
    // A message lost on its way halves the next (outbox.ts sizeCap): a few connections at most.
    process.stderr.write(`slow upload: ${proxy.forwarded.up - up} bytes up, ${proxy.accepted - conns} connections\n`);
    assert.ok(proxy.accepted - conns <= 8, `${proxy.accepted - conns} connections`);
  });
});
