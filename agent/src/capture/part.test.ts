// What the box keeps of a capture once the hub has it (docs/agent.md "Data capture"): acked chunks are
// deleted with secure_delete and, when the capture's last chunk is acked, agent.db's WAL is truncated,
// so none of the uploaded ciphertext stays in the data dir's files (free pages or WAL frames).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBytes, waitFor } from '@edgefleet/examples';
import { CAPTURE_ACK_SCHEMA, newCaptureKeyFile, type CaptureChunk, type Manifest } from '@edgefleet/shared';
import { coreMigration, openDb } from '../store/db.js';
import { WalKeeper } from '../store/wal.js';
import { createLogger } from '../log.js';
import { captureMigration } from './store.js';
import { DataCapture } from './part.js';

const key = newCaptureKeyFile();
const manifest = { features: [{ name: 'speed', index: 0, kind: 'numeric' }] } as unknown as Manifest;

test('once its last chunk is acked, none of a capture\'s ciphertext is left in agent.db\'s files', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-capture-part-'));
  const db = openDb(join(dir, 'agent.db'), [coreMigration, captureMigration]);
  const logger = createLogger('silent');
  const wal = new WalKeeper({ db, logger });
  const part = new DataCapture({
    db, deviceId: 'box-1', logger, manifestFor: () => manifest, random: () => 0, wipeWal: () => wal.truncateSoon(),
    config: { budgetBytes: 1 << 20, chunkBytes: 8192, flushSec: 5, uploadsPerSec: 1000 },
  });
  t.after(async () => {
    await part.stop();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  part.apply([{ id: 1, model: 'pump', rate: 1, maxRows: 1000, until: '2030-01-01T00:00:00.000Z', publicKey: key.public, keyId: key.keyId }]);
  for (let r = 0; r < 1200; r++) part.record('pump', '1.0.0', [{ name: 'input', datatype: 'FP32', shape: [1, 1], data: new Float32Array([r + 0.5]) }], []);
  await part.capturer.flushNow();
  part.apply([]); // stopped: its last chunk
  await part.capturer.flushNow();
  const held = part.capturer.store.pending(100);
  assert.ok(held.length >= 4 && held.at(-1)?.end === 'stopped', `${held.length} chunks held, the last one ends it`);
  const needles = held.flatMap((c) => [c.sealed.data.slice(100, 164), c.sealed.key.box]).filter((x) => x.length >= 32).map((x) => Buffer.from(x));
  assert.ok(findBytes([dir], needles).hits.length >= held.length, 'the scan finds the chunks while they are held');

  const sent: CaptureChunk[] = [];
  part.resume(async (payload) => { sent.push(JSON.parse(payload) as CaptureChunk); });
  for (let acked = 0; acked < held.length;) {
    await waitFor('a chunk sent', () => sent.length > acked || undefined, { intervalMs: 5, timeoutMs: 10_000 });
    const c = sent[acked++]!;
    part.onAck({ schema: CAPTURE_ACK_SCHEMA, captureId: c.captureId, ranges: [[c.seq, c.seq]] });
    if (acked < held.length) assert.ok(findBytes([dir], needles).hits.length > 0, 'a capture still uploading keeps its WAL');
  }
  assert.equal(part.capturer.store.pendingCount(), 0);
  assert.deepEqual(findBytes([dir], needles).hits, []);
});
