// DATA/device-key.json that its group or other users may read is refused, as the hub refuses such a
// hub.key (docs/security.md "Sealed models"): the file, its mode and the chmod are named; at 0600 it is read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deviceKeyPath, loadOrCreateDeviceKey, readDeviceKey } from './device-key.js';

test('a device key readable by its group or others is refused naming its mode and the chmod', () => {
  const data = mkdtempSync(join(tmpdir(), 'ef-devkeymode-'));
  try {
    const made = loadOrCreateDeviceKey(data);
    assert.equal(made.created, true);
    const path = deviceKeyPath(data);
    for (const [mode, who] of [[0o644, 'its group and other users'], [0o640, 'its group']] as const) {
      chmodSync(path, mode);
      assert.throws(() => readDeviceKey(data), (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID'
        && e.message === `${path} has mode 0${mode.toString(8)}; expected 0600 (it holds the device's private key, and ${who} may open it): chmod 600 ${path}`);
      assert.throws(() => loadOrCreateDeviceKey(data), /CONFIG_INVALID|has mode/, 'no new key made over it');
    }
    chmodSync(path, 0o600);
    assert.equal(readDeviceKey(data)?.keyId, made.pair.keyId);
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
});
