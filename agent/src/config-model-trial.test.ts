// New runtime.* settings after which an active model is not served fail the start (decision 0120) only
// when the model loads with the settings before: each such model is tried once with them, within
// TRIAL_LOAD_MS (config-start.ts). A model that does not load with the settings before either is its own
// failure, as before 0120: the start goes on, saying so. The real edgefleet-agent program and real ONNX
// sessions: a model onnxruntime-node loads and onnxruntime-web refuses, broken by runtime.backend=wasm
// from the hub, the same model on a box whose local config is on wasm already (broken either way), and
// an MLP whose stored file rotted (a weight flipped: it would load, but it is not the model installed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildStrictShapeModel, bundleFromOnnx, randomMlp, runCli, startProcess } from '@edgefleet/examples';
import { waitFor } from '@edgefleet/examples/fleet';
import { settingsHash } from '@edgefleet/shared/core';
import { confirmRemoteConfig, readFailedRemoteConfig, readRemoteConfig, writeRemoteConfig, type StoredRemoteConfig } from './config-remote.js';
import { makeKit, provision } from './testing.js';

const CLI = 'agent/src/cli/main.ts';
const rec = (settings: Record<string, unknown>): StoredRemoteConfig =>
  ({ sha256: settingsHash(settings), sources: [{ scope: 'fleet', version: 1 }], settings, at: '2026-03-01T12:00:00.000Z' });

/** A box serving `strict`@1.0.0 (installed on the native backend) that ran with `good`, and `next` stored, not yet run with. */
async function box(t: { after(fn: () => void): void }, next: Record<string, unknown>, m = buildStrictShapeModel()) {
  const kit = makeKit('ef-model-trial-');
  t.after(kit.cleanup);
  const data = join(kit.dir, 'data');
  mkdirSync(data, { mode: 0o700 });
  const bundle = await bundleFromOnnx({ dir: join(kit.dir, 'bundles'), onnx: m.onnx, name: 'strict', version: '1.0.0', io: m.io, keys: kit.keys });
  await provision(data, kit.trust.path, [bundle.path]);
  const good = { ...rec({ 'summaries.windowSec': 10 }), confirmed: false };
  writeRemoteConfig(data, good);
  confirmRemoteConfig(data, good);
  const n = rec(next);
  writeRemoteConfig(data, n);
  return { data, dir: kit.dir, good: { ...good, confirmed: true }, next: n, onnx: bundle.manifest.files.find((f) => f.path.endsWith('.onnx'))! };
}

test('runtime.backend=wasm with which the model does not load, and with the settings before does: the start fails, back to the settings before', async (t) => {
  const { data, good, next } = await box(t, { 'runtime.backend': 'wasm', 'summaries.windowSec': 10 });
  const r = await runCli(CLI, ['run', '--data-dir', data, '--api-port', '0']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /1 of 1 active models did not load with runtime\.backend changed: model strict@1\.0\.0 does not load in onnxruntime \(wasm\): .*; strict loads with the runtime settings before/);
  assert.equal(readFailedRemoteConfig(data)?.sha256, next.sha256);
  assert.deepEqual(readRemoteConfig(data), good);
});

test('a model that does not load with the settings before either is not blamed on the new ones: the agent starts with them, saying why', async (t) => {
  const { data, dir, next } = await box(t, { 'runtime.intraOpThreads': 2, 'summaries.windowSec': 10 });
  // The operator put the box's own file on wasm: the model loads with neither the settings before nor the new ones.
  const file = join(dir, 'agent.json');
  writeFileSync(file, JSON.stringify({ runtime: { backend: 'wasm' } }));
  const p = startProcess(CLI, ['run', '--data-dir', data, '--config', file, '--api-port', '0']);
  try {
    await p.waitForLine(/"msg":"ready"/, 60_000);
    const out = p.output().stderr + p.output().stdout;
    assert.match(out, /not blamed on runtime\.intraOpThreads: strict does not load with the runtime settings before either \(MODEL_LOAD_FAILED: model strict@1\.0\.0 does not load in onnxruntime \(wasm\)/);
    assert.equal(readFailedRemoteConfig(data), undefined);
    // Confirmed once start() returns, just after "ready".
    await waitFor('the new settings confirmed (run with)', () => readRemoteConfig(data)?.confirmed || undefined, { timeoutMs: 10_000 });
    assert.deepEqual(readRemoteConfig(data), { ...next, confirmed: true });
  } finally {
    await p.stop('SIGTERM', 20_000);
  }
});

test('a model whose stored file rotted is not blamed on new runtime settings: the trial checks its files as the start did', async (t) => {
  const mlp = randomMlp({ inputDim: 4, hidden: [8], outputDim: 3 });
  const { data, onnx } = await box(t, { 'runtime.intraOpThreads': 2 }, mlp);
  const blob = join(data, 'blobs', 'sha256', onnx.sha256.slice(0, 2), onnx.sha256.slice(2));
  const bytes = readFileSync(blob);
  // A byte of the first layer's weights: the file still parses and loads, but it is not the model installed.
  const w = mlp.spec.layers[0]!.weights;
  const at = bytes.indexOf(Buffer.from(w.buffer, w.byteOffset, 16));
  assert.ok(at > 0);
  bytes[at]! ^= 0xff;
  writeFileSync(blob, bytes);
  const p = startProcess(CLI, ['run', '--data-dir', data, '--api-port', '0']);
  try {
    await p.waitForLine(/"msg":"ready"/, 60_000);
    assert.match(p.output().stderr + p.output().stdout, /not blamed on runtime\.intraOpThreads: strict does not load with the runtime settings before either \(HASH_MISMATCH: strict@1\.0\.0: stored files \S+ no longer match their sha256/);
    assert.equal(readFailedRemoteConfig(data), undefined);
  } finally {
    await p.stop('SIGTERM', 20_000);
  }
});
