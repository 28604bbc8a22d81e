// Data capture on a full disk (docs/agent.md "Data capture"): SQLite refuses a chunk (SQLITE_FULL,
// simulated with max_page_count on a real agent.db). Its rows are not kept and are counted as skipped, not
// taken (maxRows still counts rows stored), the refusal shows in the agent's disk-full state (GET
// /v2/health `diskFull`), and the capture keeps capturing; a capture's last chunk refused is tried again
// at each tick until there is room, so the hub still learns how it ended. A last chunk and the capture's
// status are written in one transaction: no last chunk under a capture still `capturing` (a kill -9 at the
// status write, simulated by a throw there, leaves neither).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newCaptureKeyFile, type DesiredCapture, type Manifest } from '@edgefleet/shared';
import { coreMigration, openDb, type Db } from '../store/db.js';
import { createLogger } from '../log.js';
import { DiskFullState } from '../disk-full.js';
import { Capturer } from './capturer.js';
import { captureMigration } from './store.js';
import type { RecordedTensor } from '../runtime/recorder.js';

const key = newCaptureKeyFile();
const manifest = { features: [{ name: 'speed', index: 0, kind: 'numeric' }] } as unknown as Manifest;
const spec: DesiredCapture = { id: 7, model: 'pump', rate: 1, maxRows: 4, until: '2030-01-01T00:00:00.000Z', publicKey: key.public, keyId: key.keyId };
const feed = (v: number): RecordedTensor[] => [{ name: 'input', datatype: 'FP32', shape: [1, 1], data: new Float32Array([v]) }];
// Rows of ~1.7 KB (two to a chunk), so a chunk needs a page of its own: it cannot fit in what the full database has left.
const out: RecordedTensor[] = [{ name: 'score', datatype: 'FP32', shape: [1, 400], data: new Float32Array(400).fill(0.5) }];

describe('data capture on a full disk', () => {
  let dir: string;
  let db: Db;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ef-capture-full-'));
    db = openDb(join(dir, 'agent.db'), [coreMigration, captureMigration]);
  });
  after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The database may not grow by a page more (what a full disk does to SQLite), or may again. */
  const fill = () => {
    db.exec('CREATE TABLE IF NOT EXISTS ballast (b BLOB)');
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
    // Down to the last free bytes of the last page, and of the capture tables' own pages.
    let n = 0;
    for (const insert of [
      ...[4096, 512, 16].map((size) => () => db.prepare('INSERT INTO ballast VALUES (zeroblob(?))').run(size)),
      () => db.prepare("INSERT INTO capture_chunks VALUES (999, ?, 0, NULL, 0, '{}', '')").run(++n),
      () => db.prepare("INSERT INTO captures (id, spec, status, updated) VALUES (?, '{}', 'stopped', '')").run(1000 + ++n),
    ]) {
      try {
        for (;;) insert();
      } catch (err) {
        assert.equal((err as { code?: string }).code, 'SQLITE_FULL');
      }
    }
  };
  const room = () => {
    db.exec('DROP TABLE ballast; DELETE FROM capture_chunks WHERE capture_id = 999; DELETE FROM captures WHERE id > 999');
    db.pragma('max_page_count = 1073741823');
  };

  it('skips the rows of a refused chunk, captures on, shows the refusal, and stores a last chunk once there is room', async () => {
    const disk = new DiskFullState();
    const c = new Capturer({
      db, deviceId: 'box-1', logger: createLogger('silent'), manifestFor: () => manifest, now: () => Date.parse('2026-03-01T12:00:00Z'), random: () => 0, disk,
      config: { budgetBytes: 1 << 20, chunkBytes: 4096, flushSec: 1, uploadsPerSec: 2 },
    });
    c.apply([spec]);
    for (let r = 0; r < 2; r++) c.record('pump', '1.0.0', feed(r), out);
    await c.flushNow();
    assert.equal(c.store.rowsOf(7), 2);

    // Two more rows reach maxRows 4: their chunk, the capture's last, is refused. It has not got them: it captures on.
    fill();
    for (let r = 2; r < 6; r++) c.record('pump', '1.0.0', feed(r), out);
    await c.flushNow();
    assert.deepEqual(disk.report()?.refusing.map((x) => x.what), ['captured rows'], 'the refusal shows on /v2/health');
    assert.deepEqual([c.activeIds(), c.store.all()[0]?.status, c.store.rowsOf(7)], [[7], 'capturing', 2], 'still capturing, 2 rows taken');

    // Stopped by the hub while the disk is full: the last chunk waits, and no more rows are taken.
    c.apply([]);
    await c.flushNow();
    c.record('pump', '1.0.0', feed(99), out);
    assert.equal(c.store.all()[0]?.status, 'capturing', 'nothing stored while the disk is full');

    room();
    c.start(); // its tick (every flushSec) stores the waiting last chunk
    try {
      for (let i = 0; i < 200 && c.store.all()[0]?.status === 'capturing'; i++) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await c.stop();
    }
    const [rec] = c.store.all();
    assert.deepEqual([rec?.status, rec?.rows], ['stopped', 2]);
    const chunks = c.store.pending(100);
    assert.deepEqual(chunks.map((x) => [x.rows, x.end]), [[2, null], [0, 'stopped']]);
    assert.equal(chunks[1]?.reason, 'no longer in the desired document; 6 requests of pump answered; 2 rows kept, 2 skipped (2 refused by a full disk)');
    assert.equal(disk.report(), null, 'the refusal went once a chunk was stored');
  });

  it('writes a last chunk and the capture\'s end in one transaction: a write that dies between them leaves neither', () => {
    const store = new Capturer({
      db, deviceId: 'box-1', logger: createLogger('silent'), manifestFor: () => manifest, config: { budgetBytes: 1 << 20, chunkBytes: 4096, flushSec: 1, uploadsPerSec: 2 },
    }).store;
    store.add({ ...spec, id: 8 }, new Date());
    const setStatus = store.setStatus.bind(store);
    store.setStatus = () => { throw Object.assign(new Error('killed'), { code: 'SQLITE_IOERR' }); }; // the process dies at the status write
    assert.throws(() => store.addChunk(8, 0, 'expired', { v: 1 } as never, new Date(), 'until passed'), /killed/);
    store.setStatus = setStatus;
    assert.deepEqual(store.pending(100).filter((x) => x.captureId === 8), [], 'no last chunk under a capture still capturing');
    assert.equal(store.all().find((x) => x.id === 8)?.status, 'capturing');
  });
});
