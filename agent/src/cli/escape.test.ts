// The agent's human-readable output escapes control characters: a refusal message or a name with a
// terminal escape or a newline prints as one inert line (JSON output keeps the value).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '@edgefleet/examples';
import { formatStatus, type AgentStatus } from './status.js';

const base: AgentStatus = {
  dataDir: '/data', models: [], trustVersion: 1, hub: { enrolled: false }, lastAppliedSeq: 3,
  outbox: { pending: 0, windows: 0, events: 0, oldest: null }, refusal: null, updateLock: null, disk: null, removed: [],
  remoteConfig: null, remoteConfigFailed: null, remoteConfigRefused: null,
};

test('status text says the room on the data dir\'s disk, marked low under 10%, and nothing when unreadable', () => {
  assert.match(formatStatus({ ...base, disk: { free: 3 * 2 ** 30, total: 64 * 2 ** 30 } }), /^disk {9}3\.0 GiB free of 64 GiB \(4%\): low \(summaries, downloads and batch outputs need room\)$/m);
  assert.match(formatStatus({ ...base, disk: { free: 900 * 2 ** 20, total: 2 ** 30 } }), /^disk {9}900 MiB free of 1\.0 GiB \(87%\)$/m);
  assert.doesNotMatch(formatStatus(base), /^disk/m);
});

test('status text escapes a refusal message with a terminal escape and a forged line', () => {
  const st: AgentStatus = {
    dataDir: '/data', models: [], trustVersion: 1, hub: { enrolled: false }, lastAppliedSeq: 3,
    outbox: { pending: 0, windows: 0, events: 0, oldest: null },
    refusal: { seq: 4, code: 'SIGNATURE_INVALID', message: '\x1b[2Jbad\nhub          device fake via mqtt://evil', at: '2026-03-01T12:00:00.000Z' },
    // A local app's reason for its update lock is printed escaped too.
    updateLock: { until: '2026-03-01T13:00:00.000Z', reason: 'shift\nhub          device fake2', setAt: '2026-03-01T12:00:00.000Z' },
    disk: { free: 3 * 2 ** 30, total: 64 * 2 ** 30 },
    // The hub operator's reason for a removal too.
    removed: [{ name: 'm', seq: 5, at: '2026-03-01T11:00:00.000Z', reason: 'retired\nhub          device fake3', keepUntil: '2026-03-08T12:00:00.000Z', installed: ['1.0.0'] }],
    // A remote setting's value and a failure's message (which may quote what the hub sent) too.
    remoteConfig: { sha256: 'a'.repeat(64), sources: [{ scope: 'fleet', version: 2 }], settings: { 'log.level': 'warn\nhub          device fake4' }, at: '2026-03-01T10:00:00.000Z', ranWith: true },
    remoteConfigFailed: { sha256: 'b'.repeat(64), code: 'CONFIG_INVALID', message: 'bad\nhub          device fake5' },
    // A refused one's setting name comes from the hub.
    remoteConfigRefused: { sha256: 'c'.repeat(64), sources: [{ scope: 'fleet', version: 3 }], code: 'CONFIG_INVALID', field: 'x\nhub          device fake6', message: 'bad', at: '2026-03-01T11:30:00.000Z' },
  };
  const text = formatStatus(st);
  assert.ok(!text.includes('\x1b'), text);
  assert.equal(text.split('\n').filter((l) => l.startsWith('hub ')).length, 1, 'no forged "hub" line');
  assert.match(text, /last refusal seq 4 at .*: SIGNATURE_INVALID: \\e\[2Jbad\\nhub {10}device fake/);
  assert.match(text, /update lock {2}until 2026-03-01T13:00:00.000Z \(shift\\nhub {10}device fake2\): model switches wait/);
  assert.match(text, /^model {8}m removed by the hub \(seq 5, 2026-03-01T11:00:00.000Z: retired\\nhub {10}device fake3\); not served, 1\.0\.0 kept until 2026-03-08T12:00:00.000Z$/m);
  assert.match(text, /^remote config fleet@3 \(cccccccccccc\) refused at 2026-03-01T11:30:00\.000Z, the last good one stays: x\\nhub {10}device fake6: CONFIG_INVALID: bad$/m);
  assert.doesNotMatch(text, /none installed/);
});

test('an error line echoing the command line prints escaped', async () => {
  const r = await runCli('agent/src/cli/main.ts', ['\x1b[31mboom\nforged']);
  assert.equal(r.code, 2);
  assert.ok(!r.stderr.includes('\x1b'), r.stderr);
  assert.match(r.stderr, /^error \[BAD_REQUEST\]: unknown command "\\e\[31mboom\\nforged"\n/);
  assert.ok(!r.stderr.split('\n').some((l) => l.startsWith('forged')), 'the newline did not start a forged line');
});
