// Fault test (partition): an agent reaches the hub's embedded broker through a TCP proxy that turns into
// a black hole (nothing forwarded either way, no FIN, no RST: a NAT that forgot the connection) while the
// box serves traffic, and a deployment is made in the middle of it. With sync.keepaliveSec 2 the agent
// gives the dead link up and the broker drops the device within 2 × 2 s each; once the path is back the
// agent reconnects, the new version arrives and every window is stored exactly once.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { trafficLoop, vibrationRows, waitFor } from '@edgefleet/examples/fleet';
import { MODEL, assertEveryWindowOnce } from './helpers.js';
import { proxiedDevice } from './proxied-device.js';

const KEEPALIVE_SEC = 2;

describe('half-open link', () => {
  const c = proxiedDevice('half-open');

  it('both ends give a silent link up by the keepalive, the deployment made meanwhile arrives, nothing is lost or doubled', async () => {
    const agent = await c.start({ keepaliveSec: KEEPALIVE_SEC, reconnectMs: 300, outbox: { resendAfterMs: 3000 } });
    const { s, proxy, dev } = c;
    const traffic = trafficLoop([agent], vibrationRows({ rowsPerRequest: 2 }), 5);
    try {
      await waitFor('online at the hub', async () => (await c.online()) || undefined);
      const t0 = Date.now();
      proxy.setBlackhole(true);
      // Made while the link is silent: the desired document goes into the dead connection.
      const dep = await s.hub.api<{ id: number }>('POST', '/deployments', { model: MODEL, version: '2.0.0', target: { all: true }, reason: 'half-open: during the partition' });
      const printed = () => agent.process.output().stderr + agent.process.output().stdout;
      await waitFor('the agent gives the link up', () => Promise.resolve(/"msg":"hub link down"/.test(printed()) || undefined), { timeoutMs: 30_000, intervalMs: 100 });
      const agentNoticedMs = Date.now() - t0;
      await waitFor('offline at the hub', async () => ((await c.online()) ? undefined : true), { timeoutMs: 30_000, intervalMs: 100 });
      const hubNoticedMs = Date.now() - t0;
      // Both within 2 × keepalive of the last packet, plus polling slack; only an upper bound far from
      // the 45 s of the default keepalive (a busy machine is slower, and that is all it could be).
      process.stderr.write(`half-open: agent noticed after ${agentNoticedMs} ms, hub after ${hubNoticedMs} ms\n`);
      assert.ok(agentNoticedMs < 4 * KEEPALIVE_SEC * 1000 + 5000, `agent noticed after ${agentNoticedMs} ms`);
      assert.ok(hubNoticedMs < 4 * KEEPALIVE_SEC * 1000 + 5000, `hub noticed after ${hubNoticedMs} ms`);
      const attempts = proxy.accepted;
      await new Promise((r) => setTimeout(r, 3000)); // reconnect attempts go into the black hole too
      proxy.setBlackhole(false);
      const t1 = Date.now();
      await waitFor('online again', async () => (await c.online()) || undefined, { timeoutMs: 30_000, intervalMs: 100 });
      process.stderr.write(`half-open: back online ${Date.now() - t1} ms after the path came back (${proxy.accepted - attempts} attempts during and after)\n`);
      await waitFor('2.0.0 active (hub view)', async () => {
        const d = await s.hub.api<{ devices: Array<{ status: string }> }>('GET', `/deployments/${dep.id}`);
        return d.devices.length === 1 && d.devices.every((x) => x.status === 'active');
      }, { timeoutMs: 60_000, intervalMs: 500 });
    } finally {
      await traffic.stop();
    }
    assert.equal(traffic.stats[0]!.failed, 0, `serving never failed (${traffic.stats[0]!.lastError})`);
    await assertEveryWindowOnce(s.hub.api, dev, traffic.stats[0]!.predictions, 60_000);
  });
});
