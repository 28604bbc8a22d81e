// The hub config's `quotas` section and `ingest.maxStoredBytesPerDevice` (docs/hub.md): read from
// the config file, and a bad value is CONFIG_INVALID naming the field.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from './config.js';

it('reads quotas and the per-device storage cap, and names a bad quota field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-cfg-'));
  try {
    const file = join(dir, 'hub.json');
    writeFileSync(file, JSON.stringify({ dataDir: 'data', quotas: { messagesPerSec: 50, burst: 100, bytesPerHour: 1 << 20 }, ingest: { maxStoredBytesPerDevice: 4096 } }));
    const cfg = loadConfig({ config: file }, dir);
    assert.deepEqual(cfg.quotas, { messagesPerSec: 50, burst: 100, bytesPerHour: 1 << 20 });
    assert.equal(cfg.ingest?.maxStoredBytesPerDevice, 4096);

    writeFileSync(file, JSON.stringify({ dataDir: 'data', quotas: { burst: -1 } }));
    assert.throws(() => loadConfig({ config: file }, dir), (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && /quotas\.burst/.test(e.message));
    writeFileSync(file, JSON.stringify({ dataDir: 'data', quotas: { perDay: 1 } }));
    assert.throws(() => loadConfig({ config: file }, dir), /quotas.*perDay|perDay/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
