// Data capture on the box (docs/agent.md "Data capture", docs/decisions/0035-data-capture.md): the
// captures of the desired document sample a share of a model's requests off the request path. A
// sampled request costs one random draw and one JSON line in memory; every `flushSec` (or when the
// next line would not fit in `chunkBytes`) the lines are sealed to the operators' capture key and
// stored in agent.db, within `budgetBytes` of ciphertext: a capture that would pass it ends as
// budget_full (reported to the hub in its last chunk). Plaintext rows exist only in memory, for at
// most flushSec. A chunk holds at most chunkBytes of rows (UTF-8), so its sealed size is at most
// sealedRowsBytes(chunkBytes), which the hub's capture.maxChunkBytes allows (docs/hub.md "Data capture"); a
// hub whose maxPayloadBytes takes less asks for smaller chunks in the desired capture (its chunkBytes).
import { sealRows, toAppError } from '@edgefleet/shared/core';
import type { DesiredCapture, Manifest } from '@edgefleet/shared';
import type { PredictionRecorder, RecordedTensor } from '../runtime/recorder.js';
import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';
import type { DiskFullState } from '../disk-full.js';
import { CaptureStore, type CaptureStatus } from './store.js';
import { plain, rowInputs } from './rows.js';
import { endReason, type Active } from './active.js';

export interface CaptureConfig {
  /** Ciphertext bytes of captured rows held on the box (waiting for upload). */
  budgetBytes: number;
  /** Plaintext bytes of rows per sealed chunk, at most (and the largest row kept). */
  chunkBytes: number;
  /** Rows wait in memory at most this long before they are sealed. */
  flushSec: number;
  /** Chunks uploaded per second at most. */
  uploadsPerSec: number;
}

export const DEFAULT_CAPTURE_CONFIG: CaptureConfig = { budgetBytes: 16 * 1024 * 1024, chunkBytes: 64 * 1024, flushSec: 5, uploadsPerSec: 2 };

/** Room kept in the budget for a capture's last (empty) chunk, which says how it ended. */
const END_ROOM = 2048;

/**
 * Plaintext held per capture, in chunks' worth: the lines being buffered and those handed to sealing
 * and not sealed yet. A burst of rows within one turn of the event loop past it is skipped (counted).
 */
const MAX_HELD_CHUNKS = 3;

export interface CapturerDeps {
  db: Db;
  deviceId: string;
  config: CaptureConfig;
  logger: Logger;
  manifestFor: (name: string, version: string) => Manifest | undefined;
  now?: () => number;
  random?: () => number;
  /** A chunk was stored (the uploader sends it). */
  stored?: () => void;
  /** Told when a full disk refuses a chunk and when one is stored again (GET /v2/health `diskFull`). */
  disk?: DiskFullState;
}


export class Capturer implements PredictionRecorder {
  readonly store: CaptureStore;
  private readonly active = new Map<number, Active>();
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  private readonly now: () => number;
  private readonly random: () => number;
  /** Requests whose row could not be made (logged once). */
  failures = 0;

  constructor(private readonly d: CapturerDeps) {
    this.store = new CaptureStore(d.db);
    this.now = d.now ?? Date.now;
    this.random = d.random ?? Math.random;
    for (const r of this.store.all()) {
      if (r.status === 'capturing') this.active.set(r.id, { spec: r.spec, hubChunkBytes: r.spec.chunkBytes, until: Date.parse(r.spec.until), rows: r.rows, lines: [], bytes: 0, sealing: 0, skipped: 0, diskSkipped: 0, seen: 0, resumed: true });
    }
  }

  start(): void {
    this.timer ??= setInterval(() => this.tick(), this.d.config.flushSec * 1000);
    this.timer.unref();
  }

  /** Seals what is buffered (every capture keeps capturing after a restart). Bounded by the caller's deadline. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const a of this.active.values()) this.flush(a, null);
    await this.chain;
  }

  /** Seals what is buffered now and resolves when every chunk so far is stored (tests, status). */
  async flushNow(): Promise<void> {
    await new Promise((r) => setImmediate(r)); // flushes and ends scheduled by record()
    for (const a of this.active.values()) this.flush(a, null);
    await this.chain;
  }

  /** Captures in progress (status, metrics, tests). */
  activeIds(): number[] {
    return [...this.active.keys()];
  }

  /** The captures of a new desired document: new ones start, ones no longer listed stop. */
  apply(specs: readonly DesiredCapture[]): void {
    const at = new Date(this.now());
    const known = new Map(this.store.all().map((r) => [r.id, r]));
    for (const s of specs) {
      const a = this.active.get(s.id);
      // The hub asks for smaller chunks when its maxPayloadBytes changed: the next rows take it.
      if (a) a.hubChunkBytes = s.chunkBytes;
      if (known.has(s.id)) continue;
      this.store.add(s, at);
      this.active.set(s.id, { spec: s, hubChunkBytes: s.chunkBytes, until: Date.parse(s.until), rows: 0, lines: [], bytes: 0, sealing: 0, skipped: 0, diskSkipped: 0, seen: 0 });
      this.d.logger.info({ captureId: s.id, model: s.model, rate: s.rate, maxRows: s.maxRows, until: s.until }, 'data capture started');
    }
    const listed = new Set(specs.map((s) => s.id));
    for (const [id, a] of this.active) if (!listed.has(id)) this.end(a, 'stopped', 'no longer in the desired document');
    this.tick();
  }

  /** The hub refused the capture's chunks: stop it and drop what is held. */
  refused(id: number, reason: string): void {
    const a = this.active.get(id);
    if (a) {
      a.lines = [];
      a.bytes = 0;
      a.closed = true; // and what waits to be sealed is not stored
      this.active.delete(id);
    }
    this.store.setStatus(id, 'refused', reason, new Date(this.now()));
    const n = this.store.dropCapture(id);
    this.d.logger.warn({ captureId: id, dropped: n, reason }, 'the hub refused a data capture: its chunks on this box are dropped');
  }

  /**
   * The hub holds `hubRows` of the capture from this box (a `taken` ack: this agent.db was put back from
   * a backup, its count is behind; docs/decisions/0073-taken-ack-tells-the-hubs-rows.md): rows are counted
   * from there, and a capture that reaches its maxRows so ends as done.
   */
  hubHolds(id: number, hubRows: number): void {
    const spec = this.active.get(id)?.spec ?? this.store.all().find((r) => r.id === id)?.spec;
    if (!spec) return;
    const { before, after } = this.store.countFromHub(id, Math.min(hubRows, spec.maxRows)); // a hub's number, checked before it is summed
    const a = this.active.get(id);
    if (!a || after <= before) return;
    a.rows += after - before;
    this.d.logger.warn({ captureId: id, hubRows, rows: a.rows, maxRows: spec.maxRows }, `capture ${id}: the hub holds more rows of it than this agent.db counted (put back from a backup?): counting from ${a.rows}`);
    if (a.rows >= spec.maxRows) this.end(a, 'done', `maxRows ${spec.maxRows} captured`);
  }

  record(model: string, version: string, feeds: readonly RecordedTensor[], outputs: readonly RecordedTensor[]): void {
    if (this.active.size === 0) return;
    // Capturing never fails a request: a row that cannot be made is counted as skipped.
    try {
      this.sample(model, version, feeds, outputs);
    } catch (err) {
      if (this.failures++ === 0) this.d.logger.warn({ err, model, version }, 'capturing a request failed; the row is skipped (logged once)');
    }
  }

  private sample(model: string, version: string, feeds: readonly RecordedTensor[], outputs: readonly RecordedTensor[]): void {
    for (const a of this.active.values()) {
      const s = a.spec;
      if (a.ending || s.model !== model || (s.version !== undefined && s.version !== version)) continue;
      a.seen++;
      if (a.rows >= s.maxRows) continue;
      if (this.random() >= s.rate) continue;
      const line = JSON.stringify({
        device: this.d.deviceId, time: new Date(this.now()).toISOString(), model, version,
        inputs: rowInputs(this.d.manifestFor(model, version), feeds, s.features), outputs: Object.fromEntries(outputs.map((o) => [o.name, plain(o.data)])),
      });
      // A chunk never holds more than chunkBytes of rows (UTF-8, with their newlines): its sealed size is
      // bounded by it, and the hub refuses a chunk past capture.maxChunkBytes. A row larger than a chunk
      // is not kept, nor one past MAX_HELD_CHUNKS (bounded memory and message size); counted.
      const chunkBytes = Math.min(this.d.config.chunkBytes, a.hubChunkBytes ?? Infinity);
      const size = Buffer.byteLength(line) + 1;
      if (size > chunkBytes || a.bytes + a.sealing + size > MAX_HELD_CHUNKS * chunkBytes) {
        a.skipped++;
        continue;
      }
      if (a.bytes + size > chunkBytes) this.flush(a, null); // the buffer is sealed first; this row starts the next chunk
      a.lines.push(line);
      a.bytes += size;
      a.rows++;
      if (a.rows >= s.maxRows) setImmediate(() => this.end(a, 'done', `maxRows ${s.maxRows} captured`));
    }
  }

  recordError(): void {}

  private tick(): void {
    const now = this.now();
    for (const a of this.active.values()) {
      if (a.ending) this.end(a, a.ending.status, a.ending.why);
      else if (now >= a.until) this.end(a, 'expired', `until ${a.spec.until} passed`);
      else if (a.lines.length) this.flush(a, null);
    }
  }

  private end(a: Active, status: CaptureStatus, why: string): void {
    if (!this.active.has(a.spec.id)) return;
    this.active.delete(a.spec.id);
    this.flush(a, status, why);
  }

  /**
   * Seals the buffered lines into a chunk (`end`: the capture's last, saying how it ended), serially,
   * after the current turn of the event loop (record() calls it on the request path).
   */
  private flush(a: Active, end: CaptureStatus | null, why?: string): void {
    const lines = a.lines;
    if (!lines.length && !end) return;
    const bytes = a.bytes;
    a.lines = [];
    a.bytes = 0;
    a.sealing += bytes;
    const id = a.spec.id;
    const later = new Promise<void>((r) => setImmediate(r));
    this.chain = this.chain.then(() => later).then(async () => {
      try {
        // Its last chunk is stored (budget_full while this one waited): nothing follows it.
        if (!a.closed) await this.storeOrSkip(a, lines, end, why);
      } finally {
        a.sealing -= bytes;
      }
    }).catch((err: unknown) => this.d.logger.error({ err, captureId: id }, 'sealing captured rows failed'));
  }

  /**
   * Stores the chunk; a full disk (DISK_FULL) refuses it: its rows are not kept (counted as skipped, not
   * taken, so maxRows still counts rows stored), `disk` says so once, and a last chunk is tried again at each
   * tick until there is room, the capture taking no more rows meanwhile (docs/agent.md "Data capture").
   */
  private async storeOrSkip(a: Active, lines: string[], end: CaptureStatus | null, why: string | undefined): Promise<void> {
    try {
      await this.sealAndStore(a, lines, end, why);
      this.d.disk?.ok('captured rows');
    } catch (err) {
      if (toAppError(err).code !== 'DISK_FULL') throw err;
      this.d.disk?.failed('captured rows', err);
      if (!a.ending) { // (a budget_full ending counted its rows already)
        a.rows -= lines.length;
        a.skipped += lines.length;
        a.diskSkipped += lines.length;
      }
      // Ended at maxRows with rows refused: it has not got them, it captures on. Another end waits for room.
      if (end === 'done' && !a.ending && a.rows < a.spec.maxRows) this.active.set(a.spec.id, a);
      else if (end || a.ending) {
        a.ending ??= { status: end!, why: why ?? end! };
        this.active.set(a.spec.id, a);
      }
    }
  }

  private async sealAndStore(a: Active, lines: string[], end: CaptureStatus | null, why: string | undefined): Promise<void> {
    const id = a.spec.id;
    const text = Buffer.from(lines.length ? `${lines.join('\n')}\n` : '', 'utf8');
    let sealed;
    try {
      sealed = await sealRows(text, a.spec.publicKey);
    } finally {
      text.fill(0);
    }
    const at = new Date(this.now());
    const size = JSON.stringify(sealed).length;
    const { budgetBytes } = this.d.config;
    if (this.store.heldBytes() + size + (end ? 0 : END_ROOM) > budgetBytes) {
      // Full: these rows are not kept; the capture ends and says so in an empty last chunk.
      this.active.delete(id);
      this.d.logger.warn({ captureId: id, budgetBytes, dropped: lines.length }, 'data capture budget full: capturing stopped');
      a.rows = this.store.rowsOf(id); // those stored: not this chunk's, nor those of chunks still waiting to be sealed
      const full = end === 'budget_full' && why ? why
        : `capture.budgetBytes ${budgetBytes} full of chunks waiting for upload: capturing stopped, the ${lines.length} rows of its last chunk not kept`;
      a.ending = { status: 'budget_full', why: full }; // tried again should a full disk refuse it
      const last = await sealRows(new Uint8Array(0), a.spec.publicKey);
      this.store.addChunk(id, 0, 'budget_full', last, at, endReason(a, full));
      a.closed = true;
    } else {
      this.store.addChunk(id, lines.length, end, sealed, at, end ? endReason(a, why ?? end) : undefined);
      if (end) {
        a.closed = true;
        this.d.logger.info({ captureId: id, status: end, rows: a.rows, skipped: a.skipped }, `data capture ended: ${why ?? end}`);
      }
    }
    this.d.stored?.();
  }
}
