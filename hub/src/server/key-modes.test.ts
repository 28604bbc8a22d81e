// A hub key that its group or other users may read is refused at start, as ssh refuses such a private
// key (docs/operations.md "Keys"): a real `edgefleet-hub run` with --hub-key at 0644 and 0640 exits 1
// naming the file, its mode and the chmod, before it makes anything in the data dir; a DATA/hub.key at
// 0644 likewise. At 0600 the same files start the hub.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeKeys, makeTrust, runCli } from '@edgefleet/examples';
import { HubConfig } from '../config.js';
import { HUB_KEY_FILE, loadHubKey } from './first-start.js';

test('edgefleet-hub run: a --hub-key readable by its group or others is refused naming its mode and the chmod; nothing is made', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-hubkeymode-'));
  try {
    const keys = makeKeys(join(dir, 'keys'));
    const trust = makeTrust(dir, keys);
    const key = keys.files.hub.keyPath;
    const data = join(dir, 'data');
    const args = ['run', '--data-dir', data, '--http-port', '0', '--mqtt-port', '0', '--log-level', 'warn', '--trust', trust.path, '--hub-key', key];
    for (const [mode, who] of [[0o644, 'its group and other users'], [0o640, 'its group'], [0o604, 'other users']] as const) {
      chmodSync(key, mode);
      const r = await runCli('hub/src/server/main.ts', args);
      assert.equal(r.code, 1, r.stderr);
      const m = mode.toString(8);
      assert.match(r.stderr, new RegExp(`^error \\[CONFIG_INVALID\\]: ${key.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} has mode 0${m}; expected 0600 \\(it holds the hub's signing key, and ${who} may open it\\): chmod 600 \\S+hub\\.key\\n`, 'm'));
      assert.equal(existsSync(data), false, `no data dir made at 0${m}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('DATA/hub.key at 0644 (copied in by hand) is refused, not used; at 0600 it is used', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-hubkeymode-data-'));
  try {
    const keys = makeKeys(join(dir, 'keys'));
    const data = join(dir, 'data');
    mkdirSync(data, { mode: 0o700 });
    const path = join(data, HUB_KEY_FILE);
    copyFileSync(keys.files.hub.keyPath, path);
    chmodSync(path, 0o644);
    const cfg = HubConfig.parse({ dataDir: data });
    await assert.rejects(loadHubKey(cfg), (e: Error & { code?: string }) =>
      e.code === 'CONFIG_INVALID' && e.message.startsWith(`${path} has mode 0644; expected 0600`) && e.message.endsWith(`chmod 600 ${path}`));
    chmodSync(path, 0o600);
    assert.equal((await loadHubKey(cfg)).keyId, keys.hub.keyId);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
