// Seqs the hub holds parked count as held after a restart (docs/decisions/0103-parked-events-and-held-seqs.md):
// a hub started again on the same hub.db tells the highest seq it holds, parked ones included, in its acks
// (`maxSeq`), acks a parked seq sent again as `known` and stores nothing under it, so an agent.db put back
// from a backup (docs/agent.md "Outbox") moves what it numbered into the parked range above it, and the
// parked windows are still stored exactly once when their version is pushed. Before, the restarted hub
// read its highest seq from the stored windows and events only: it stored the box's new window under a
// parked seq, acked it as new, and the parked window of that seq was lost at the push. A real hub.db file
// closed and opened again, the embedded aedes broker on 127.0.0.1:0 and mqtt.js devices (parked-testing.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inRanges } from '@edgefleet/shared';
import { hubWithout2, push, stored, win } from './parked-testing.js';

describe('a hub restarted with windows parked', () => {
  const t = hubWithout2(['box'], { database: () => undefined });

  it('acks parked seqs as held (maxSeq, known) and stores each parked window once after the push', async () => {
    await t.hub.send('box', [win(1, '1.0.0'), win(2, '2.0.0'), win(3, '2.0.0'), win(4, '2.0.0'), win(5, '2.0.0')]);
    assert.equal(t.hub.parts.ingest.parked.status('box')?.windows, 4);

    await t.restart();
    // The box's agent.db was put back from a backup taken at seq 1: it numbers a new 1.0.0 window 2 again,
    // and sends parked seq 4 again (unacked in the backup).
    const [ack, again] = [await t.hub.send('box', [{ ...win(2, '1.0.0'), count: 1 }]), await t.hub.send('box', [win(4, '2.0.0')])];
    assert.equal(ack.at(-1)?.maxSeq, 5, 'the highest seq held, a parked one');
    assert.ok(inRanges(2, ack.at(-1)?.known ?? []), 'seq 2 is held (parked): the box moves its new window above maxSeq');
    assert.ok(inRanges(4, again.at(-1)?.known ?? []));
    assert.deepEqual(stored(t.hub, 'box'), ['1 1.0.0'], 'nothing stored under a parked seq');
    assert.equal(t.hub.parts.ingest.parked.status('box')?.windows, 4, 'nothing parked twice');

    await push(t);
    assert.equal(await t.hub.parts.ingest.parked.sweep(), 4);
    assert.deepEqual(stored(t.hub, 'box'), ['1 1.0.0', '2 2.0.0', '3 2.0.0', '4 2.0.0', '5 2.0.0']);
    const n = t.hub.h.store.db.prepare("SELECT SUM(count) AS n FROM device_windows WHERE device_id = 'box'").get() as { n: number };
    assert.equal(Number(n.n), 10, 'every parked prediction stored once');
  });
});
