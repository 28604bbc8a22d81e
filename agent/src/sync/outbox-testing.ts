// The outbox tests' setup (outbox.test.ts, outbox-resend.test.ts): an OutboxSender on a real agent.db
// (all agent migrations), its publish function captured and checked to carry a valid batch, an injected clock.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBatch, TelemetryBatch, emptyLatency, parseWire } from '@edgefleet/shared';
import { AGENT_MIGRATIONS } from '../store/agent-store.js';
import { openDb, type Db } from '../store/db.js';
import { OutboxSender, type OutboxOptions, type TrimmedWindow } from './outbox.js';

export interface Sent { kind: 'telemetry' | 'events'; seqs: number[]; bytes: number }

export interface OutboxUnderTest {
  db: Db;
  sender: OutboxSender;
  /** The messages published, in order (failed ones not). */
  sent: Sent[];
  /** Every payload handed to publish, failed ones too. */
  payloads: string[];
  /** The injected clock. */
  clock: { t: number };
  /** The next `n` publishes fail as on a lost link. */
  failNext(n: number): number;
  /** Runs at the start of each publish. */
  onPublish(fn: () => void): () => void;
}

export function setup(t: { after(fn: () => void): void }, options: Partial<OutboxOptions> = {}, onTrimmed?: (w: TrimmedWindow) => void): OutboxUnderTest {
  const dir = mkdtempSync(join(tmpdir(), 'ef-outbox-'));
  const db = openDb(join(dir, 'agent.db'), AGENT_MIGRATIONS);
  const clock = { t: Date.parse('2026-03-01T12:00:00Z') };
  const sent: Sent[] = [];
  const payloads: string[] = [];
  let failNext = 0;
  const seen: { onPublish?: () => void } = {};
  const sender = new OutboxSender(db, 'dev-1', async (kind, payload) => {
    seen.onPublish?.();
    payloads.push(payload);
    if (failNext > 0) {
      failNext--;
      throw new Error('not connected');
    }
    // What goes out must be a valid batch of its kind.
    const seqs = kind === 'telemetry'
      ? parseWire(TelemetryBatch, JSON.parse(payload), 'telemetry').windows.map((w) => w.seq)
      : parseWire(EventBatch, JSON.parse(payload), 'events').events.map((e) => e.seq);
    sent.push({ kind, seqs, bytes: Buffer.byteLength(payload) });
  }, { batchSize: 50, messagesPerSec: 1000, resendAfterMs: 100, maxMessageBytes: 192 * 1024, ...options }, () => clock.t, undefined, onTrimmed);
  t.after(() => {
    sender.pause();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { db, sender, sent, payloads, clock, failNext: (n: number) => (failNext = n), onPublish: (fn: () => void) => (seen.onPublish = fn) };
}

export function addWindow(db: Db, pad = 0): number {
  const w = { model: 'm', version: '1.0.0', start: '2026-03-01T12:00:00.000Z', lengthSec: 60, count: 3, errors: {}, latency: emptyLatency(), features: [], outputs: [], ...(pad ? { pad: 'x'.repeat(pad) } : {}) };
  return Number(db.prepare("INSERT INTO outbox (kind, payload, created) VALUES ('window', ?, ?)").run(JSON.stringify(w), new Date().toISOString()).lastInsertRowid);
}

/** A window of `n` numeric features (about 110 bytes of JSON each) and one output column. */
export function addWideWindow(db: Db, n: number): number {
  const moments = { n: 3, mean: 1, m2: 0.5, min: 0.5, max: 1.5 };
  const w = {
    model: 'wide', version: '2.0.0', start: '2026-03-01T12:00:00.000Z', lengthSec: 60, count: 3, errors: { INVALID_INPUT: 1 }, latency: emptyLatency(),
    features: Array.from({ length: n }, (_, i) => ({ kind: 'numeric', name: `band${i}`, moments, nulls: 0, nans: 0 })),
    outputs: [{ name: 'y', index: 0, moments }], inputs: [{ name: 'x', moments, nans: 0 }],
  };
  return Number(db.prepare("INSERT INTO outbox (kind, payload, created) VALUES ('window', ?, ?)").run(JSON.stringify(w), new Date().toISOString()).lastInsertRowid);
}

export function addEvent(db: Db): number {
  const e = { at: '2026-03-01T12:00:00.000Z', kind: 'activated', model: 'm', version: '1.0.0', message: 'm@1.0.0 is active' };
  return Number(db.prepare("INSERT INTO outbox (kind, payload, created) VALUES ('event', ?, ?)").run(JSON.stringify(e), new Date().toISOString()).lastInsertRowid);
}

export const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));
