// The admin commands that load the config use the one the daemon runs with (config-start.ts): the
// hub's stored remote settings (DATA/remote-config.json) over the local config, so `install` test-loads
// and preflights a model with the remote runtime.backend, not the config file's, and `batch` runs its
// file on it. The real edgefleet-agent program (node, from source or built) on a temp data dir.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '@edgefleet/examples';
import { settingsHash } from '@edgefleet/shared/core';
import { failRemoteConfig, writeRemoteConfig, type StoredRemoteConfig } from '../config-remote.js';
import { openStore } from '../store/agent-store.js';
import { makeKit, mlpBundle, row, type Kit } from '../testing.js';

const CLI = 'agent/src/cli/main.ts';
const rec = (settings: Record<string, unknown>, confirmed: boolean): StoredRemoteConfig =>
  ({ sha256: settingsHash(settings), sources: [{ scope: 'fleet', version: 1 }], settings, at: '2026-03-01T12:00:00.000Z', confirmed });

describe('edgefleet-agent commands with stored remote settings', () => {
  let kit: Kit;
  let bundle: string;
  let cfg: string;
  before(async () => {
    kit = makeKit('ef-cli-remote-');
    // A sample, so install runs a preflight and prints the backend it ran on.
    const sample = { path: 'samples/a.request.json', bytes: JSON.stringify(row([1, 2, 3, 4])) };
    bundle = (await mlpBundle(kit, '1.0.0', { files: [sample], samples: [{ request: sample.path }] })).path;
    cfg = join(kit.dir, 'agent.json');
    writeFileSync(cfg, JSON.stringify({ runtime: { backend: 'native' } }));
  });
  after(() => kit.cleanup());

  async function install(name: string, remote?: StoredRemoteConfig): Promise<{ stdout: string; stderr: string }> {
    const data = join(kit.dir, name);
    mkdirSync(data, { recursive: true, mode: 0o700 });
    if (remote) writeRemoteConfig(data, remote);
    const s = openStore(data);
    s.trust.put(kit.trust.doc, 1);
    s.db.close();
    const r = await runCli(CLI, ['install', bundle, '--data-dir', data, '--config', cfg]);
    assert.equal(r.code, 0, r.stderr);
    // Read only: a command neither counts a start with the settings nor fails them.
    assert.equal(existsSync(join(data, 'remote-config.attempt.json')), false);
    return r;
  }

  it('install test-loads and preflights on the remote runtime.backend, over the config file\'s', async () => {
    const r = await install('remote', rec({ 'runtime.backend': 'wasm' }, false));
    assert.match(r.stdout, /installed mlp@1\.0\.0 \(active\)/);
    assert.match(r.stdout, /preflight: 1 sample\(s\) passed on the wasm backend/);
  });

  it('status shows the remote settings stored on the box, and ones the agent could not start with', async () => {
    const data = join(kit.dir, 'remote');
    const stored = rec({ 'runtime.backend': 'wasm' }, false);
    const st = await runCli(CLI, ['status', '--data-dir', data, '--config', cfg]);
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, new RegExp(`^remote config fleet@1 \\(${stored.sha256.slice(0, 12)}, 1 settings, stored 2026-03-01T12:00:00\\.000Z, not yet run with\\)\n  runtime\\.backend = "wasm"$`, 'm'));
    failRemoteConfig(data, { sha256: 'f'.repeat(64), code: 'CONFIG_INVALID', message: 'api.port 8701 is in use' });
    const json = JSON.parse((await runCli(CLI, ['status', '--data-dir', data, '--config', cfg, '--json'])).stdout) as { remoteConfig: unknown; remoteConfigFailed: unknown };
    assert.deepEqual(json.remoteConfig, null, 'failing it went back to the one before: none');
    assert.deepEqual(json.remoteConfigFailed, { sha256: 'f'.repeat(64), code: 'CONFIG_INVALID', message: 'api.port 8701 is in use' });
    assert.match((await runCli(CLI, ['status', '--data-dir', data, '--config', cfg])).stdout, /^remote config ffffffffffff failed, not applied again: CONFIG_INVALID: api\.port 8701 is in use$/m);
  });

  it('batch runs its file on the remote runtime.backend, over the config file\'s; without remote settings, on the file\'s', async () => {
    const input = join(kit.dir, 'rows.jsonl');
    writeFileSync(input, `${JSON.stringify({ inputs: { input: [1, 2, 3, 4] } })}\n${JSON.stringify({ inputs: { input: [4, 3, 2, 1] } })}\n`);
    for (const [name, remote, backend] of [['batch-remote', rec({ 'runtime.backend': 'wasm' }, true), 'wasm'], ['batch-local', undefined, 'native']] as const) {
      await install(name, remote);
      const data = join(kit.dir, name);
      const output = join(data, 'out.jsonl');
      const r = await runCli(CLI, ['batch', '--model', 'mlp', '--input', input, '--output', output, '--data-dir', data, '--config', cfg]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`mlp@1\\.0\\.0: 2 rows \\(0 with errors\\) in [\\d.]+ s, [\\d,]+ rows/s on the ${backend} backend -> `));
      const rows = readFileSync(output, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { outputs?: { output: number[] } });
      assert.deepEqual(rows.map((x) => x.outputs?.output.length), [3, 3]);
    }
  });

  it('ignores stored settings that do not match their hash, saying so, and uses the local config', async () => {
    const bad = { ...rec({ 'runtime.backend': 'wasm' }, true), sha256: '0'.repeat(64) };
    const r = await install('tampered', bad);
    assert.match(r.stdout, /preflight: 1 sample\(s\) passed on the native backend/);
    assert.match(r.stderr, /warning: .*remote-config\.json is ignored: its sha256 does not match its settings/);
  });
});
