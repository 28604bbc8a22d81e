// The write deadline's sweep coming late (../write-deadline.ts): when the event loop was held (a long
// collection, a loaded machine) the sweep runs before the I/O that waited with it, and a REST client reading
// steadily looked stuck and was cut (write-deadline.test.ts failed so on a loaded VM). A late sweep closes
// nothing; the next one judges, and a connection that really took nothing is still closed then. A fake
// clock says how late each sweep is; the sweeps themselves are the deadline's own timer, waited for.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { waitFor } from '@edgefleet/examples';
import { WriteDeadline } from './write-deadline.js';

/** A connection `s` holding answer bytes: the kernel has taken `taken` of them; `cut` once closed. */
function holding(): { s: Socket; taken: number; cut: boolean } {
  const h = { s: undefined as unknown as Socket, taken: 0, cut: false };
  const s = Object.assign(new EventEmitter(), { writableLength: 1000, resetAndDestroy: () => (h.cut = true) });
  Object.defineProperty(s, 'bytesWritten', { get: () => h.taken });
  h.s = s as unknown as Socket;
  return h;
}

describe('write deadline, a sweep that comes late', () => {
  /** A deadline of 40 ms (a sweep every 10 ms) on a clock the test moves; `sweeps()` counts the sweeps. */
  function deadline() {
    let t = 0;
    let reads = 0;
    const d = new WriteDeadline(40, () => undefined, () => {
      reads++;
      return t;
    });
    const nextSweep = async () => {
      const at = reads;
      await waitFor('a sweep', () => (reads > at ? true : undefined), { timeoutMs: 5_000, intervalMs: 2 });
    };
    return { d, set: (ms: number) => (t = ms), nextSweep };
  }

  it('closes nothing on a late sweep, and keeps a client whose bytes moved once the I/O ran', async () => {
    const { d, set, nextSweep } = deadline();
    const s = holding();
    d.socket(s.s);
    await nextSweep(); // stuck since 0
    set(10);
    await nextSweep();
    set(5_000); // the loop was held for 5 s: the client could not read meanwhile
    await nextSweep();
    assert.equal(s.cut, false);
    s.taken += 500; // the I/O that waited: the client took bytes
    set(5_010);
    await nextSweep();
    set(5_020);
    await nextSweep();
    assert.equal(s.cut, false);
    s.s.emit('close');
  });

  it('closes a connection that took nothing on the sweep after, even when that one is late too', async () => {
    for (const after of [10, 5_000]) {
      const { d, set, nextSweep } = deadline();
      const s = holding();
      d.socket(s.s);
      await nextSweep();
      set(10);
      await nextSweep();
      set(5_000);
      await nextSweep();
      assert.equal(s.cut, false);
      set(5_000 + after);
      await nextSweep();
      assert.equal(s.cut, true, `next sweep ${after} ms later`);
      assert.match(d.metrics(), /\{transport="rest"\} 1/);
    }
  });

  it('closes a stalled connection on an on-time sweep, as before', async () => {
    const { d, set, nextSweep } = deadline();
    const s = holding();
    d.socket(s.s);
    for (let t = 0; t <= 40; t += 10) {
      set(t);
      await nextSweep();
    }
    assert.equal(s.cut, true);
  });
});
