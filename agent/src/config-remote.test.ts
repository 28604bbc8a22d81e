// The stored remote configuration on the box (docs/agent.md "Remote configuration"): written with the one
// before kept, confirmed once the agent ran with it, and when the agent could not start with a new one,
// back to the one before with the failure kept; a file edited by hand (hash mismatch) is ignored.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { settingsHash } from '@edgefleet/shared/core';
import { confirmRemoteConfig, failRemoteConfig, readFailedRemoteConfig, readRemoteConfig, remoteConfigPath, withRemote, writeRemoteConfig, type StoredRemoteConfig } from './config-remote.js';

const rec = (settings: Record<string, unknown>, version: number, confirmed: boolean): StoredRemoteConfig =>
  ({ sha256: settingsHash(settings), sources: [{ scope: 'fleet', version }], settings, at: '2026-03-01T12:00:00.000Z', confirmed });

it('keeps the configuration before, goes back to it when the agent cannot start with a new one, and ignores a hand-edited file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-remote-'));
  try {
    assert.equal(readRemoteConfig(dir), undefined);
    const a = rec({ 'summaries.windowSec': 10 }, 1, true);
    writeRemoteConfig(dir, a);
    assert.deepEqual(readRemoteConfig(dir), a);
    assert.deepEqual(withRemote({ dataDir: dir, summaries: { budgetBytes: 5 } }, a), { dataDir: dir, summaries: { budgetBytes: 5, windowSec: 10 } });

    const b = rec({ 'runtime.intraOpThreads': 2 }, 2, false);
    writeRemoteConfig(dir, b);
    assert.equal(readRemoteConfig(dir)?.sha256, b.sha256);
    failRemoteConfig(dir, { sha256: b.sha256, code: 'MODEL_LOAD_FAILED', message: 'the agent did not start with it: x' });
    assert.deepEqual(readRemoteConfig(dir), a, 'back to the one before');
    assert.deepEqual(readFailedRemoteConfig(dir), { sha256: b.sha256, code: 'MODEL_LOAD_FAILED', message: 'the agent did not start with it: x' });

    const c = rec({ 'summaries.windowSec': 20 }, 3, false);
    writeRemoteConfig(dir, c);
    assert.equal(readFailedRemoteConfig(dir), undefined, 'a new configuration clears the failure');
    confirmRemoteConfig(dir, c);
    assert.equal(readRemoteConfig(dir)?.confirmed, true);
    failRemoteConfig(dir, { sha256: c.sha256, code: 'X', message: 'y' });
    assert.deepEqual(readRemoteConfig(dir)?.settings, a.settings, 'prev was the confirmed a');

    // No configuration before: back to the local config alone.
    const fresh = mkdtempSync(join(tmpdir(), 'ef-remote-'));
    writeRemoteConfig(fresh, b);
    failRemoteConfig(fresh, { sha256: b.sha256, code: 'X', message: 'y' });
    assert.equal(readRemoteConfig(fresh), undefined);
    rmSync(fresh, { recursive: true, force: true });

    const problems: string[] = [];
    writeFileSync(remoteConfigPath(dir), JSON.stringify({ ...a, settings: { 'summaries.windowSec': 1 } }));
    assert.equal(readRemoteConfig(dir, (m) => problems.push(m)), undefined);
    assert.match(problems[0] ?? '', /remote-config\.json is ignored: its sha256 does not match its settings/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('goes back to the last configuration the agent ran with, not to one stored after it that never ran', () => {
  // A confirmed; B (a restart setting) stored; C stored before the agent ran with B (a desired document
  // that came while B's restart was under way, or while the agent was starting with it). If the agent
  // then cannot start, it must go back to A, not to B, which it never ran with.
  const dir = mkdtempSync(join(tmpdir(), 'ef-remote-'));
  try {
    const a = rec({ 'summaries.windowSec': 10 }, 1, true);
    const b = rec({ 'runtime.intraOpThreads': 2 }, 2, false);
    const c = rec({ 'runtime.intraOpThreads': 3 }, 3, false);
    writeRemoteConfig(dir, a);
    writeRemoteConfig(dir, b);
    writeRemoteConfig(dir, c);
    failRemoteConfig(dir, { sha256: b.sha256, code: 'MODEL_LOAD_FAILED', message: 'the agent did not start with it: x' });
    assert.deepEqual(readRemoteConfig(dir), a, 'back to A, the last one the agent ran with');

    // The same document stored twice (re-sent while its restart was under way) does not push A out either.
    writeRemoteConfig(dir, b);
    writeRemoteConfig(dir, b);
    failRemoteConfig(dir, { sha256: b.sha256, code: 'X', message: 'y' });
    assert.deepEqual(readRemoteConfig(dir), a);

    // A configuration applied live is confirmed when stored: it is the one to go back to from then on.
    const d = rec({ 'summaries.windowSec': 20 }, 4, true);
    writeRemoteConfig(dir, d);
    writeRemoteConfig(dir, b);
    failRemoteConfig(dir, { sha256: b.sha256, code: 'X', message: 'y' });
    assert.deepEqual(readRemoteConfig(dir), d);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
