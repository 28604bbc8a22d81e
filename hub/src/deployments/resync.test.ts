// DesiredResync (external broker): the lease holder publishes again the latest document of each device
// that has not reported applying it — all of them when it starts, then only documents older than
// settleMs, each (device, seq) once — and nothing for devices that applied theirs or are revoked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReportedState, type DesiredDocument } from '@edgefleet/shared';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { ManualClock } from '../testing/harness.js';
import { RecordingLogger, stateMsg } from '../mqtt/testing/devices.js';
import { DesiredResync } from './resync.js';

test('documents devices have not applied are published again, once each, after they settle', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-resync-'));
  const store = Store.open(dir, HUB_MIGRATIONS);
  const clock = new ManualClock();
  const published: string[] = [];
  const resync = new DesiredResync({ store, clock, logger: new RecordingLogger(), publish: (docs) => { published.push(...docs.map((d) => `${d.signed.deviceId}#${d.signed.seq}`)); return Promise.resolve(); } }, { everyMs: 3_600_000, settleMs: 10_000 });
  // Only the envelope fields the store reads; the signature is not checked here.
  const put = (deviceId: string, seq: number) => store.desired.put({ signed: { deviceId, seq, issued: clock.now().toISOString(), expires: '2027-01-01T00:00:00.000Z' }, signatures: [] } as unknown as DesiredDocument);
  const applied = (deviceId: string, seq: number) => store.devices.setReported(deviceId, ReportedState.parse(JSON.parse(stateMsg(deviceId, seq))));
  try {
    for (const id of ['a', 'b', 'c', 'd']) store.devices.create(id, `secret-${id}-0123456789abcdef`, {}, null, clock.now());
    put('a', 1); put('a', 2); applied('a', 1); // a: 2 unapplied
    put('b', 1); applied('b', 1); // b: applied
    put('c', 1); // c: never reported
    put('d', 1); store.devices.revoke('d', clock.now()); // d: revoked
    await resync.start();
    assert.deepEqual(published.sort(), ['a#2', 'c#1'], 'at start: every unapplied latest document');
    published.length = 0;
    clock.advance(60_000);
    assert.equal(await resync.run(10_000), 0, 'the same (device, seq) is not sent twice');
    put('c', 2);
    assert.equal(await resync.run(10_000), 0, 'a document issued just now is left to settle');
    clock.advance(10_000);
    assert.equal(await resync.run(10_000), 1);
    assert.deepEqual(published, ['c#2']);
    applied('c', 2);
    clock.advance(60_000);
    assert.equal(await resync.run(10_000), 0);
  } finally {
    resync.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
