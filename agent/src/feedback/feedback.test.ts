// Ground truth through the local API with a real ONNX classifier (the example vibration model, a
// binary classifier whose manifest names its task): predictions made with a request id are labelled
// by POST /edgefleet/v1/feedback; the labels are counted in the window they arrive in, for the
// version that predicted, with the confusion counts of what was predicted against what was labelled.
// Wrong labels count as wrong, unknown ids are answered unknown and not counted, bad items are a 400
// naming the item that counts nothing. The prediction windows carry the CBPE confidence sums.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { buildExampleBundle, datasetRows } from '@edgefleet/examples';
import { TelemetryBatch, fastTelemetryBatch, parseWire, type SummaryWindow } from '@edgefleet/shared';
import type { Agent } from '../agent.js';
import { makeKit, req, startAgent, type Kit } from '../testing.js';
import { waitFor } from '@edgefleet/examples/fleet';
import { openRaw, parseReply } from '../api/raw-client.js';
import { MAX_FEEDBACK_ITEMS } from './route.js';

const T0 = Date.UTC(2026, 5, 1, 12, 0, 5);
const FEEDBACK = '/edgefleet/v1/feedback';

describe('feedback: labels for earlier predictions', () => {
  let kit: Kit;
  let agent: Agent;
  let base: string;
  let now = T0;
  let rows: number[][];
  let truth: Uint8Array;
  const predicted = new Map<string, number[]>();
  const probabilities: number[] = [];

  before(async () => {
    kit = makeKit();
    const b = await buildExampleBundle({ dir: join(kit.dir, 'bundles'), version: '1.0.0', keys: kit.keys });
    rows = datasetRows(b.model.holdout).slice(0, 40);
    truth = b.model.holdout.y.slice(0, 40);
    agent = await startAgent(join(kit.dir, 'data'), {}, { clock: { now: () => now } });
    agent.trust.put(kit.trust.doc, 1);
    await agent.manager.install(b.path);
    base = agent.url;
  });
  after(async () => {
    await agent.stop();
    kit.cleanup();
  });

  const infer = async (id: string | undefined, xs: number[][]) => {
    const r = await req(base, 'POST', '/v2/models/vibration-anomaly/infer', { ...(id === undefined ? {} : { id }), inputs: [{ name: 'features', datatype: 'FP32', shape: [xs.length, 12], data: xs.flat() }] });
    assert.equal(r.status, 200, r.text);
    const p = r.json.outputs[0].data as number[];
    probabilities.push(...p);
    if (id !== undefined) predicted.set(id, p.map((x) => (x >= 0.5 ? 1 : 0)));
  };

  it('answers Expect: 100-continue for a body over its bound with the 413, not an invitation to send it', async () => {
    const raw = await openRaw(Number(new URL(base).port));
    try {
      await raw.write(`POST ${FEEDBACK} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${300 * 1024}\r\nexpect: 100-continue\r\n\r\n`);
      const reply = await waitFor('the refusal', () => parseReply(raw.received()), { timeoutMs: 5_000, intervalMs: 10 });
      assert.equal(reply.status, 413, raw.received());
      assert.doesNotMatch(raw.received(), /100 Continue/);
    } finally {
      raw.destroy();
    }
  });

  it('counts labels in the window they arrive in, with the confusion of predicted against labelled', async () => {
    for (let i = 0; i < 30; i++) await infer(`r${i}`, [rows[i]!]);
    await infer(undefined, [rows[30]!]); // no id: not remembered
    await infer('batch', rows.slice(31, 34)); // three rows under one id
    now += 60_000; // the labels come a minute later, in the next window
    // True labels for r0..r19, the opposite of the truth for r20..r29 (so some are surely wrong), names and indexes mixed.
    const label = (i: number) => (i < 20 ? truth[i]! : 1 - truth[i]!);
    const items: unknown[] = [];
    for (let i = 0; i < 30; i++) items.push({ id: `r${i}`, label: i % 2 ? label(i) : ['normal', 'anomalous'][label(i)] });
    items.push({ id: 'batch', row: 2, label: 'anomalous' }, { id: 'nope', label: 'normal' }, { id: 'r0', label: 'normal' });
    const r = await req(base, 'POST', FEEDBACK, { items });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.counted, 31);
    assert.equal(r.json.unknown, 1);
    assert.equal(r.json.alreadyLabelled, 1);
    assert.deepEqual(r.json.items[31], { id: 'nope', row: 0, status: 'unknown' });
    assert.equal(r.json.items[32].status, 'already_labelled');
    assert.equal(r.json.items[0].correct, predicted.get('r0')![0] === label(0));
    // Expected counts, from what the model answered and what was labelled.
    const confusion = [0, 0, 0, 0];
    const add = (actual: number, pred: number) => { confusion[actual * 2 + pred] = (confusion[actual * 2 + pred] ?? 0) + 1; };
    for (let i = 0; i < 30; i++) add(label(i), predicted.get(`r${i}`)![0]!);
    add(1, predicted.get('batch')![2]!);
    const correct = confusion[0]! + confusion[3]!;
    assert.ok(correct < 31, 'the flipped labels make some wrong');
    // Bad items: a 400 naming the item, and nothing of the request counted.
    const bad = async (body: unknown, status: number, msg: RegExp) => {
      const b = await req(base, 'POST', FEEDBACK, body);
      assert.equal(b.status, status, b.text);
      assert.match(b.json.error, msg);
    };
    await bad({ items: [{ id: 'batch', label: 'normal' }, { id: 'r1', label: 'purple' }] }, 400, /items\[1\]\.label "purple" is not a class of vibration-anomaly@1\.0\.0: expected one of "normal", "anomalous"/);
    await bad({ items: [{ id: 'batch', row: 3, label: 0 }] }, 400, /items\[0\]\.row 3: prediction "batch" has 3 row\(s\), expected 0-2/);
    await bad({ items: [{ id: 'batch', label: 2 }] }, 400, /^items\[0\]\.label 2 is not a class of vibration-anomaly@1\.0\.0: expected a class name or an index 0-1$/);
    await bad({ items: [{ id: 'batch', label: 0.5 }] }, 400, /^items\[0\]\.label 0\.5 is not a class of vibration-anomaly@1\.0\.0: expected a class name or an index 0-1$/);
    await bad({ items: [{ id: 'batch', label: 0, lable: 1 }] }, 400, /^items\[0\]: unknown field "lable": expected only id, label and row$/);
    await bad({ items: [{ id: 'batch', label: 0 }, { id: 'r1', label: 0, rows: 1, model: 'x' }] }, 400, /^items\[1\]: unknown fields "rows", "model": expected only id, label and row$/);
    await bad({ items: [{ id: 'batch', label: 0 }], dryRun: true }, 400, /^unknown field "dryRun": expected only items$/);
    await bad({ items: [{ label: 1 }] }, 400, /items\[0\]\.id: expected the request id/);
    await bad({ items: [] }, 400, /items: expected a non-empty array/);
    await bad({ items: Array.from({ length: MAX_FEEDBACK_ITEMS + 1 }, (_, i) => ({ id: `x${i}`, label: 0 })) }, 400, /expected at most 1000 per request/);
    await bad('x'.repeat(300 * 1024), 413, /expected at most 262144 bytes/);
    await bad('{"items": [', 400, /not JSON/);
    const wrongType = await req(base, 'POST', FEEDBACK, '{}', { 'content-type': 'text/plain' });
    assert.equal(wrongType.status, 415);
    assert.equal((await req(base, 'GET', FEEDBACK)).status, 405);

    await agent.stop();
    const db = new Database(join(kit.dir, 'data', 'agent.db'), { readonly: true });
    const windows = (db.prepare('SELECT json FROM summary_windows ORDER BY start_ms').all() as Array<{ json: string }>).map((w) => JSON.parse(w.json) as SummaryWindow);
    db.close();
    assert.equal(windows.length, 2);
    const [first, second] = windows as [SummaryWindow, SummaryWindow];
    // The predictions' window: 34 rows, each with its confidence max(p, 1 - p); no labels yet.
    assert.equal(first.count, 34);
    assert.equal(first.feedback, undefined);
    assert.equal(first.confidence?.n, 34);
    const expected = probabilities.reduce((k, p) => k + Math.max(p, 1 - p), 0);
    assert.ok(Math.abs(first.confidence!.sum - expected) < 1e-4, `${first.confidence!.sum} vs ${expected}`);
    // The labels' window: no predictions of its own, the counts of the accepted request only.
    assert.equal(second.count, 0);
    assert.equal(Date.parse(second.start), Date.parse(first.start) + 60_000);
    assert.deepEqual(second.feedback, { labelled: 31, correct, confusion });
    // As the outbox sends them: the hub's fast path takes them as zod does.
    const batch = JSON.parse(JSON.stringify({ schema: 'edgefleet.telemetry/v1', deviceId: 'box-1', windows: windows.map((w, i) => ({ ...w, seq: i + 1 })) })) as unknown;
    assert.ok(fastTelemetryBatch(batch));
    assert.deepEqual(parseWire(TelemetryBatch, batch, 'batch'), batch);
  });
});
