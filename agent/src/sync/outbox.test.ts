// OutboxSender on a real agent.db (all agent migrations) with the publish function captured:
// seq order, batches bounded by count and bytes, kinds never mixed in one message, rows deleted only
// on ack, resend of what was not acked (injected clock), rate limit, pause/resume, and the durable mark
// of the highest seq sent (docs/agent.md "Outbox").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TelemetryBatch, parseWire } from '@edgefleet/shared';
import { OutboxSender, type TrimmedWindow } from './outbox.js';
import { outboxSentSeq } from './sync-store.js';
import { addEvent, addWideWindow, addWindow, settle, setup } from './outbox-testing.js';
import { waitFor } from '@edgefleet/examples';

test('sends in seq order in batches bounded by count', async (t) => {
  const o = setup(t, { batchSize: 3 });
  for (let i = 0; i < 7; i++) addWindow(o.db);
  o.sender.resume();
  await waitFor('three messages', () => o.sent.length === 3, { intervalMs: 5, timeoutMs: 10_000 });
  assert.deepEqual(o.sent.map((s) => [s.kind, s.seqs]), [['telemetry', [1, 2, 3]], ['telemetry', [4, 5, 6]], ['telemetry', [7]]]);
  assert.equal(o.sender.sentMessages, 3);
});

test('batches are bounded by bytes, and a single item larger than the bound still goes alone', async (t) => {
  const max = 4096;
  const o = setup(t, { batchSize: 50, maxMessageBytes: max });
  for (let i = 0; i < 5; i++) addWindow(o.db, 1200);
  addWindow(o.db, 6000);
  addWindow(o.db);
  o.sender.resume();
  await waitFor('all seven windows', () => o.sent.flatMap((s) => s.seqs).length === 7, { intervalMs: 5, timeoutMs: 10_000 });
  assert.deepEqual(o.sent.map((s) => s.seqs), [[1, 2], [3, 4], [5], [6], [7]]);
  for (const s of o.sent) if (s.seqs.length > 1) assert.ok(s.bytes <= max, `a batch of ${s.bytes} bytes exceeds ${max}`);
});

test('a window too large for a message goes without its feature summaries, the same text at each resend, and the rest follows', async (t) => {
  const max = 16 * 1024;
  const trimmed: TrimmedWindow[] = [];
  const o = setup(t, { batchSize: 50, maxMessageBytes: max }, (w) => trimmed.push(w));
  addWindow(o.db);
  const wide = addWideWindow(o.db, 400);
  addWindow(o.db);
  const stored = (o.db.prepare('SELECT payload FROM outbox WHERE seq = ?').get(wide) as { payload: string }).payload;
  assert.ok(stored.length > max, `the window is ${stored.length} bytes`);
  o.sender.resume();
  await waitFor('all three windows', () => o.sent.flatMap((s) => s.seqs).length === 3, { intervalMs: 5, timeoutMs: 10_000 });
  for (const s of o.sent) assert.ok(s.bytes <= max, `a message of ${s.bytes} bytes exceeds ${max}`);
  const first = o.payloads.find((p) => p.includes('"wide"'))!;
  const w = parseWire(TelemetryBatch, JSON.parse(first), 'telemetry').windows.find((x) => x.seq === wide)!;
  assert.deepEqual(w.features, [], 'the features went');
  assert.equal(w.outputs.length, 1, 'the outputs fitted, so they stayed');
  assert.equal(w.inputs.length, 1);
  assert.equal(w.count, 3);
  assert.deepEqual(w.errors, { INVALID_INPUT: 1 });
  assert.deepEqual(trimmed.map((x) => [x.model, x.version, x.without, x.bytes]), [['wide', '2.0.0', ['features'], stored.length]]);
  assert.equal((o.db.prepare('SELECT payload FROM outbox WHERE seq = ?').get(wide) as { payload: string }).payload, stored, 'the outbox row is left whole');
  // Not acked: resent with the same text.
  o.clock.t += 200;
  o.sender.kick(0);
  await waitFor('the resend', () => o.payloads.filter((p) => p.includes('"wide"')).length >= 2, { intervalMs: 5, timeoutMs: 10_000 });
  assert.equal(o.payloads.filter((p) => p.includes('"wide"'))[1], first);
});

test('mixed kinds are split into separate messages, keeping seq order', async (t) => {
  const o = setup(t);
  addWindow(o.db);
  addWindow(o.db);
  addEvent(o.db);
  addEvent(o.db);
  addWindow(o.db);
  o.sender.resume();
  await waitFor('three messages', () => o.sent.length === 3, { intervalMs: 5, timeoutMs: 10_000 });
  assert.deepEqual(o.sent.map((s) => [s.kind, s.seqs]), [['telemetry', [1, 2]], ['events', [3, 4]], ['telemetry', [5]]]);
});

test('deletes rows only on ack, and resends what was not acked after resendAfterMs (injected clock)', async (t) => {
  const o = setup(t, { batchSize: 2, resendAfterMs: 100 });
  for (let i = 0; i < 4; i++) addWindow(o.db);
  o.sender.resume();
  await waitFor('two messages', () => o.sent.length === 2, { intervalMs: 5, timeoutMs: 10_000 });
  assert.equal(o.sender.pending(), 4, 'nothing deleted before an ack');
  assert.equal(o.sender.onAck([[1, 2]]), 2);
  assert.equal(o.sender.pending(), 2);
  assert.deepEqual((o.db.prepare('SELECT seq FROM outbox ORDER BY seq').all() as Array<{ seq: number }>).map((r) => r.seq), [3, 4]);
  await settle(250); // the resend timer fires on real time, but the injected clock has not moved
  assert.equal(o.sent.length, 2, 'not resent before resendAfterMs on the injected clock');
  o.clock.t += 101;
  await waitFor('resend', () => o.sent.length === 3, { intervalMs: 5, timeoutMs: 10_000 });
  assert.deepEqual(o.sent[2]?.seqs, [3, 4], 'only the unacked rows are resent');
  assert.equal(o.sender.onAck([[3, 4], [9, 12]]), 2);
  assert.equal(o.sender.pending(), 0);
  o.clock.t += 1000;
  await settle(250);
  assert.equal(o.sent.length, 3, 'nothing is resent after the ack');
});

test('an ack saying the hub holds seqs this agent.db never gave moves what the hub did not store above them, in order', async (t) => {
  const o = setup(t, { batchSize: 50 });
  const seqs = () => (o.db.prepare('SELECT seq FROM outbox ORDER BY seq').all() as Array<{ seq: number }>).map((r) => r.seq);
  for (let i = 0; i < 3; i++) addWindow(o.db);
  o.sender.resume();
  await waitFor('1-3 sent', () => o.sent.length === 1, { intervalMs: 5, timeoutMs: 10_000 });
  // A hub that holds nothing above what this db gave: an ordinary ack.
  assert.equal(o.sender.onAck([[1, 2]], [], 3), 2);
  assert.deepEqual(seqs(), [3]);
  o.sender.pause();
  // A reconnect: 3 went out before it. The agent.db was put back from a backup: the hub holds up to 50.
  for (let i = 0; i < 4; i++) addWindow(o.db); // 4..7
  o.sender.resume();
  await waitFor('3-7 sent', () => o.sent.length === 2, { intervalMs: 5, timeoutMs: 10_000 });
  const unsent = addWindow(o.db); // 8, not sent yet
  assert.equal(unsent, 8);
  // The hub held 3, 4 and 5 already (another life of this box's numbering), stored 6 and 7 new.
  assert.equal(o.sender.onAck([[3, 7]], [[3, 5]], 50), 3, '3 (sent before this connection), 6 and 7 are done with');
  assert.deepEqual(seqs(), [51, 52, 53], '4, 5 and the unsent 8 moved above 50, in their order');
  assert.equal(addWindow(o.db), 54, 'new rows follow them');
  await waitFor('the moved rows sent', () => o.sent.some((s) => s.seqs.includes(51)), { intervalMs: 5, timeoutMs: 10_000 });
  assert.deepEqual(o.sent.at(-1)?.seqs, [51, 52, 53, 54]);
  // Once above the hub, its acks move nothing.
  assert.equal(o.sender.onAck([[51, 54]], [], 54), 4);
  assert.deepEqual(seqs(), []);
});

test('the clock stepped back days: what was not acked is resent resendAfterMs after the step, not days later', async (t) => {
  const o = setup(t, { batchSize: 2, resendAfterMs: 100 });
  for (let i = 0; i < 2; i++) addWindow(o.db);
  o.sender.resume();
  await waitFor('one message', () => o.sent.length === 1, { intervalMs: 5, timeoutMs: 10_000 });
  o.clock.t -= 3 * 86_400_000;
  await settle(250);
  assert.equal(o.sent.length, 1, 'the step back itself resends nothing');
  o.clock.t += 101;
  await waitFor('resend after the step', () => o.sent.length === 2, { intervalMs: 5, timeoutMs: 10_000 });
  assert.deepEqual(o.sent[1]?.seqs, [1, 2]);
});

test('rate limit: messages beyond the bucket wait for the (injected) clock', async (t) => {
  const o = setup(t, { batchSize: 1, messagesPerSec: 2, resendAfterMs: 60_000 });
  for (let i = 0; i < 4; i++) addWindow(o.db);
  o.sender.resume();
  await waitFor('the burst of two', () => o.sent.length === 2, { intervalMs: 5, timeoutMs: 10_000 });
  await settle(600);
  assert.equal(o.sent.length, 2);
  o.clock.t += 500;
  await waitFor('one more after 500 ms', () => o.sent.length === 3, { intervalMs: 5, timeoutMs: 10_000 });
  o.clock.t += 500;
  await waitFor('the last', () => o.sent.length === 4, { intervalMs: 5, timeoutMs: 10_000 });
  assert.deepEqual(o.sent.map((s) => s.seqs[0]), [1, 2, 3, 4]);
});

test('pause stops sending; resume sends what is new and what was in flight unacked', async (t) => {
  const o = setup(t, { resendAfterMs: 60_000 });
  addWindow(o.db);
  o.sender.resume();
  await waitFor('first', () => o.sent.length === 1, { intervalMs: 5, timeoutMs: 10_000 });
  o.sender.pause();
  addEvent(o.db);
  o.sender.kick();
  await settle(100);
  assert.equal(o.sent.length, 1, 'nothing sent while paused');
  o.sender.resume(); // a reconnect: in-flight items are sent again, no need to wait resendAfterMs
  await waitFor('after resume', () => o.sent.length === 3, { intervalMs: 5, timeoutMs: 10_000 });
  assert.deepEqual(o.sent.map((s) => [s.kind, s.seqs]), [['telemetry', [1]], ['telemetry', [1]], ['events', [2]]]);
});

test('a failed publish keeps the rows and retries them', async (t) => {
  const o = setup(t);
  addWindow(o.db);
  o.failNext(1);
  o.sender.resume();
  await waitFor('retry after a failed publish', () => o.sent.length === 1, { intervalMs: 5, timeoutMs: 10_000 });
  assert.deepEqual(o.sent[0]?.seqs, [1]);
  assert.equal(o.sender.pending(), 1);
});

test('a message lost with its link halves the next; a send that merely failed does not', async (t) => {
  const o = setup(t);
  for (let i = 0; i < 20; i++) addWindow(o.db, 1000);
  o.failNext(1);
  // The link closes while the first message is on its way: the sender is paused before its publish fails.
  o.onPublish(() => {
    if (o.payloads.length === 0) o.sender.pause();
  });
  o.sender.resume();
  await waitFor('the first attempt', () => o.payloads.length === 1 || undefined, { intervalMs: 5 });
  o.sender.resume();
  await waitFor('sent again', () => o.sent.length >= 1 || undefined, { intervalMs: 5 });
  const lost = Buffer.byteLength(o.payloads[0]!);
  assert.ok(o.sent[0]!.bytes <= lost / 2, `after the loss: ${o.sent[0]!.bytes} bytes, lost ${lost}`);
  assert.ok(o.sent[0]!.seqs.length < 20 && o.sent[0]!.seqs[0] === 1, 'fewer windows, still in seq order');

  const p = setup(t);
  for (let i = 0; i < 20; i++) addWindow(p.db, 1000);
  p.failNext(1); // not connected, the sender still running: no loss on the way
  p.sender.resume();
  await waitFor('sent after the failure', () => p.sent.length >= 1 || undefined, { intervalMs: 5, timeoutMs: 10_000 });
  assert.equal(p.sent[0]!.seqs.length, 20, 'the whole batch');
});

test('a window written while earlier ones wait for their ack is sent at once, not after the resend delay', async (t) => {
  const { db, sender, sent } = setup(t, { resendAfterMs: 60_000 });
  const a = addWindow(db);
  sender.resume();
  await waitFor('the first window sent', () => sent.length === 1 || undefined);
  // Unacked: the resend timer (60 s) is pending now. A new window's wake-up must not wait behind it.
  const b = addWindow(db);
  sender.kick();
  await waitFor('the second window sent before the resend delay', () => sent.length === 2 || undefined);
  assert.deepEqual(sent.map((s) => s.seqs), [[a], [b]]);
});

test('the highest seq handed to the link is in agent.db before its message goes out, and outlives the sender', async (t) => {
  const o = setup(t, { batchSize: 2, resendAfterMs: 60_000 });
  const marks: number[] = [];
  o.onPublish(() => marks.push(outboxSentSeq(o.db)));
  for (let i = 0; i < 3; i++) addWindow(o.db);
  o.sender.resume();
  await waitFor('two messages', () => o.sent.length === 2 || undefined, { intervalMs: 5, timeoutMs: 10_000 });
  assert.deepEqual(marks, [2, 3], 'recorded before each message');
  o.sender.pause();
  o.sender.resume(); // a reconnect: nothing in flight in memory, everything resent
  await waitFor('resent', () => o.sent.length === 4 || undefined, { intervalMs: 5, timeoutMs: 10_000 });
  assert.equal(o.sender.inFlightSeq(), 3);
  o.sender.onAck([[1, 3]]);
  assert.equal(o.sender.inFlightSeq(), 0);
  const restarted = new OutboxSender(o.db, 'dev-1', () => Promise.resolve());
  assert.equal(restarted.inFlightSeq(), 0);
  assert.equal(outboxSentSeq(o.db), 3, 'kept across acks, reconnects and a new sender');
});

test('a sent mark that cannot be written keeps the message from going out', async (t) => {
  const o = setup(t);
  addWindow(o.db);
  const errors: unknown[] = [];
  let published = 0;
  const sender = new OutboxSender(o.db, 'dev-1', () => { published++; return Promise.resolve(); }, { resendAfterMs: 20 }, Date.now, (err) => errors.push(err));
  t.after(() => sender.pause());
  o.db.pragma('query_only = 1'); // every write fails, as on a full disk
  sender.resume();
  await waitFor('the failure reported', () => errors.length > 0 || undefined, { intervalMs: 5, timeoutMs: 10_000 });
  assert.equal(published, 0);
  o.db.pragma('query_only = 0');
  await waitFor('sent once the write works', () => published === 1 || undefined, { intervalMs: 5, timeoutMs: 10_000 });
  assert.equal(outboxSentSeq(o.db), 1);
});
