// Data capture cost (docs/decisions/0035-data-capture.md): CPU time per prediction that the request
// path pays in the real Capturer (one row of 12 FP32 features, 2 outputs), against the baseline of
// the same Capturer with no capture for this model (what every box pays) in the same run; and, off
// the request path, the sealing and storing of the captured rows (per row and per 64 KiB chunk).
// Rows are recorded in batches of 100 with a flush between batches (as the flush timer does), so the
// row buffer never overflows and every drawn row is really kept.
//   node --conditions=source --import tsx agent/bench/capture.bench.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { newCaptureKeyFile, type DesiredCapture, type Manifest } from '@edgefleet/shared';
import { coreMigration, openDb } from '../src/store/db.js';
import { createLogger } from '../src/log.js';
import { Capturer } from '../src/capture/capturer.js';
import { captureMigration } from '../src/capture/store.js';
import type { RecordedTensor } from '../src/runtime/recorder.js';

const F = 12;
const BATCH = 100;
const BATCHES = 1000;
const key = newCaptureKeyFile();
const manifest = { features: Array.from({ length: F }, (_, i) => ({ name: `feature_${i}`, index: i, kind: 'numeric' })) } as unknown as Manifest;
const dir = mkdtempSync(join(tmpdir(), 'ef-capture-bench-'));
const db = openDb(join(dir, 'agent.db'), [coreMigration, captureMigration]);
let seed = 7;
const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
const rows = Array.from({ length: 256 }, () => ({
  x: [{ name: 'input', datatype: 'FP32', shape: [1, F], data: Float32Array.from({ length: F }, () => rnd() * 100) }] as RecordedTensor[],
  y: [{ name: 'score', datatype: 'FP32', shape: [1, 2], data: Float32Array.from([rnd(), rnd()]) }] as RecordedTensor[],
}));
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

async function run(name: string, spec: DesiredCapture | null): Promise<{ name: string; recordNs: number; sealUsPerRow: number; sealUsPerChunk: number; rows: number; chunks: number }> {
  db.exec('DELETE FROM captures; DELETE FROM capture_chunks;');
  const c = new Capturer({
    db, deviceId: 'bench', logger: createLogger('silent'), manifestFor: () => manifest,
    config: { budgetBytes: 1 << 30, chunkBytes: 64 * 1024, flushSec: 300, uploadsPerSec: 1 },
  });
  c.apply(spec ? [spec] : []);
  let recordUs = 0;
  let sealUs = 0;
  for (let b = 0; b < BATCHES; b++) {
    const t0 = cpuUs();
    for (let i = 0; i < BATCH; i++) {
      const r = rows[(b * BATCH + i) & 255]!;
      c.record('pump', '1.0.0', r.x, r.y);
    }
    const t1 = cpuUs();
    await c.flushNow();
    recordUs += t1 - t0;
    sealUs += cpuUs() - t1;
  }
  await c.stop();
  const n = BATCH * BATCHES;
  const kept = c.store.all()[0]?.rows ?? 0;
  const chunks = c.store.pendingCount();
  return { name, recordNs: (recordUs * 1000) / n, sealUsPerRow: kept ? sealUs / kept : 0, sealUsPerChunk: chunks ? sealUs / chunks : 0, rows: kept, chunks };
}

const spec = (rate: number): DesiredCapture => ({ id: 1, model: 'pump', rate, maxRows: 1_000_000, until: '2099-01-01T00:00:00.000Z', publicKey: key.public, keyId: key.keyId });
const results = [];
results.push(await run('no capture for this model (baseline)', { ...spec(1), model: 'other' }));
for (const rate of [0.01, 0.1, 1]) results.push(await run(`capture at rate ${rate}`, spec(rate)));
const base = results[0]!.recordNs;
console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${BATCH * BATCHES} predictions per case`);
for (const r of results) {
  console.log(`${r.name.padEnd(40)} record ${r.recordNs.toFixed(0).padStart(6)} ns/prediction (${(r.recordNs / base).toFixed(1)}x baseline)`
    + `  rows kept ${String(r.rows).padStart(6)} in ${r.chunks} chunks; sealing+storing ${r.sealUsPerRow.toFixed(1)} µs/row, ${r.sealUsPerChunk.toFixed(0)} µs/chunk off the request path`);
}
db.close();
rmSync(dir, { recursive: true, force: true });
