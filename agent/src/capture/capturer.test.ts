// The capturer on a real agent.db: it samples the share asked for, keeps the requested features per
// row of a request, ends at maxRows, seals every chunk to the capture key (the chunks open with the
// private key; no plaintext in the data dir), holds at most budgetBytes and ends as budget_full at the
// bound, skips a row larger than a chunk, stops when a document no longer lists it, and drops what it
// holds when the hub refuses it (also a box put back from a backup that captured offline past the hub's
// rows: at most maxRows from its restored count). A chunk never holds more than chunkBytes of rows (UTF-8), however the
// rows arrive, so its sealed size stays within what the hub takes. Random draws and time are injected.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBytes } from '@edgefleet/examples';
import { newCaptureKeyFile, openRows, parseCaptureKeyFile, sealedRowsBytes, type CapturedRow, type DesiredCapture, type Manifest } from '@edgefleet/shared';
import { coreMigration, openDb, type Db } from '../store/db.js';
import { createLogger } from '../log.js';
import { Capturer, DEFAULT_CAPTURE_CONFIG, type CaptureConfig } from './capturer.js';
import { captureMigration } from './store.js';
import type { RecordedTensor } from '../runtime/recorder.js';

const key = newCaptureKeyFile();
const pair = parseCaptureKeyFile(JSON.stringify(key), 'key');
const manifest = { features: [{ name: 'speed', index: 0, kind: 'numeric' }, { name: 'temp', index: 1, kind: 'numeric' }, { name: 'load', index: 2, kind: 'numeric' }] } as unknown as Manifest;
const spec = (o: Partial<DesiredCapture> = {}): DesiredCapture => ({
  id: 1, model: 'pump', rate: 1, maxRows: 1000, until: '2030-01-01T00:00:00.000Z', publicKey: key.public, keyId: key.keyId, ...o,
});
const feed = (rows: number[][]): RecordedTensor[] => [{ name: 'input', datatype: 'FP32', shape: [rows.length, 3], data: new Float32Array(rows.flat()) }];
const out: RecordedTensor[] = [{ name: 'score', datatype: 'FP32', shape: [1, 1], data: new Float32Array([0.25]) }];

describe('capturer', () => {
  let dir: string;
  let db: Db;
  const make = (config: Partial<CaptureConfig> = {}, random: () => number = () => 0) => new Capturer({
    db, deviceId: 'box-1', logger: createLogger('silent'), manifestFor: () => manifest, now: () => Date.parse('2026-03-01T12:00:00Z'), random,
    config: { budgetBytes: 1 << 20, chunkBytes: 4096, flushSec: 5, uploadsPerSec: 2, ...config },
  });
  const rowsOf = (c: Capturer, id: number): CapturedRow[] => c.store.pending(10_000).filter((x) => x.captureId === id)
    .flatMap((x) => openRows(x.sealed, pair, 'chunk').toString().split('\n').filter(Boolean).map((l) => JSON.parse(l) as CapturedRow));

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ef-capture-'));
    db = openDb(join(dir, 'agent.db'), [coreMigration, captureMigration]);
  });
  after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('samples the share asked for, keeps the requested features per row, ends at maxRows, sealed', async () => {
    let i = 0;
    const c = make({}, () => (i++ % 2 === 0 ? 0.1 : 0.9)); // every other draw is under rate 0.5
    c.apply([spec({ rate: 0.5, maxRows: 5, features: ['speed', 'load'] })]);
    for (let r = 0; r < 20; r++) c.record('pump', '1.0.0', feed([[r, 100 + r, 200 + r], [-r - 1, -1, -2]]), out);
    c.record('other', '1.0.0', feed([[1, 2, 3]]), out);
    await c.flushNow();
    const rows = rowsOf(c, 1);
    assert.equal(rows.length, 5);
    assert.deepEqual(rows.map((r) => r.inputs), [0, 2, 4, 6, 8].map((r) => ({ speed: [r, -r - 1], load: [200 + r, -2] })));
    assert.deepEqual(rows[0]!.outputs, { score: [0.25] });
    assert.equal(rows[0]!.device, 'box-1');
    assert.deepEqual(c.store.all().map((x) => [x.id, x.status, x.rows]), [[1, 'done', 5]]);
    assert.equal(c.store.pending(100).at(-1)?.end, 'done');
    assert.equal(c.store.pending(100).at(-1)?.reason, 'maxRows 5 captured; 20 requests of pump answered; 5 rows kept, 0 skipped');
    assert.deepEqual(findBytes([dir], [Buffer.from('"speed":[0,')]).hits, [], 'no plaintext in the data dir');
    await c.stop();
  });

  it('holds at most budgetBytes and ends as budget_full at the bound; a row larger than a chunk is skipped', async () => {
    const budget = 20_000;
    const c = make({ budgetBytes: budget, chunkBytes: 1024 });
    c.apply([spec({ id: 2 })]);
    c.record('pump', '1.0.0', [{ name: 'input', datatype: 'FP32', shape: [400, 3], data: new Float32Array(1200) }], out);
    for (let r = 0; r < 400 && c.activeIds().includes(2); r++) {
      c.record('pump', '1.0.0', feed([[r, r, r]]), out);
      if (r % 10 === 0) await c.flushNow();
    }
    await c.flushNow();
    assert.equal(c.store.all().find((x) => x.id === 2)?.status, 'budget_full');
    assert.ok(c.store.heldBytes() <= budget, `${c.store.heldBytes()} bytes held of ${budget}`);
    assert.ok(c.store.heldBytes() > budget / 2, 'filled up to near the bound');
    const held = c.store.pending(1000).filter((x) => x.captureId === 2);
    const last = held.at(-1);
    assert.equal(last?.end, 'budget_full');
    assert.ok(held.slice(0, -1).every((x) => x.reason === null), 'only the last chunk says why');
    const kept = rowsOf(c, 2).length;
    assert.match(last?.reason ?? '', new RegExp(`^capture\\.budgetBytes ${budget} full of chunks waiting for upload: capturing stopped, the \\d+ rows of its last chunk not kept; \\d+ requests of pump answered; ${kept} rows kept, 1 skipped$`));
    assert.ok(rowsOf(c, 2).every((r) => (r.inputs['speed'] as number[]).length === 1), 'the 400-row request was skipped');
    c.store.dropCapture(2);
    await c.stop();
  });

  it('a capture of a version the box does not answer ends saying so', async () => {
    const c = make();
    c.apply([spec({ id: 9, version: '2.0.0', until: '2026-03-01T12:00:01.000Z' })]);
    c.record('pump', '1.0.0', feed([[1, 2, 3]]), out);
    c.apply([]);
    await c.flushNow();
    const last = c.store.pending(100).filter((x) => x.captureId === 9);
    assert.deepEqual(last.map((x) => [x.rows, x.end]), [[0, 'stopped']]);
    assert.equal(last[0]?.reason, 'no longer in the desired document; no request of pump 2.0.0 answered here (does this device run it?); 0 rows kept, 0 skipped');
    c.store.dropCapture(9);
    await c.stop();
  });

  it('stops when a document no longer lists it (buffered rows sealed), and ignores an ended capture listed again', async () => {
    const c = make();
    c.apply([spec({ id: 3 })]);
    c.record('pump', '1.0.0', feed([[1, 2, 3]]), out);
    c.apply([]);
    await c.flushNow();
    assert.equal(c.store.all().find((x) => x.id === 3)?.status, 'stopped');
    assert.equal(rowsOf(c, 3).length, 1);
    c.apply([spec({ id: 3 })]);
    assert.deepEqual(c.activeIds(), []);
    c.record('pump', '1.0.0', feed([[1, 2, 3]]), out);
    await c.flushNow();
    assert.equal(rowsOf(c, 3).length, 1);
    await c.stop();
  });

  it('a capture refused by the hub is dropped from the box; a restart resumes one in progress', async () => {
    const c = make();
    c.apply([spec({ id: 4 }), spec({ id: 5 })]);
    c.record('pump', '1.0.0', feed([[1, 2, 3]]), out);
    await c.flushNow();
    c.refused(4, 'storage_quota: full');
    assert.equal(c.store.pending(100).filter((x) => x.captureId === 4).length, 0);
    assert.equal(c.store.all().find((x) => x.id === 4)?.status, 'refused');
    await c.stop();
    const again = make();
    assert.deepEqual(again.activeIds(), [5]);
    await again.stop();
  });

  /** Each chunk of a capture: its rows' plaintext size and its stored (sealed) size. */
  const chunksOf = (c: Capturer, id: number) => c.store.pending(10_000).filter((x) => x.captureId === id)
    .map((x) => ({ rows: x.rows, plain: openRows(x.sealed, pair, 'chunk').length, stored: JSON.stringify(x.sealed).length, end: x.end }));
  /** A request of `n` rows; with one feature kept its line is about 18 bytes a row. */
  const wide = (n: number): RecordedTensor[] => [{ name: 'input', datatype: 'FP32', shape: [n, 3], data: new Float32Array(Array.from({ length: 3 * n }, (_, i) => i + 0.123456)) }];

  it('seals the buffer before a row that would pass chunkBytes: a chunk holds at most chunkBytes of rows, whether they come at once or apart', async () => {
    const { chunkBytes } = DEFAULT_CAPTURE_CONFIG;
    const c = make({ chunkBytes });
    c.apply([spec({ id: 6, maxRows: 100, features: ['speed'] })]);
    // Rows of ~27 KB answered within one turn of the event loop, then rows of ~50 KB a turn apart.
    for (let i = 0; i < 5; i++) c.record('pump', '1.0.0', wide(1500), out);
    for (let i = 0; i < 3; i++) {
      c.record('pump', '1.0.0', wide(3300), out);
      await new Promise((r) => setImmediate(r));
    }
    await c.flushNow();
    const chunks = chunksOf(c, 6);
    assert.ok(chunks.some((ch) => ch.rows > 1), 'rows that fit share a chunk');
    for (const ch of chunks) {
      assert.ok(ch.plain <= chunkBytes, `a chunk of ${ch.rows} rows holds ${ch.plain} bytes of rows; chunkBytes ${chunkBytes}`);
      assert.equal(ch.stored, sealedRowsBytes(ch.plain));
      assert.ok(ch.stored <= sealedRowsBytes(chunkBytes));
    }
    assert.deepEqual(rowsOf(c, 6).map((r) => (r.inputs['speed'] as number[]).length), [1500, 1500, 1500, 1500, 1500, 3300, 3300, 3300], 'every row kept, in order');
    c.store.dropCapture(6);
    await c.stop();
  });

  it('takes the smaller chunkBytes a hub asks for in the desired capture, and a later document\'s', async () => {
    const c = make({ chunkBytes: DEFAULT_CAPTURE_CONFIG.chunkBytes });
    c.apply([spec({ id: 7, maxRows: 100, features: ['speed'], chunkBytes: 20_000 })]);
    for (let i = 0; i < 5; i++) c.record('pump', '1.0.0', wide(1500), out); // ~27 KB each: over 20,000, so skipped
    for (let i = 0; i < 6; i++) { // ~14 KB each, a turn apart: one to a chunk
      c.record('pump', '1.0.0', wide(800), out);
      await new Promise((r) => setImmediate(r));
    }
    await c.flushNow();
    assert.deepEqual(chunksOf(c, 7).map((ch) => ch.rows), [1, 1, 1, 1, 1, 1]);
    assert.ok(chunksOf(c, 7).every((ch) => ch.plain <= 20_000));
    c.apply([spec({ id: 7, maxRows: 100, features: ['speed'] })]); // the hub's limit raised: the box's own again
    for (let i = 0; i < 4; i++) c.record('pump', '1.0.0', wide(800), out);
    await c.flushNow();
    assert.deepEqual(chunksOf(c, 7).slice(6).map((ch) => ch.rows), [4]);
    c.store.dropCapture(7);
    await c.stop();
  });

  it('counts a row in UTF-8 bytes: one whose characters fit chunkBytes but whose bytes do not is skipped', async () => {
    const c = make({ chunkBytes: 4096 });
    c.apply([spec({ id: 7 })]);
    const text = (s: string): RecordedTensor[] => [{ name: 'input', datatype: 'BYTES', shape: [1, 3], data: [s, 'b', 'c'] }];
    c.record('pump', '1.0.0', text('é'.repeat(2500)), out); // 2.6 K characters, 5.1 KB
    c.record('pump', '1.0.0', text('é'.repeat(1500)), out); // 3.1 KB
    c.record('pump', '1.0.0', text('é'.repeat(1500)), out);
    await c.flushNow();
    const chunks = chunksOf(c, 7);
    assert.deepEqual(chunks.map((ch) => ch.rows), [1, 1]);
    for (const ch of chunks) assert.ok(ch.plain <= 4096, `${ch.plain} bytes of rows in a chunk`);
    assert.deepEqual(rowsOf(c, 7).map((r) => (r.inputs['speed'] as string[])[0]!.length), [1500, 1500]);
    c.store.dropCapture(7);
    await c.stop();
  });

  it('stores nothing of a capture after its last chunk: chunks still waiting when the budget ends it are dropped', async () => {
    const c = make({ chunkBytes: 4096, budgetBytes: 4000 });
    c.apply([spec({ id: 8 })]);
    // Within one turn: a chunk's worth (sealed, it passes the budget), then a small row that starts the next.
    for (let i = 0; i < 3; i++) c.record('pump', '1.0.0', wide(60), out);
    c.record('pump', '1.0.0', feed([[1, 2, 3]]), out);
    await c.flushNow();
    assert.deepEqual(chunksOf(c, 8).map((ch) => [ch.rows, ch.end]), [[0, 'budget_full']]);
    assert.equal(c.store.all().find((x) => x.id === 8)?.status, 'budget_full');
    c.store.dropCapture(8);
    await c.stop();
  });

  it('counts from the rows the hub holds (a taken ack, agent.db put back from a backup): ends at maxRows, a hub count past it is bounded', async () => {
    const c = make();
    c.apply([spec({ id: 11, maxRows: 10 }), spec({ id: 12, maxRows: 10 })]);
    for (let r = 0; r < 3; r++) c.record('pump', '1.0.0', feed([[r, r, r]]), out);
    await c.flushNow();
    const count = (id: number) => c.store.all().find((x) => x.id === id);
    c.hubHolds(11, 0); // the box counts as much already: nothing changes
    assert.equal(count(11)?.rows, 3);
    c.hubHolds(11, 5); // the hub holds 5, the box 3 more in a chunk not at the hub: 8 taken, room for 2
    assert.equal(count(11)?.rows, 8);
    for (let r = 0; r < 5; r++) c.record('pump', '1.0.0', feed([[r, r, r]]), out);
    await c.flushNow();
    assert.deepEqual({ status: count(11)?.status, rows: count(11)?.rows, held: chunksOf(c, 11).map((ch) => [ch.rows, ch.end]) }, { status: 'done', rows: 10, held: [[3, null], [2, 'done']] });
    c.hubHolds(12, Number.MAX_SAFE_INTEGER); // taken as maxRows (10) + the 8 rows held here
    await c.flushNow();
    assert.deepEqual({ status: count(12)?.status, rows: count(12)?.rows }, { status: 'done', rows: 18 });
    await c.stop();
  });

  it('restored and offline: what it takes past the hub\'s rows is bounded by maxRows and the budget, and goes when the hub refuses it', async () => {
    // The hub holds 20 rows of maxRows 26; the backup put back counted 10 (acked, not held). Offline, the
    // box counts from 10 (decision 0073 "Not caught"): it takes 16 more, ends done and holds them.
    const c = make({ budgetBytes: 64 * 1024 });
    c.apply([spec({ id: 13, maxRows: 26 })]);
    for (let r = 0; r < 10; r++) c.record('pump', '1.0.0', feed([[r, r, r]]), out);
    await c.flushNow();
    c.store.acked(13, [[0, Number.MAX_SAFE_INTEGER]]); // at the hub before the backup was taken
    for (let r = 0; r < 100; r++) c.record('pump', '1.0.0', feed([[r, r, r]]), out);
    await c.flushNow();
    const record = () => c.store.all().find((x) => x.id === 13);
    assert.deepEqual({ status: record()?.status, held: chunksOf(c, 13).reduce((n, ch) => n + ch.rows, 0) }, { status: 'done', held: 16 });
    assert.ok(c.store.heldBytes() <= 64 * 1024, `${c.store.heldBytes()} bytes held`);
    c.hubHolds(13, 20); // back online: the first chunk's taken ack
    for (let r = 0; r < 10; r++) c.record('pump', '1.0.0', feed([[r, r, r]]), out);
    await c.flushNow();
    assert.deepEqual({ status: record()?.status, rows: record()?.rows, held: chunksOf(c, 13).reduce((n, ch) => n + ch.rows, 0) }, { status: 'done', rows: 36, held: 16 }, 'nothing more is taken');
    // The hub refuses the chunk that passes its maxRows (too_many_rows): the box drops all it holds of it.
    c.store.dropCapture(13);
    assert.equal(chunksOf(c, 13).length, 0);
    await c.stop();
  });
});
