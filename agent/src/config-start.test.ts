// modelsNotLoadedWith (config-start.ts): which starts with new remote settings are failed because an active
// model did not load, once each such model was tried with the settings before. The whole path, with real
// agent processes and ONNX models, is agent/src/config-model-trial.test.ts, and with a hub
// test/src/scenarios/config-model-load.test.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError, settingsHash } from '@edgefleet/shared/core';
import { modelsNotLoadedWith, type StartedModels } from './config-start.js';
import type { StoredRemoteConfig } from './config-remote.js';

const rec = (settings: Record<string, unknown>, confirmed = false): StoredRemoteConfig =>
  ({ sha256: settingsHash(settings), sources: [{ scope: 'fleet', version: 1 }], settings, at: '2026-03-01T12:00:00.000Z', confirmed });

/** `before`: how each model fares with the settings before (absent: it loads); the runtimes it was asked with. */
function models(active: string[], served: string[], before: Record<string, AppError | 'never'> = {}): StartedModels & { tried: Array<[string, unknown]> } {
  const tried: Array<[string, unknown]> = [];
  return {
    tried,
    active: () => active,
    served: (n) => served.includes(n),
    fellBackFrom: () => undefined,
    undoFallback: () => undefined,
    lastError: (n) => (n === 'a' ? { code: 'MODEL_LOAD_FAILED', message: 'model a@1.0.0 does not load in onnxruntime (wasm): refused' } : undefined),
    loadsWith: (n, runtime) => {
      tried.push([n, runtime]);
      const r = before[n];
      return r === 'never' ? new Promise<never>(() => undefined) : Promise.resolve(r);
    },
  };
}

const broken = new AppError('HASH_MISMATCH', 'mlp@1.0.0: stored files model.onnx no longer match their sha256');

describe('modelsNotLoadedWith', () => {
  const local = { dataDir: '/var/lib/edgefleet', runtime: { backend: 'native' } };
  const before = rec({ 'runtime.intraOpThreads': 1, 'summaries.windowSec': 10 }, true);

  it('fails new runtime settings with which an active model did not load and with the ones before did, naming the models, the settings and why', async () => {
    const m = models(['a', 'b', 'c'], ['c']);
    const e = await modelsNotLoadedWith(local, rec({ 'runtime.backend': 'wasm', 'summaries.windowSec': 10 }), before, m) as AppError;
    assert.equal(e.code, 'MODEL_LOAD_FAILED');
    assert.equal(e.message, '2 of 3 active models did not load with runtime.backend, runtime.intraOpThreads changed: model a@1.0.0 does not load in onnxruntime (wasm): refused; b is not served; a loads with the runtime settings before');
    assert.deepEqual(e.details, { models: ['a', 'b'], settings: ['runtime.backend', 'runtime.intraOpThreads'] });
    // Tried with the settings before (the local config under them), and only until one loaded.
    assert.deepEqual(m.tried, [['a', { backend: 'native', intraOpThreads: 1 }]]);
  });

  it('with no configuration before, any runtime setting is new', async () => {
    assert.equal((await modelsNotLoadedWith(local, rec({ 'runtime.graphOptimization': 'basic' }), undefined, models(['a'], [])))?.code, 'MODEL_LOAD_FAILED');
  });

  it('does not blame the settings for models that do not load with the ones before either: their own failure, said', async () => {
    const warned: string[] = [];
    const m = models(['a', 'mlp'], [], { a: new AppError('MODEL_LOAD_FAILED', 'refused'), mlp: broken });
    assert.equal(await modelsNotLoadedWith(local, rec({ 'runtime.backend': 'wasm' }), before, m, { warn: (msg) => warned.push(msg) }), undefined);
    assert.deepEqual(warned, ['not blamed on runtime.backend, runtime.intraOpThreads: a does not load with the runtime settings before either (MODEL_LOAD_FAILED: refused); '
      + `mlp does not load with the runtime settings before either (HASH_MISMATCH: ${broken.message})`]);
    assert.deepEqual(m.tried.map(([n]) => n), ['a', 'mlp'], 'each tried once');
  });

  it('blames only the models the new settings broke when another fails both ways', async () => {
    const e = await modelsNotLoadedWith(local, rec({ 'runtime.backend': 'wasm' }), before, models(['mlp', 'a'], [], { mlp: broken }));
    assert.deepEqual(e?.details, { models: ['a'], settings: ['runtime.backend', 'runtime.intraOpThreads'] });
    assert.match(e?.message ?? '', /^1 of 2 active models did not load .*: model a@1\.0\.0 does not load in onnxruntime \(wasm\): refused; a loads with the runtime settings before; mlp does not load with the runtime settings before either \(HASH_MISMATCH/);
  });

  it('a trial that does not end in time blames the settings, as before the trial, and tries nothing more', async () => {
    const m = models(['a', 'b'], [], { a: 'never' });
    const e = await modelsNotLoadedWith(local, rec({ 'runtime.backend': 'wasm' }), before, m, { ms: 50 });
    assert.match(e?.message ?? '', /; a, b not tried with the runtime settings before within 0\.05 s$/);
    assert.deepEqual(m.tried.map(([n]) => n), ['a']);
  });

  it('blames nothing on settings that leave runtime.* as it was, on settings already run with, or when every model loaded', async () => {
    const none = models(['a'], []);
    assert.equal(await modelsNotLoadedWith(local, rec({ 'runtime.intraOpThreads': 1, 'summaries.windowSec': 30 }), before, none), undefined);
    // The value the local config has already: nothing changed for the models.
    assert.equal(await modelsNotLoadedWith(local, rec({ 'runtime.intraOpThreads': 1, 'runtime.backend': 'native' }), before, none), undefined);
    assert.equal(await modelsNotLoadedWith(local, rec({ 'runtime.backend': 'wasm' }, true), before, none), undefined);
    assert.equal(await modelsNotLoadedWith(local, rec({ 'runtime.backend': 'wasm' }), before, models(['a', 'b'], ['a', 'b'])), undefined);
    assert.equal(await modelsNotLoadedWith(local, rec({ 'runtime.backend': 'wasm' }), before, models([], [])), undefined);
    assert.deepEqual(none.tried, [], 'no trial load when nothing is blamed');
  });
});
