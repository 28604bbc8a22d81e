// Fault test (latency): a real agent and hub through a TCP proxy that delays every chunk 1.5 s each way,
// with sync.outbox.resendAfterMs 2.5 s. The broker's PUBACK of each message then comes 3 s after it left,
// later than the resend time. The agent started the resend wait when the message left, so the moment the
// PUBACK came every message was due and went again, before its ack could arrive: a busy hub or a slow link
// carried each message twice (docs/decisions/0186-resends-wait-from-the-broker-and-back-off.md). The wait
// now starts at the PUBACK: every window reaches the hub once and the hub counts no window sent again
// (edgefleet_ingest_resent_total). The hub's ack comes about when the PUBACK does, so it has the 2.5 s
// before the resend is due (with 1 s, a loaded CI box's hub once acked two messages later than that).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { trafficLoop, vibrationRows } from '@edgefleet/examples/fleet';
import { assertEveryWindowOnce } from './helpers.js';
import { proxiedDevice } from './proxied-device.js';

const DELAY_MS = 1500;

describe('slow acks', () => {
  const c = proxiedDevice('slow-acks');

  it('messages acked later than resendAfterMs are each sent once', async () => {
    const agent = await c.start({ reconnectMs: 300, outbox: { resendAfterMs: 2500 } });
    const { s, proxy, dev } = c;
    const resent = async () => {
      const text = await (await fetch(`${s.hub.http}/metrics`)).text();
      return Number(/^edgefleet_ingest_resent_total(?:\{\})? (\d+)/m.exec(text)?.[1] ?? 0);
    };
    const before = await resent();
    proxy.configure({ latencyMs: DELAY_MS });
    const traffic = trafficLoop([agent], vibrationRows({ rowsPerRequest: 2 }), 5);
    await new Promise((r) => setTimeout(r, 8000)); // windows of 1 s: several messages, each acked 3 s after it left
    await traffic.stop();
    await assertEveryWindowOnce(s.hub.api, dev, traffic.stats[0]!.predictions, 60_000);
    await new Promise((r) => setTimeout(r, 2 * DELAY_MS)); // a message sent again just before the last ack came is still on its way
    const again = (await resent()) - before;
    process.stderr.write(`slow acks: ${again} windows or events sent again, ${proxy.cuts} cuts\n`);
    assert.equal(proxy.cuts, 0);
    assert.equal(again, 0, 'no window or event reached the hub twice');
  });
});
