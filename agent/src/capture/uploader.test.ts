// The capture uploader on a real agent.db with an injected clock: chunks not acked are resent after
// resendAfterMs, and a clock stepped back days (NTP) does not hold them, nor the in-flight slots they
// take, until the clock passes the old send time again (drain-timer.ts restartWaitsAhead). A chunk the
// hub acks as `taken` (another chunk under its seq: a restored agent.db) moves above the hub's highest seq,
// and the box counts the capture's rows from those the hub holds.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@edgefleet/examples';
import { newCaptureKeyFile, type Manifest } from '@edgefleet/shared';
import { coreMigration, openDb } from '../store/db.js';
import { createLogger } from '../log.js';
import { Capturer } from './capturer.js';
import { captureMigration } from './store.js';
import { CaptureUploader } from './uploader.js';

const key = newCaptureKeyFile();
const manifest = { features: [{ name: 'speed', index: 0, kind: 'numeric' }] } as unknown as Manifest;
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A capturer of capture 1 (chunks of 256 bytes) on a fresh agent.db, its uploader, and `rows` to record and seal some. */
function setup(t: TestContext, opts: { inFlight: number; resendAfterMs: number }, now: () => number = Date.now) {
  const dir = mkdtempSync(join(tmpdir(), 'ef-capture-up-'));
  const db = openDb(join(dir, 'agent.db'), [coreMigration, captureMigration]);
  const c = new Capturer({
    db, deviceId: 'box-1', logger: createLogger('silent'), manifestFor: () => manifest, now, random: () => 0,
    config: { budgetBytes: 1 << 20, chunkBytes: 256, flushSec: 5, uploadsPerSec: 1000 },
  });
  const up = new CaptureUploader(c, 'box-1', createLogger('silent'), { uploadsPerSec: 1000, ...opts }, now);
  t.after(async () => {
    up.pause();
    await c.stop();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  c.apply([{ id: 1, model: 'pump', rate: 1, maxRows: 1000, until: '2030-01-01T00:00:00.000Z', publicKey: key.public, keyId: key.keyId }]);
  const rows = async (from: number, n: number) => {
    for (let r = from; r < from + n; r++) c.record('pump', '1.0.0', [{ name: 'input', datatype: 'FP32', shape: [1, 1], data: new Float32Array([r]) }], []);
    await c.flushNow();
  };
  return { c, up, rows };
}

test('the clock stepped back days: chunks not acked are resent resendAfterMs after the step, not days later', async (t) => {
  const clock = { t: Date.parse('2026-03-01T12:00:00Z') };
  const { c, up, rows } = setup(t, { inFlight: 2, resendAfterMs: 100 }, () => clock.t);
  await rows(0, 40);
  assert.ok(c.store.pending(100).length >= 3, `several chunks: ${c.store.pending(100).length}`);
  const sent: number[] = [];
  up.resume(async (payload) => { sent.push((JSON.parse(payload) as { seq: number }).seq); });
  await waitFor('two chunks in flight', () => sent.length === 2 || undefined, { intervalMs: 5, timeoutMs: 10_000 });
  await settle(150);
  assert.equal(sent.length, 2, 'no more than inFlight without an ack');

  clock.t -= 3 * 86_400_000;
  up.kick(0);
  await settle(150);
  assert.equal(sent.length, 2, 'the step back itself sends nothing');
  clock.t += 101;
  up.kick(0);
  await waitFor('both resent after the step', () => sent.length === 4 || undefined, { intervalMs: 5, timeoutMs: 10_000 });
  assert.deepEqual(sent.slice(2), sent.slice(0, 2));
});

test('a chunk the hub says is taken (another chunk under its seq) moves above the hub\'s highest seq; the next chunk follows it', async (t) => {
  const { c, up, rows } = setup(t, { inFlight: 4, resendAfterMs: 60_000 });
  await rows(0, 2);
  const held = () => c.store.pending(100).map((p) => [p.seq, p.sealed.key.epk] as const);
  const before = held();
  assert.deepEqual(before.map(([seq]) => seq), [1]);
  const sent: number[] = [];
  up.resume(async (payload) => { sent.push((JSON.parse(payload) as { seq: number }).seq); });
  await waitFor('seq 1 sent', () => sent.length === 1 || undefined, { intervalMs: 5, timeoutMs: 10_000 });
  const heldRows = c.store.pending(100)[0]!.rows;
  up.onAck({ schema: 'edgefleet.capture-ack/v1', captureId: 1, ranges: [[1, 1]], taken: [[1, 1]], maxSeq: 7, storedRows: 30 });
  assert.deepEqual(held(), [[8, before[0]![1]]], 'the same sealed chunk, now under 8');
  assert.equal(c.store.rowsOf(1), 30 + heldRows, 'rows count from the hub\'s 30 and the chunk still held');
  await waitFor('seq 8 sent', () => sent.includes(8) || undefined, { intervalMs: 5, timeoutMs: 10_000 });
  await rows(10, 2);
  assert.deepEqual(held().map(([seq]) => seq), [8, 9], 'the next chunk follows');
  // A plain ack (stored new, or a resend of the same chunk) deletes as before; a taken seq not held moves nothing.
  up.onAck({ schema: 'edgefleet.capture-ack/v1', captureId: 1, ranges: [[8, 8]] });
  up.onAck({ schema: 'edgefleet.capture-ack/v1', captureId: 1, ranges: [[3, 3]], taken: [[3, 3]], maxSeq: 7 });
  assert.deepEqual(held().map(([seq]) => seq), [9]);
});

test('a chunk the broker takes later than resendAfterMs is not sent again before its ack can come; unacked, its resends back off', async (t) => {
  const clock = { t: Date.parse('2026-03-01T12:00:00Z') };
  const { c, up, rows } = setup(t, { inFlight: 1, resendAfterMs: 100 }, () => clock.t);
  await rows(0, 4);
  const first = c.store.pending(100)[0]!;
  const sent: number[] = [];
  let publishMs = 500; // a slow link: the broker's PUBACK comes 500 ms after the send
  up.resume(async (payload) => {
    sent.push((JSON.parse(payload) as { seq: number }).seq);
    clock.t += publishMs;
  });
  await waitFor('one chunk sent', () => sent.length === 1 || undefined, { intervalMs: 5, timeoutMs: 10_000 });
  await settle(150);
  assert.deepEqual(sent, [first.seq], 'not sent again the moment the broker took it');
  publishMs = 0;
  clock.t += 101;
  await waitFor('resent 100 ms after the broker took it', () => sent.length === 2 || undefined, { intervalMs: 5, timeoutMs: 10_000 });
  clock.t += 150;
  await settle(150);
  assert.equal(sent.length, 2, 'the second resend waits 200 ms');
  clock.t += 51;
  await waitFor('the second resend', () => sent.length === 3 || undefined, { intervalMs: 5, timeoutMs: 10_000 });
  assert.deepEqual(sent, [first.seq, first.seq, first.seq]);
});
