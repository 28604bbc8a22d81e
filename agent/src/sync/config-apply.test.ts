// The agent's side of remote configuration (docs/agent.md "Remote configuration"), on the applier alone:
// live settings go to the running parts and are stored; a setting that needs a restart is stored and the
// restart asked for; the box refuses what the hub must never set, a hash that does not match and a value
// its schema refuses, reporting why (once) and keeping the last good configuration; settings left out of a
// newer document fall back to the local config.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { settingsHash, type DesiredConfig } from '@edgefleet/shared';
import { validateConfig, type AgentConfig } from '../config.js';
import { writeRemoteConfig, type RefusedRemoteConfig, type StoredRemoteConfig } from '../config-remote.js';
import { ConfigApplier } from './config-apply.js';

const local = { dataDir: '/var/lib/edgefleet-agent', summaries: { windowSec: 60 } };

function setup(stored?: StoredRemoteConfig, refusedBefore = false) {
  const calls: string[] = [];
  const saved: StoredRemoteConfig[] = [];
  const refusals: Array<RefusedRemoteConfig | null> = [];
  let restarts = 0;
  let withdrawn = 0;
  const a = new ConfigApplier({
    local, current: validateConfig(local), stored, validate: validateConfig, withdrawRestart: () => withdrawn++,
    store: (r) => saved.push(r), refused: (r) => refusals.push(r), refusedBefore,
    live: {
      windowSec: (n) => calls.push(`windowSec ${n}`), checkpointSec: (n) => calls.push(`checkpointSec ${n}`),
      budgetBytes: (n) => calls.push(`budgetBytes ${n}`), outbox: (o) => calls.push(`outbox ${o.messagesPerSec}`),
      concurrency: (p, q) => calls.push(`concurrency ${p} ${q}`), logLevel: (l) => calls.push(`log ${l}`),
    },
    restart: () => restarts++, changed: () => undefined, log: () => undefined, now: () => new Date('2026-03-01T12:00:00Z'),
  });
  return { a, calls, saved, refusals, restarts: () => restarts, withdrawn: () => withdrawn };
}

const doc = (settings: Record<string, unknown>, version = 1): DesiredConfig => ({ sha256: settingsHash(settings), sources: [{ scope: 'fleet', version }], settings });

describe('remote configuration on the box', () => {
  it('applies live settings to the running parts, stores them and reports them applied', () => {
    const { a, calls, saved, restarts } = setup();
    a.apply(doc({ 'summaries.windowSec': 10, 'sync.outbox.messagesPerSec': 5, 'concurrency.queue': 8, 'log.level': 'debug' }));
    assert.deepEqual(calls, ['windowSec 10', 'outbox 5', 'concurrency 4 8', 'log debug']);
    assert.equal(saved.length, 1);
    assert.equal(restarts(), 0);
    assert.equal(a.report()?.status, 'applied');
    assert.equal(a.config.summaries.windowSec, 10);
    // A newer document without the setting: back to the local config's value.
    a.apply(doc({ 'sync.outbox.messagesPerSec': 5 }, 2));
    assert.deepEqual(calls.slice(4), ['windowSec 60', 'concurrency 4 64', 'log info']);
    assert.equal((a.config as AgentConfig).summaries.windowSec, 60);
  });

  it('stores a setting that needs a restart and asks for one', () => {
    const { a, calls, saved, restarts } = setup();
    a.apply(doc({ 'runtime.intraOpThreads': 2, 'summaries.windowSec': 10 }));
    assert.equal(restarts(), 1);
    assert.deepEqual(calls, [], 'nothing half-applied: the restart starts with all of it');
    assert.deepEqual(saved[0]?.settings, { 'runtime.intraOpThreads': 2, 'summaries.windowSec': 10 });
    assert.equal(a.report()?.status, 'restarting');
  });

  it('withdraws the restart when a newer document, before it happens, puts back the running values; applies its live settings', () => {
    const { a, calls, saved, restarts, withdrawn } = setup();
    a.apply(doc({ 'runtime.intraOpThreads': 2 }));
    a.apply(doc({ 'runtime.intraOpThreads': 3 }, 2));
    assert.deepEqual([restarts(), withdrawn(), a.report()?.status], [2, 0, 'restarting'], 'still needed: asked again (the gate keeps one)');
    const back = doc({ 'summaries.windowSec': 10 }, 3);
    a.apply(back);
    assert.deepEqual([restarts(), withdrawn()], [2, 1]);
    assert.deepEqual([a.report()?.status, a.report()?.sha256], ['applied', back.sha256]);
    assert.deepEqual(calls, ['windowSec 10']);
    assert.deepEqual([saved.at(-1)?.settings, saved.at(-1)?.confirmed], [{ 'summaries.windowSec': 10 }, true], 'stored as running: the next start agrees');
    a.apply(doc({ 'summaries.windowSec': 20 }, 4));
    assert.equal(withdrawn(), 1, 'only when a restart was asked for');
  });

  it('refuses the box\'s own settings, a wrong hash and a bad value, naming why, and keeps the last good one', () => {
    const good = { 'summaries.windowSec': 10 };
    const stored = { sha256: settingsHash(good), sources: [{ scope: 'fleet', version: 1 }], settings: good, at: '2026-03-01T11:00:00.000Z' };
    const cases: Array<[DesiredConfig, string, string | undefined, RegExp]> = [
      [doc({ dataDir: '/tmp/evil' }, 2), 'CONFIG_NOT_REMOTE', 'dataDir', /dataDir: may not be set remotely/],
      [doc({ 'sync.brokerUrl': 'mqtt://evil:1883' }, 3), 'CONFIG_NOT_REMOTE', 'sync.brokerUrl', /sync\.brokerUrl/],
      [{ ...doc({ 'summaries.windowSec': 5 }, 4), sha256: settingsHash({ other: 1 }) }, 'HASH_MISMATCH', undefined, /hash/],
      [doc({ 'summaries.windowSec': -1 }, 5), 'CONFIG_INVALID', 'summaries.windowSec', /summaries\.windowSec/],
      [doc({ 'summaries.newKnob': 1 }, 6), 'CONFIG_INVALID', 'summaries.newKnob', /not a remote setting/],
    ];
    for (const [d, code, field, message] of cases) {
      const { a, calls, saved, restarts } = setup(stored);
      a.apply(d);
      const r = a.report();
      assert.equal(r?.status, 'failed', code);
      assert.equal(r?.error?.code, code);
      assert.equal(r?.error?.field, field);
      assert.match(r?.error?.message ?? '', message);
      assert.equal(r?.sha256, stored.sha256, 'the last good configuration is reported in effect');
      assert.deepEqual([calls, saved, restarts()], [[], [], 0], 'nothing changed');
      const at = r?.at;
      a.apply(d);
      assert.equal(a.report()?.at, at, 'the same refused document is not tried again');
    }
  });

  it('keeps the last refusal (versions, setting, why) for status until a later configuration is applied, or the hub goes back to the one in effect', () => {
    const good = { 'summaries.windowSec': 10 };
    const stored = { sha256: settingsHash(good), sources: [{ scope: 'fleet', version: 1 }], settings: good, at: '2026-03-01T11:00:00.000Z' };
    const { a, refusals } = setup(stored);
    const bad = doc({ 'summaries.windowSec': -1 }, 2);
    a.apply(bad);
    assert.equal(refusals.length, 1);
    assert.deepEqual({ ...refusals[0], message: undefined }, {
      sha256: bad.sha256, sources: [{ scope: 'fleet', version: 2 }], code: 'CONFIG_INVALID', field: 'summaries.windowSec', message: undefined, at: '2026-03-01T12:00:00.000Z',
    });
    assert.match(refusals[0]?.message ?? '', /summaries\.windowSec/);
    a.apply(bad);
    assert.equal(refusals.length, 1, 'kept once');
    a.apply(doc(good, 1));
    assert.deepEqual(refusals.slice(1), [null], 'back to the one in effect: the refusal is over');
    assert.equal(a.report()?.status, 'applied');
    a.apply(doc({ 'summaries.windowSec': 'x' }, 3));
    assert.equal(refusals[2]?.field, 'summaries.windowSec');
    a.apply(doc({ 'summaries.windowSec': 30 }, 4));
    assert.deepEqual(refusals.slice(3), [null], 'a later one applied clears it');
    a.apply(doc({ 'summaries.windowSec': 31 }, 5));
    assert.equal(refusals.length, 4, 'nothing kept: nothing to clear');
    // Kept by an earlier run (DATA/remote-config.refused.json): the document the hub sends now clears it.
    const restarted = setup(stored, true);
    restarted.a.apply(doc(good, 1));
    assert.deepEqual(restarted.refusals, [null]);
    const fresh = setup(undefined, true);
    fresh.a.apply({ sha256: settingsHash({}), sources: [], settings: {} });
    assert.deepEqual(fresh.refusals, [null]);
  });

  it('a document the box already runs changes nothing; no document (a hub managing none) changes nothing', () => {
    const good = { 'summaries.windowSec': 10 };
    const { a, calls, saved } = setup({ sha256: settingsHash(good), sources: [{ scope: 'fleet', version: 1 }], settings: good, at: '2026-03-01T11:00:00.000Z' });
    a.apply(doc(good));
    a.apply(undefined);
    assert.deepEqual([calls, saved], [[], []]);
    assert.equal(a.report()?.status, 'applied');
  });

  it('a configuration the agent could not start with is reported failed and not applied again; the one before is in effect', () => {
    const good = { 'summaries.windowSec': 10 };
    const bad = { 'runtime.intraOpThreads': 2 };
    const stored = { sha256: settingsHash(good), sources: [{ scope: 'fleet', version: 1 }], settings: good, at: '2026-03-01T11:00:00.000Z' };
    const calls: string[] = [];
    let restarts = 0;
    const a = new ConfigApplier({
      local, current: validateConfig({ ...local, summaries: { windowSec: 10 } }), stored, validate: validateConfig, store: () => calls.push('store'),
      failed: { sha256: settingsHash(bad), code: 'MODEL_LOAD_FAILED', message: 'the agent did not start with it: no backend' },
      live: { windowSec: () => undefined, checkpointSec: () => undefined, budgetBytes: () => undefined, outbox: () => undefined, concurrency: () => undefined, logLevel: () => undefined },
      restart: () => restarts++, changed: () => undefined, log: () => undefined, now: () => new Date('2026-03-01T12:00:00Z'),
    });
    assert.deepEqual([a.report()?.status, a.report()?.sha256, a.report()?.error?.code], ['failed', stored.sha256, 'MODEL_LOAD_FAILED']);
    a.apply(doc(bad, 2));
    assert.deepEqual([calls, restarts], [[], 0], 'not applied again (no restart loop)');
  });

  it('a configuration it cannot store (a real write that fails) is not run either: the running parts, the file and the report agree on the old one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ef-apply-'));
    try {
      // A data dir that is a file: every write under it fails (ENOTDIR), as on a full or read-only disk, even as root.
      const dataDir = join(dir, 'not-a-dir');
      writeFileSync(dataDir, '');
      const good = { 'summaries.windowSec': 10 };
      const stored = { sha256: settingsHash(good), sources: [{ scope: 'fleet', version: 1 }], settings: good, at: '2026-03-01T11:00:00.000Z', confirmed: true };
      const calls: string[] = [];
      const a = new ConfigApplier({
        local, current: validateConfig({ ...local, summaries: { windowSec: 10 } }), stored, validate: validateConfig,
        store: (r) => writeRemoteConfig(dataDir, r),
        live: {
          windowSec: (n) => calls.push(`windowSec ${n}`), checkpointSec: (n) => calls.push(`checkpointSec ${n}`),
          budgetBytes: (n) => calls.push(`budgetBytes ${n}`), outbox: (o) => calls.push(`outbox ${o.messagesPerSec}`),
          concurrency: (p, q) => calls.push(`concurrency ${p} ${q}`), logLevel: (l) => calls.push(`log ${l}`),
        },
        restart: () => assert.fail('no restart'), changed: () => undefined, log: () => undefined, now: () => new Date('2026-03-01T12:00:00Z'),
      });
      const next = doc({ 'summaries.windowSec': 30, 'sync.outbox.messagesPerSec': 5, 'log.level': 'debug' }, 2);
      a.apply(next);
      const r = a.report();
      assert.equal(r?.status, 'failed');
      assert.equal(r?.error?.sha256, next.sha256);
      assert.match(r?.error?.message ?? '', /ENOTDIR|not a directory/);
      assert.equal(r?.sha256, stored.sha256, 'the old configuration is reported in effect');
      assert.deepEqual(calls, [], 'no new value reached the running parts');
      assert.equal(a.config.summaries.windowSec, 10);
      assert.equal(a.config.log.level, 'info');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

    it('no document reaching a box that never had one: its local config is reported applied, nothing stored', () => {
    const { a, calls, saved } = setup();
    assert.equal(a.report(), undefined);
    a.apply({ sha256: settingsHash({}), sources: [], settings: {} });
    assert.deepEqual([calls, saved], [[], []]);
    assert.deepEqual([a.report()?.sha256, a.report()?.status], [settingsHash({}), 'applied']);
  });
});
