// When the outbox sends again what the hub has not acked (docs/decisions/0186-resends-wait-from-the-broker-and-back-off.md):
// the wait for an ack starts when the broker took the message (its PUBACK), not when it left, so a message
// slower to cross than resendAfterMs is not sent twice; each resend of an item doubles its wait, up to
// RESEND_BACKOFF_MAX times resendAfterMs; and at most the oldest 4 × batchSize items await their ack.
// Real agent.db, publish captured, injected clock (outbox-testing.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@edgefleet/examples';
import { RESEND_BACKOFF_MAX, nextResendIn, resendWait } from './drain-timer.js';
import { addWindow, settle, setup } from './outbox-testing.js';

const quick = { intervalMs: 5, timeoutMs: 10_000 };

describe('outbox resends', () => {
  it('a message the broker takes later than resendAfterMs is not sent again before its ack can come', async (t) => {
    const o = setup(t, { batchSize: 2, resendAfterMs: 100 });
    o.onPublish(() => (o.clock.t += 500)); // a slow link or a busy broker: its PUBACK comes 500 ms after the send
    addWindow(o.db);
    addWindow(o.db);
    o.sender.resume();
    await waitFor('sent', () => o.sent.length === 1 || undefined, quick);
    await settle(200); // drains run on real time meanwhile; the injected clock stands at the PUBACK
    assert.equal(o.sent.length, 1, 'not sent again the moment the broker took it (it was sent again at once before)');
    assert.equal(o.sender.onAck([[1, 2]]), 2);
    o.clock.t += 10_000;
    await settle(150);
    assert.equal(o.sent.length, 1, 'nothing to resend after the ack');
  });

  it('the same message with no ack is sent again resendAfterMs after the broker took it', async (t) => {
    const o = setup(t, { batchSize: 2, resendAfterMs: 100 });
    o.onPublish(() => (o.clock.t += 500));
    addWindow(o.db);
    addWindow(o.db);
    o.sender.resume();
    await waitFor('sent', () => o.sent.length === 1 || undefined, quick);
    o.onPublish(() => undefined);
    o.clock.t += 101;
    await waitFor('resent', () => o.sent.length === 2 || undefined, quick);
    assert.deepEqual(o.sent[1]?.seqs, [1, 2]);
  });

  it('each resend of an item waits twice as long as the one before, up to RESEND_BACKOFF_MAX × resendAfterMs; an ack ends it', async (t) => {
    const o = setup(t, { batchSize: 2, resendAfterMs: 100 });
    addWindow(o.db);
    o.sender.resume();
    await waitFor('sent', () => o.sent.length === 1 || undefined, quick);
    // Waits before the 1st to 5th resend: 100, 200, 400, 800, 800 ms.
    const waits = [100, 200, 400, 800, 800];
    for (const [i, wait] of waits.entries()) {
      o.clock.t += wait - 10;
      await settle(120); // the drain timer runs meanwhile on real time
      assert.equal(o.sent.length, i + 1, `resend ${i + 1} not before ${wait} ms`);
      o.clock.t += 11;
      await waitFor(`resend ${i + 1} after ${wait} ms`, () => o.sent.length === i + 2 || undefined, quick);
    }
    assert.equal(o.sender.onAck([[1, 1]]), 1);
    // A new item starts from resendAfterMs again.
    addWindow(o.db);
    o.sender.kick(0);
    await waitFor('the new window sent', () => o.sent.length === waits.length + 2 || undefined, quick);
    o.clock.t += 101;
    await waitFor('its resend after 100 ms', () => o.sent.length === waits.length + 3 || undefined, quick);
    assert.deepEqual(o.sent.at(-1)?.seqs, [2]);
  });

  it('at most 4 × batchSize items await their ack: the rest goes as acks come', async (t) => {
    const o = setup(t, { batchSize: 2, resendAfterMs: 60_000 });
    for (let i = 0; i < 12; i++) addWindow(o.db);
    o.sender.resume();
    await waitFor('four messages', () => o.sent.length === 4 || undefined, quick);
    await settle(150);
    assert.equal(o.sent.length, 4, 'no fifth message before an ack');
    assert.deepEqual(o.sent.map((m) => m.seqs), [[1, 2], [3, 4], [5, 6], [7, 8]]);
    o.sender.onAck([[1, 2]]);
    await waitFor('the fifth after the first ack', () => o.sent.length === 5 || undefined, quick);
    assert.deepEqual(o.sent[4]?.seqs, [9, 10]);
    await settle(100);
    assert.equal(o.sent.length, 5, 'one message for one acked');
  });

  it('resendWait and nextResendIn (pure)', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 9].map((sends) => resendWait({ at: 0, sends }, 15_000)), [15_000, 30_000, 60_000, 120_000, 120_000, 120_000]);
    assert.equal(RESEND_BACKOFF_MAX, 8);
    assert.equal(resendWait({ at: 0, sends: 4 }, 2_147_483_647), 2_147_483_647, 'never past Node\'s longest timer');
    assert.equal(nextResendIn(new Map(), 0, 100), undefined, 'nothing in flight: no timer');
    const sent = new Map([[1, { at: 1000, sends: 1 }], [2, { at: 900, sends: 2 }]]);
    assert.equal(nextResendIn(sent, 1050, 100), 51, 'the first due: seq 1 at 1100 (seq 2 at 1100 too)');
    assert.equal(nextResendIn(sent, 5000, 100), 0, 'overdue: now');
  });
});
