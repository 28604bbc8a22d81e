// New runtime.* settings with which the ACTIVE version does not load while the previous one does (decision
// 0120, second addendum): the start fell back to the previous version and recorded that for good, the
// settings never blamed, so the box left the version the fleet asked for because of a setting. Now the
// active version is tried with the settings before; when it loads with them the settings are blamed as
// when no model loads: the start fails, the fallback is undone, and the box goes back to the settings before.
// The real edgefleet-agent program, real ONNX sessions: strict@2.0.0 a model onnxruntime-web refuses
// (broken by runtime.backend=wasm), strict@1.0.0 an MLP that loads on both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildStrictShapeModel, bundleFromOnnx, randomMlp, runCli, startProcess } from '@edgefleet/examples';
import { settingsHash } from '@edgefleet/shared/core';
import { confirmRemoteConfig, readFailedRemoteConfig, readRemoteConfig, writeRemoteConfig } from './config-remote.js';
import { makeKit, provision } from './testing.js';

const CLI = 'agent/src/cli/main.ts';

test('runtime.backend=wasm breaks the active version and the previous one loads: the settings are blamed, the active version kept', async (t) => {
  const kit = makeKit('ef-config-fallback-');
  t.after(kit.cleanup);
  const data = join(kit.dir, 'data');
  mkdirSync(data, { mode: 0o700 });
  const cli = async (args: string[]) => {
    const r = await runCli(CLI, [...args, '--data-dir', data]);
    assert.equal(r.code, 0, r.stderr);
    return r;
  };
  const bundles: string[] = [];
  for (const [version, m] of [['1.0.0', randomMlp({ inputDim: 4, hidden: [8], outputDim: 3 })], ['2.0.0', buildStrictShapeModel()]] as const) {
    bundles.push((await bundleFromOnnx({ dir: join(kit.dir, 'bundles'), onnx: m.onnx, name: 'strict', version, io: m.io, keys: kit.keys })).path);
  }
  await provision(data, kit.trust.path, bundles);
  const rec = (settings: Record<string, unknown>) => ({ sha256: settingsHash(settings), sources: [{ scope: 'fleet', version: 1 }], settings, at: '2026-03-01T12:00:00.000Z' });
  const good = { ...rec({ 'summaries.windowSec': 10 }), confirmed: false };
  writeRemoteConfig(data, good);
  confirmRemoteConfig(data, good);
  const next = rec({ 'runtime.backend': 'wasm', 'summaries.windowSec': 10 });
  writeRemoteConfig(data, next);

  const r = await runCli(CLI, ['run', '--data-dir', data, '--api-port', '0']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /1 of 1 active models did not load with runtime\.backend changed: model strict@2\.0\.0 does not load in onnxruntime \(wasm\): .*; strict loads with the runtime settings before/);
  assert.equal(readFailedRemoteConfig(data)?.sha256, next.sha256);
  assert.deepEqual(readRemoteConfig(data), { ...good, confirmed: true });
  const [model] = (JSON.parse((await cli(['status', '--json'])).stdout) as { models: Array<{ active: string; previous: string; rolledBack: unknown }> }).models;
  assert.deepEqual([model?.active, model?.previous, model?.rolledBack], ['2.0.0', '1.0.0', null], 'the version the fleet asked for stays active');
  // Started again: the settings before, and the version the fleet asked for served.
  const p = startProcess(CLI, ['run', '--data-dir', data, '--api-port', '0']);
  try {
    const ready = await p.waitForLine(/"msg":"ready"/, 60_000);
    const api = (JSON.parse(ready) as { api: string }).api;
    const meta = (await (await fetch(`${api}/v2/models/strict`)).json()) as { versions?: string[] };
    assert.deepEqual(meta.versions, ['2.0.0']);
    assert.doesNotMatch(p.output().stderr + p.output().stdout, /fell back from 2\.0\.0/);
  } finally {
    await p.stop('SIGTERM', 20_000);
  }
});
