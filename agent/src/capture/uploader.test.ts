// The capture uploader on a real agent.db with an injected clock: chunks not acked are resent after
// resendAfterMs, and a clock stepped back days (NTP) does not hold them, nor the in-flight slots they
// take, until the clock passes the old send time again (drain-timer.ts restartWaitsAhead).
import { test } from 'node:test';
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

test('the clock stepped back days: chunks not acked are resent resendAfterMs after the step, not days later', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-capture-up-'));
  const db = openDb(join(dir, 'agent.db'), [coreMigration, captureMigration]);
  const clock = { t: Date.parse('2026-03-01T12:00:00Z') };
  const c = new Capturer({
    db, deviceId: 'box-1', logger: createLogger('silent'), manifestFor: () => manifest, now: () => clock.t, random: () => 0,
    config: { budgetBytes: 1 << 20, chunkBytes: 256, flushSec: 5, uploadsPerSec: 1000 },
  });
  const up = new CaptureUploader(c, 'box-1', createLogger('silent'), { uploadsPerSec: 1000, inFlight: 2, resendAfterMs: 100 }, () => clock.t);
  t.after(async () => {
    up.pause();
    await c.stop();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  c.apply([{ id: 1, model: 'pump', rate: 1, maxRows: 1000, until: '2030-01-01T00:00:00.000Z', publicKey: key.public, keyId: key.keyId }]);
  for (let r = 0; r < 40; r++) c.record('pump', '1.0.0', [{ name: 'input', datatype: 'FP32', shape: [1, 1], data: new Float32Array([r]) }], []);
  await c.flushNow();
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
