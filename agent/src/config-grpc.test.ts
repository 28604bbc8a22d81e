// The memory bound on gRPC messages (docs/agent.md "Limits"): grpc-js holds each message whole while it
// arrives, up to api.grpc.maxCalls × api.maxBodyBytes at once, so with gRPC on the agent refuses a config
// where that passes GRPC_BUFFER_FACTOR × api.maxInflightBodyBytes, at load (the file, naming the fields),
// in the daemon's quick check (declined, the schema's message) and for stored remote settings (ignored).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '@edgefleet/examples';
import { AppError, settingsHash } from '@edgefleet/shared/core';
import { loadConfig, validateConfig } from './config.js';
import { fastConfig } from './config-fast.js';
import { mergeConfig } from './config-merge.js';
import { writeRemoteConfig } from './config-remote.js';
import { resolveStartConfig } from './config-start.js';
import { configFile } from './testing.js';

const setup = (t: { after(fn: () => void): void }, config: object) => configFile(t, config, 'ef-config-grpc-');

test('a config file with gRPC on and maxCalls × maxBodyBytes past 4 × maxInflightBodyBytes is refused at load, naming the fields and the file', (t) => {
  const { data, file } = setup(t, { api: { grpc: { enabled: true, maxCalls: 64 } } });
  const merged = mergeConfig({}, { dataDir: data, config: file });
  assert.equal(fastConfig(merged), undefined, 'the quick check leaves it to the schema');
  assert.throws(() => loadConfig({}, { dataDir: data, config: file }), (e: unknown) => {
    assert.ok(e instanceof AppError);
    assert.equal(e.code, 'CONFIG_INVALID');
    assert.match(e.message, /^invalid config: api\.grpc\.maxCalls: api\.grpc\.maxCalls × api\.maxBodyBytes is 64 × 16 MiB = 1024 MiB of gRPC messages grpc-js may hold at once; expected at most 4 × api\.maxInflightBodyBytes = 256 MiB/);
    assert.ok(e.message.endsWith(`(in ${file})`), e.message);
    return true;
  });
  // The defaults hold the bound: the quick check and the schema agree on them.
  const ok = mergeConfig({}, { dataDir: data });
  const on = { ...ok, api: { grpc: { enabled: true } } };
  assert.deepEqual(fastConfig(on), validateConfig(on));
  assert.equal(fastConfig(on)?.api.grpc.maxCalls, 16);
});

test('stored remote settings raising api.grpc.maxCalls past the bound on a box with gRPC on are ignored at start, saying why', (t) => {
  const { data, file } = setup(t, { api: { grpc: { enabled: true } } });
  const settings = { 'api.grpc.maxCalls': 256 };
  writeRemoteConfig(data, { sha256: settingsHash(settings), sources: [{ scope: 'fleet', version: 1 }], settings, at: '2026-03-01T12:00:00.000Z', confirmed: true });
  const s = resolveStartConfig(mergeConfig({}, { dataDir: data, config: file }), validateConfig);
  assert.equal(s.remote, undefined);
  assert.equal(s.config.api.grpc.maxCalls, 16);
  assert.match(s.problems.join('\n'), /is ignored: invalid config: api\.grpc\.maxCalls: api\.grpc\.maxCalls × api\.maxBodyBytes is 256 × 16 MiB/);
});

test('edgefleet-agent run exits 1 on such a config, naming api.grpc.maxCalls', async (t) => {
  const { data, file } = setup(t, { api: { port: 0, maxBodyBytes: 64 * 1024 * 1024, grpc: { enabled: true, port: 0 } } });
  const r = await runCli('agent/src/cli/main.ts', ['run', '--data-dir', data, '--config', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /api\.grpc\.maxCalls: api\.grpc\.maxCalls × api\.maxBodyBytes is 16 × 64 MiB = 1024 MiB .*lower api\.grpc\.maxCalls \(at most 4 here\)/);
});
