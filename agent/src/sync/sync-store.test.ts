// SyncStore on a real agent.db file: everything the sync needs after a kill or reboot (last applied
// seq and document, the last refusal, blocked versions, partial download records) survives a reopen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_MIGRATIONS } from '../store/agent-store.js';
import { openDb } from '../store/db.js';
import { OutboxSentMark, SyncStore, logIdentityChange, outboxSentSeq, seqFloorsMigration, syncMigration } from './sync-store.js';

function tempDb(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'ef-syncstore-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'agent.db');
}

test('a fresh store is empty', (t) => {
  const db = openDb(tempDb(t), AGENT_MIGRATIONS);
  try {
    const s = new SyncStore(db);
    assert.equal(s.lastAppliedSeq(), 0);
    assert.equal(s.appliedDocument(), undefined);
    assert.equal(s.refusal(), undefined);
    assert.equal(s.get('a'.repeat(64)), null);
    assert.equal(s.blocked('m', '1.0.0', 1), undefined);
  } finally {
    db.close();
  }
});

test('applied seq and document, refusal, blocked versions and download records persist across reopen', (t) => {
  const path = tempDb(t);
  const doc = { signed: { seq: 7, deviceId: 'dev-1', models: [] }, signatures: [{ keyId: 'k', sig: 's' }] };
  const sha = 'c'.repeat(64);
  {
    const db = openDb(path, AGENT_MIGRATIONS);
    const s = new SyncStore(db);
    s.setApplied(6, { signed: { seq: 6 } });
    s.setApplied(7, doc);
    s.setRefusal({ seq: 8, code: 'SEQ_REPLAYED', message: 'seq 8 ...', at: '2026-03-01T12:00:00.000Z' });
    s.block('m', '2.0.0', 7, 'POLICY_BREACH: error rate 30.0% > 5.0%');
    s.save({ sha256: sha, size: 1000, committed: 256 });
    s.save({ sha256: sha, size: 1000, committed: 512 });
    s.save({ sha256: 'd'.repeat(64), size: 10, committed: 0 });
    s.remove('d'.repeat(64));
    db.close();
  }
  const db = openDb(path, AGENT_MIGRATIONS);
  try {
    const s = new SyncStore(db);
    assert.equal(s.lastAppliedSeq(), 7);
    assert.deepEqual(s.appliedDocument(), doc);
    assert.deepEqual(s.refusal(), { seq: 8, code: 'SEQ_REPLAYED', message: 'seq 8 ...', at: '2026-03-01T12:00:00.000Z' });
    assert.equal(s.blocked('m', '2.0.0', 7), 'POLICY_BREACH: error rate 30.0% > 5.0%');
    assert.equal(s.blocked('m', '2.0.0', 8), undefined, 'a newer desired document may ask for it again');
    assert.equal(s.blocked('m', '1.0.0', 7), undefined);
    assert.deepEqual(s.get(sha), { sha256: sha, size: 1000, committed: 512 });
    assert.equal(s.get('d'.repeat(64)), null);
    // Blocking again moves the bound.
    s.block('m', '2.0.0', 9, 'again');
    assert.equal(s.blocked('m', '2.0.0', 9), 'again');
  } finally {
    db.close();
  }
});

test('works as a numbered agent migration too (id 200)', (t) => {
  const path = tempDb(t);
  const db = openDb(path, [...AGENT_MIGRATIONS.filter((m) => m.id !== syncMigration.id), syncMigration]);
  try {
    const ids = (db.prepare('SELECT id FROM migrations ORDER BY id').all() as Array<{ id: number }>).map((r) => r.id);
    assert.ok(ids.includes(200));
    const s = new SyncStore(db);
    s.setApplied(3, { x: 1 });
    assert.equal(s.lastAppliedSeq(), 3);
  } finally {
    db.close();
  }
});


test('an agent.db written before per-key floors opens: its one floor becomes the floor of the key that signed the applied document', (t) => {
  const path = tempDb(t);
  const doc = { signed: { seq: 12, deviceId: 'dev-1', models: [] }, signatures: [{ keyId: 'hubkey-a', alg: 'ed25519', sig: 's' }] };
  {
    // What the previous agent wrote: migrations up to 200, one lastAppliedSeq.
    const db = openDb(path, AGENT_MIGRATIONS.filter((m) => m.id !== seqFloorsMigration.id));
    db.prepare("INSERT INTO sync_kv (key, value) VALUES ('lastAppliedSeq', '12'), ('desired', ?)").run(JSON.stringify(doc));
    db.prepare("INSERT INTO blocked_versions (name, version, until_seq, reason) VALUES ('m', '2.0.0', 12, 'POLICY_BREACH')").run();
    db.close();
  }
  const db = openDb(path, AGENT_MIGRATIONS);
  try {
    const ids = (db.prepare('SELECT id FROM migrations ORDER BY id').all() as Array<{ id: number }>).map((r) => r.id);
    assert.ok(ids.includes(201));
    const s = new SyncStore(db);
    assert.equal(s.lastAppliedSeq(), 12);
    assert.deepEqual(s.floors(), { 'hubkey-a': 12 });
    assert.equal(s.floor(['hubkey-a']), 12);
    assert.equal(s.floor(['hubkey-b']), 0, 'another key has its own seq space');
    // Applying under a new key records its floor and never lowers another's.
    s.setApplied(3, { signed: { seq: 3 } }, ['hubkey-b']);
    assert.deepEqual(s.floors(), { 'hubkey-a': 12, 'hubkey-b': 3 });
    s.setApplied(2, { signed: { seq: 2 } }, ['hubkey-a']);
    assert.equal(s.floor(['hubkey-a']), 12, 'a floor only rises');
    // A new seq space lifts blocks measured in the old one at the next document.
    assert.equal(s.blocked('m', '2.0.0', 5), 'POLICY_BREACH');
    s.newSeqSpace();
    assert.equal(s.blocked('m', '2.0.0', 5), undefined);
  } finally {
    db.close();
  }
});

test('the outbox sent mark only rises, also from a second writer, and survives a reopen', (t) => {
  const path = tempDb(t);
  {
    const db = openDb(path, AGENT_MIGRATIONS);
    assert.equal(outboxSentSeq(db), 0);
    const a = new OutboxSentMark(db);
    const b = new OutboxSentMark(db);
    b.raise(5);
    a.raise(40);
    b.raise(12); // b last saw 5: its write must not lower the mark
    assert.equal(outboxSentSeq(db), 40);
    b.raise(41);
    a.raise(41);
    assert.equal(outboxSentSeq(db), 41);
    db.close();
  }
  const db = openDb(path, AGENT_MIGRATIONS);
  try {
    assert.equal(outboxSentSeq(db), 41);
  } finally {
    db.close();
  }
});

// Decision 0112's addendum: windows and events the old identity queued went to the hub under the new id
// after `enroll --force` (the batch names the sender's id, not the row's), into the new id's history.
function queueIn(db: ReturnType<typeof openDb>) {
  return (kind: 'window' | 'event', n: number) => {
    for (let i = 0; i < n; i++) db.prepare('INSERT INTO outbox (kind, payload, created) VALUES (?, ?, ?)').run(kind, '{}', '2026-12-06T09:00:00.000Z');
  };
}

test('a box started as another device id drops what the old id queued, counted and said; the same id keeps it', (t) => {
  const db = openDb(tempDb(t), AGENT_MIGRATIONS);
  t.after(() => db.close());
  const s = new SyncStore(db);
  const queue = queueIn(db);
  const queued = () => (db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
  // Never applied a document: the id is still known from the start before.
  assert.equal(s.startIdentity('old-box'), undefined);
  queue('window', 3);
  queue('event', 2);
  assert.equal(s.startIdentity('old-box'), undefined, 'a restart as the same id');
  assert.equal(queued(), 5);
  const lines: Array<[string, string]> = [];
  const logger = { info: (_o: object, m: string) => lines.push(['info', m]), warn: (_o: object, m: string) => lines.push(['warn', m]) };
  const changed = s.startIdentity('new-box');
  assert.deepEqual(changed, { previousId: 'old-box', windows: 3, events: 2 });
  assert.equal(queued(), 0);
  logIdentityChange(logger as never, 'new-box', changed!);
  assert.deepEqual(lines.map(([level]) => level), ['info', 'warn']);
  assert.match(lines[1]![1], /^dropped 3 summary windows and 2 events queued as old-box and not yet sent: they are old-box's history, not new-box's/);
  // What the new id queues is its own: kept at its next start.
  queue('window', 1);
  assert.equal(s.startIdentity('new-box'), undefined);
  assert.equal(queued(), 1);
});

test('a box whose stored document names another id (an agent.db from before the id was kept) is seen too', (t) => {
  const db = openDb(tempDb(t), AGENT_MIGRATIONS);
  t.after(() => db.close());
  const s = new SyncStore(db);
  s.setApplied(4, { signed: { seq: 4, deviceId: 'old-box', models: [] } });
  queueIn(db)('event', 1);
  assert.deepEqual(s.startIdentity('new-box'), { previousId: 'old-box', windows: 0, events: 1 });
  assert.deepEqual([s.lastAppliedSeq(), s.appliedDocument()], [0, undefined]);
});

test('another agent version lifts the blocks the agent caused (too old, unknown format, load) and keeps the bundle\'s and the policy\'s', (t) => {
  const path = tempDb(t);
  const blocks: Array<[string, string]> = [
    ['a', 'AGENT_TOO_OLD: a@2.0.0 needs agent 0.2.0 or newer: this agent is 0.1.0'], ['b', 'MODEL_LOAD_FAILED: b@2.0.0: unknown op'],
    ['c', 'HASH_MISMATCH: c@2.0.0: model.onnx'], ['d', 'p95 latency 80 ms above 50 ms'], ['e', 'UNSUPPORTED_VERSION: e@2.0.0 bundle format 9'],
  ];
  let db = openDb(path, AGENT_MIGRATIONS);
  try {
    const s = new SyncStore(db);
    assert.deepEqual(s.startAgentVersion('0.1.0'), [], 'nothing blocked yet');
    for (const [name, reason] of blocks) s.block(name, '2.0.0', 5, reason);
    assert.deepEqual(s.startAgentVersion('0.1.0'), [], 'the same version lifts nothing');
  } finally {
    db.close();
  }
  db = openDb(path, AGENT_MIGRATIONS);
  try {
    const s = new SyncStore(db);
    assert.deepEqual(s.startAgentVersion('0.2.0').map((b) => b.name), ['a', 'b', 'e']);
    assert.deepEqual(blocks.map(([name]) => s.blocked(name, '2.0.0', 5) !== undefined), [false, false, true, true, false]);
    assert.deepEqual(s.startAgentVersion('0.2.0'), [], 'once per version change');
  } finally {
    db.close();
  }
});
