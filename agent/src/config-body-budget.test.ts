// api.maxBodyBytes past api.maxInflightBodyBytes is a limit the box never applies: a body between the two
// could never be read and is answered 413 naming api.maxInflightBodyBytes (docs/agent.md "Limits"). Such a
// config is refused, naming both fields and their values, at load (the file), in the daemon's quick check
// (declined: the schema's message), for a remote configuration a hub sends (refused whole, nothing stored)
// and for stored remote settings (ignored at start) (docs/decisions/0119-agent-settings-upper-bounds.md,
// addendum).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '@edgefleet/examples';
import { AppError, checkRemoteSettings, settingsHash } from '@edgefleet/shared';
import { loadConfig, validateConfig } from './config.js';
import { fastConfig } from './config-fast.js';
import { mergeConfig } from './config-merge.js';
import { readRemoteConfig, writeRemoteConfig } from './config-remote.js';
import { resolveStartConfig } from './config-start.js';
import { configFile } from './testing.js';
import { ConfigApplier } from './sync/config-apply.js';

const MiB = 1024 * 1024;
const BOTH = /api\.maxBodyBytes: api\.maxBodyBytes is 32 MiB, more than api\.maxInflightBodyBytes = 16 MiB of requests held at once: a body between the two could never be read \(413\); expected api\.maxBodyBytes at most api\.maxInflightBodyBytes/;

const setup = (t: { after(fn: () => void): void }, config: object) => configFile(t, config, 'ef-config-body-');

test('a config file with api.maxBodyBytes above api.maxInflightBodyBytes is refused at load, naming both, their values and the file', (t) => {
  const { data, file } = setup(t, { api: { maxBodyBytes: 32 * MiB, maxInflightBodyBytes: 16 * MiB } });
  const merged = mergeConfig({}, { dataDir: data, config: file });
  assert.equal(fastConfig(merged), undefined, 'the quick check leaves it to the schema');
  assert.throws(() => loadConfig({}, { dataDir: data, config: file }), (e: unknown) => {
    assert.ok(e instanceof AppError);
    assert.equal(e.code, 'CONFIG_INVALID');
    assert.match(e.message, BOTH);
    assert.ok(e.message.endsWith(`(in ${file})`), e.message);
    return true;
  });
  // Equal is a body that may take the whole budget: taken, the quick check and the schema agreeing.
  const equal = { ...mergeConfig({}, { dataDir: data }), api: { maxBodyBytes: 16 * MiB, maxInflightBodyBytes: 16 * MiB } };
  assert.deepEqual(fastConfig(equal), validateConfig(equal));
});

test('a hub refuses such a document at config set, naming both values, and a box refuses one sent to it whole: nothing stored, no restart', () => {
  assert.throws(() => checkRemoteSettings({ 'api.maxInflightBodyBytes': 8 * MiB }), (e: unknown) => {
    assert.ok(e instanceof AppError);
    assert.equal(e.code, 'CONFIG_INVALID');
    // On api.maxBodyBytes, which the document does not set: its value is in the message, not "got nothing".
    assert.equal(e.message, 'api.maxBodyBytes: api.maxBodyBytes is 16 MiB, more than api.maxInflightBodyBytes = 8 MiB of requests held at once: a body between the two could never be read (413); expected api.maxBodyBytes at most api.maxInflightBodyBytes: lower api.maxBodyBytes or raise api.maxInflightBodyBytes');
    return true;
  });
  const dir = mkdtempSync(join(tmpdir(), 'ef-config-body-'));
  try {
    // The hub checks over the defaults; this box's own file has a smaller budget.
    const local = { dataDir: dir, api: { maxInflightBodyBytes: 16 * MiB, maxBodyBytes: 8 * MiB } };
    let restarts = 0;
    const applier = new ConfigApplier({
      local, current: validateConfig(local), stored: undefined, validate: validateConfig,
      store: (r) => writeRemoteConfig(dir, r),
      live: { windowSec: () => undefined, checkpointSec: () => undefined, budgetBytes: () => undefined, outbox: () => undefined, concurrency: () => undefined, logLevel: () => undefined },
      restart: () => restarts++, changed: () => undefined, log: () => undefined, now: () => new Date('2026-03-01T12:00:00Z'),
    });
    const settings = { 'api.maxBodyBytes': 32 * MiB };
    checkRemoteSettings(settings); // 32 MiB of the default 64 MiB: the hub takes it
    applier.apply({ sha256: settingsHash(settings), sources: [{ scope: 'fleet', version: 1 }], settings });
    const r = applier.report();
    assert.equal(r?.status, 'failed');
    assert.equal(r?.error?.code, 'CONFIG_INVALID');
    assert.equal(r?.error?.field, 'api.maxBodyBytes');
    assert.match(r?.error?.message ?? '', BOTH);
    assert.deepEqual([readRemoteConfig(dir), restarts], [undefined, 0]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stored remote settings raising api.maxBodyBytes past the budget are ignored at start, saying why', (t) => {
  const { data, file } = setup(t, { api: { maxInflightBodyBytes: 16 * MiB } });
  const settings = { 'api.maxBodyBytes': 32 * MiB };
  writeRemoteConfig(data, { sha256: settingsHash(settings), sources: [{ scope: 'fleet', version: 1 }], settings, at: '2026-03-01T12:00:00.000Z', confirmed: true });
  const s = resolveStartConfig(mergeConfig({}, { dataDir: data, config: file }), validateConfig);
  assert.equal(s.remote, undefined);
  assert.equal(s.config.api.maxBodyBytes, 16 * MiB);
  assert.match(s.problems.join('\n'), /is ignored: invalid config: api\.maxBodyBytes: api\.maxBodyBytes is 32 MiB, more than api\.maxInflightBodyBytes = 16 MiB/);
});

test('edgefleet-agent run exits 1 on such a config, naming both fields', async (t) => {
  const { data, file } = setup(t, { api: { port: 0, maxBodyBytes: 32 * MiB, maxInflightBodyBytes: 16 * MiB } });
  const r = await runCli('agent/src/cli/main.ts', ['run', '--data-dir', data, '--config', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, BOTH);
});
