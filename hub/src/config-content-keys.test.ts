// The hub config's `contentKeys` (docs/hub.md "Config", "Several hubs"): the key file that wraps sealed
// models' content keys, from --content-keys (against the working dir) or the config file (against the
// file), the flag winning; DATA/content-keys.key when it is not given. A hub whose named file does not
// exist refuses to start (CONFIG_INVALID naming the file and how to make one) before it creates anything.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from './config-load.js';
import { Hub } from './server/hub.js';
import { RecordingLogger } from './mqtt/testing/devices.js';
import { ManualClock } from './testing/harness.js';

it('takes the content-keys file from the flag or the config file, resolved like --hub-key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-cfg-ck-'));
  try {
    assert.equal(loadConfig({ 'data-dir': 'data' }, dir).contentKeys, undefined);
    assert.equal(loadConfig({ 'data-dir': 'data', 'content-keys': 'keys/ck.key' }, dir).contentKeys, join(dir, 'keys', 'ck.key'));
    writeFileSync(join(dir, 'hub.json'), JSON.stringify({ dataDir: 'data', contentKeys: 'secrets/content-keys.key', hubKey: 'secrets/hub.key' }));
    const fromFile = loadConfig({ config: join(dir, 'hub.json') }, '/elsewhere');
    assert.equal(fromFile.contentKeys, join(dir, 'secrets', 'content-keys.key'));
    assert.equal(fromFile.hubKey, join(dir, 'secrets', 'hub.key'));
    assert.equal(loadConfig({ config: join(dir, 'hub.json'), 'content-keys': '/etc/edgefleet/ck.key' }, dir).contentKeys, '/etc/edgefleet/ck.key');
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ dataDir: 'data', contentKeys: 7 }));
    assert.throws(() => loadConfig({ config: join(dir, 'bad.json') }, dir), (e: Error & { code?: string }) =>
      e.code === 'CONFIG_INVALID' && /contentKeys \(--content-keys\): /.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('refuses to start a hub whose content-keys file does not exist, naming it, before anything is created', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-cfg-ck-hub-'));
  const cfg = loadConfig({ 'data-dir': 'data', 'content-keys': 'etc/content-keys.key', 'http-port': '0', 'mqtt-port': '0' }, dir);
  const hub = new Hub(cfg, new RecordingLogger(), new ManualClock());
  try {
    await assert.rejects(hub.start(), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'CONFIG_INVALID');
      assert.ok(e.message.includes(`content keys key file ${join(dir, 'etc', 'content-keys.key')} (contentKeys, --content-keys) does not exist`), e.message);
      assert.match(e.message, /Every hub on one database needs the same file: copy the content-keys\.key of the hub that made it/);
      assert.match(e.message, /head -c 32 \/dev\/urandom \| base64 > /);
      return true;
    });
    assert.equal(existsSync(join(dir, 'data')), false, 'no data dir, hub.db, hub.key or admin token made');
    assert.equal(existsSync(join(dir, 'etc', 'content-keys.key')), false, 'no key file of its own');
  } finally {
    await hub.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
