// Fault test (partition): the link between an agent and the hub's embedded broker drops every second for
// 30 s while the box serves traffic. Each connection is made and cut within a second, so before, the
// agent took each for a working one and reconnected every sync.reconnectMs (12 connections in 30 s, each
// sending its presence and state and receiving its documents again, for as long as the link flapped);
// now a connection that did not last counts as a failed attempt and the agent backs off (docs/agent.md
// sync.reconnectMs). Nothing is recorded at the hub for the flaps (no audit entry, no device event), and
// every window reaches the hub exactly once.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hubEvents, trafficLoop, vibrationRows, waitFor } from '@edgefleet/examples/fleet';
import { assertEveryWindowOnce } from './helpers.js';
import { proxiedDevice } from './proxied-device.js';

const FLAP_SEC = 30;

describe('flapping link', () => {
  const c = proxiedDevice('flap');

  it('the agent backs off, the hub records nothing for the flaps, every window is stored once', async () => {
    // sync.reconnectMs at its default (2 s): the longest wait is 60 s, so no connection of the flapping
    // link lasts long enough to reset the backoff.
    const agent = await c.start({ outbox: { resendAfterMs: 3000 } });
    const { s, proxy, dev, online } = c;
    await waitFor('online', async () => (await online()) || undefined);
    const traffic = trafficLoop([agent], vibrationRows({ rowsPerRequest: 2 }), 5);
    const audit0 = (await s.hub.api<{ entries: unknown[] }>('GET', '/audit')).entries.length;
    // The events of the agent's start may still be on their way (stored a turn of the hub's loop after they
    // arrive): counted once two reads 2 s apart agree.
    let events0 = -1;
    await waitFor('the start\'s events stored', async () => {
      const n = (await hubEvents(s.hub.api, dev.deviceId)).length;
      const same = n === events0;
      events0 = n;
      return same || undefined;
    }, { timeoutMs: 30_000, intervalMs: 2000 });
    const acc0 = proxy.accepted;
    const bytes0 = proxy.forwarded.up + proxy.forwarded.down;
    try {
      for (let i = 0; i < FLAP_SEC; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        proxy.cutAll();
      }
    } finally {
      await traffic.stop();
    }
    const connections = proxy.accepted - acc0;
    process.stderr.write(`flapping ${FLAP_SEC} s: ${connections} connections, ${proxy.forwarded.up + proxy.forwarded.down - bytes0} bytes\n`);
    // Waits of 2, 4, 8, 16 s (±25 %) fit about 5 connections in 30 s; every 2 s, 12 did. A slow machine
    // only makes fewer.
    assert.ok(connections <= 7, `the agent backed off: ${connections} connections in ${FLAP_SEC} s`);
    await waitFor('online again', async () => (await online()) || undefined, { timeoutMs: 90_000, intervalMs: 500 });
    assert.equal((await s.hub.api<{ entries: unknown[] }>('GET', '/audit')).entries.length, audit0, 'no audit entry for the flaps');
    assert.equal((await hubEvents(s.hub.api, dev.deviceId)).length, events0, 'no device event for the flaps');
    assert.equal(traffic.stats[0]!.failed, 0, `serving never failed (${traffic.stats[0]!.lastError})`);
    await assertEveryWindowOnce(s.hub.api, dev, traffic.stats[0]!.predictions, 60_000);
  });
});
