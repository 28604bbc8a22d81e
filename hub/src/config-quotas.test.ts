// The hub config's `quotas` section, `ingest.maxStoredBytesPerDevice`, `ingest.maxParkedBytes`, `ingest.parkedRetentionDays`, `capture.maxChunkBytes` and `maxPayloadBytes` (docs/hub.md): read from
// the config file, and a bad value is CONFIG_INVALID naming the field.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_CAPTURE_CHUNK_BYTES, MIN_CAPTURE_CHUNK_BYTES, captureMessageBytes, newCaptureKeyFile, sealedRowsBytes } from '@edgefleet/shared';
import { loadConfig } from './config-load.js';

it('reads quotas and the per-device storage cap, and names a bad quota field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-cfg-'));
  try {
    const file = join(dir, 'hub.json');
    writeFileSync(file, JSON.stringify({ dataDir: 'data', quotas: { messagesPerSec: 50, burst: 100, bytesPerHour: 1 << 20 }, ingest: { maxStoredBytesPerDevice: 4096 } }));
    const cfg = loadConfig({ config: file }, dir);
    assert.deepEqual(cfg.quotas, { messagesPerSec: 50, burst: 100, bytesPerHour: 1 << 20 });
    assert.equal(cfg.ingest?.maxStoredBytesPerDevice, 4096);
    // The credit of time a device's windows may claim again (docs/hub.md "What the hub accepts from devices").
    writeFileSync(file, JSON.stringify({ dataDir: 'data', ingest: { maxOverlapSec: 0 } }));
    assert.equal(loadConfig({ config: file }, dir).ingest?.maxOverlapSec, 0);
    writeFileSync(file, JSON.stringify({ dataDir: 'data', ingest: { maxOverlapSec: -1 } }));
    assert.throws(() => loadConfig({ config: file }, dir), (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && /ingest\.maxOverlapSec/.test(e.message));

    writeFileSync(file, JSON.stringify({ dataDir: 'data', quotas: { burst: -1 } }));
    assert.throws(() => loadConfig({ config: file }, dir), (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && /quotas\.burst/.test(e.message));
    // The state report limits (docs/mqtt.md "State reports").
    writeFileSync(file, JSON.stringify({ dataDir: 'data', ingest: { maxStateBytes: 32768, stateBytesPerSec: 8192 } }));
    assert.deepEqual([loadConfig({ config: file }, dir).ingest?.maxStateBytes, loadConfig({ config: file }, dir).ingest?.stateBytesPerSec], [32768, 8192]);
    writeFileSync(file, JSON.stringify({ dataDir: 'data', ingest: { maxStateBytes: 100 } }));
    assert.throws(() => loadConfig({ config: file }, dir), (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && /ingest\.maxStateBytes/.test(e.message) && /at least 1024 bytes/.test(e.message));
    // Parked windows (hub/src/ingest/parked.ts): the hub-wide cap and their age limit.
    writeFileSync(file, JSON.stringify({ dataDir: 'data', ingest: { maxParkedBytes: 1 << 30, parkedRetentionDays: 7 } }));
    assert.deepEqual([loadConfig({ config: file }, dir).ingest?.maxParkedBytes, loadConfig({ config: file }, dir).ingest?.parkedRetentionDays], [1 << 30, 7]);
    for (const [key, value, expected] of [['maxParkedBytes', 4096, 'at least 1048576'], ['parkedRetentionDays', 0.5, 'whole days from 1 to 3650'], ['parkedRetentionDays', 4000, 'whole days from 1 to 3650'], ['parkedRetentionDays', '30', 'whole days from 1 to 3650']] as const) {
      writeFileSync(file, JSON.stringify({ dataDir: 'data', ingest: { [key]: value } }));
      assert.throws(() => loadConfig({ config: file }, dir), (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && e.message.includes(`ingest.${key}`) && e.message.includes(expected), `${key} ${value}`);
    }
    writeFileSync(file, JSON.stringify({ dataDir: 'data', quotas: { perDay: 1 } }));
    assert.throws(() => loadConfig({ config: file }, dir), /quotas.*perDay|perDay/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('refuses a capture.maxChunkBytes below an agent\'s largest sealed chunk, naming the field and the least it takes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-cfg-'));
  try {
    const file = join(dir, 'hub.json');
    const least = sealedRowsBytes(MAX_CAPTURE_CHUNK_BYTES);
    writeFileSync(file, JSON.stringify({ dataDir: 'data', capture: { maxChunkBytes: least } }));
    assert.equal(loadConfig({ config: file }, dir).capture?.maxChunkBytes, least);
    writeFileSync(file, JSON.stringify({ dataDir: 'data', capture: { maxChunkBytes: least - 1 } }));
    assert.throws(() => loadConfig({ config: file }, dir), (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && /capture\.maxChunkBytes/.test(e.message) && e.message.includes(`at least ${least} bytes`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('refuses a maxPayloadBytes below what an agent or a state report needs, naming the key, the value and the least it takes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-cfg-'));
  try {
    const file = join(dir, 'hub.json');
    const load = (o: object) => {
      writeFileSync(file, JSON.stringify({ dataDir: 'data', ...o }));
      return loadConfig({ config: file }, dir);
    };
    const refused = (o: object, re: RegExp) => assert.throws(() => load(o), (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && re.test(e.message));
    refused({ maxPayloadBytes: 512 }, /maxPayloadBytes: expected at least 1024 bytes, the smallest sync\.outbox\.maxMessageBytes an agent takes \(got 512\)/);
    refused({ maxPayloadBytes: 65535 }, /maxPayloadBytes: expected at least ingest\.maxStateBytes \(65536, its default\): .* \(got 65535\)/);
    refused({ maxPayloadBytes: 32768, ingest: { maxStateBytes: 32769 } }, /maxPayloadBytes: expected at least ingest\.maxStateBytes \(32769\)/);
    assert.equal(load({ maxPayloadBytes: 65536 }).maxPayloadBytes, 65536);
    assert.equal(load({ maxPayloadBytes: 32768, ingest: { maxStateBytes: 32768 } }).maxPayloadBytes, 32768);
    // With captures on, a chunk of the least bytes of rows an agent seals must fit as a message.
    const capture = { publicKey: newCaptureKeyFile().public };
    const least = captureMessageBytes(MIN_CAPTURE_CHUNK_BYTES);
    refused({ maxPayloadBytes: least - 1, ingest: { maxStateBytes: 4096 }, capture }, new RegExp(`maxPayloadBytes: expected at least ${least} with capture\\.publicKey set: a capture chunk of 4096 bytes of rows.* \\(got ${least - 1}\\)`));
    assert.equal(load({ maxPayloadBytes: least, ingest: { maxStateBytes: 4096 }, capture }).maxPayloadBytes, least);
    assert.equal(load({ maxPayloadBytes: least - 1, ingest: { maxStateBytes: 4096 } }).maxPayloadBytes, least - 1, 'no capture key: no capture chunks');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
