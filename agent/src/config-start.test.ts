// modelsNotLoadedWith (config-start.ts): which starts with new remote settings are failed because an active
// model did not load. The whole path, with a real hub, agent process and ONNX model, is
// test/src/scenarios/config-model-load.test.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { settingsHash, type AppError } from '@edgefleet/shared/core';
import { modelsNotLoadedWith, type StartedModels } from './config-start.js';
import type { StoredRemoteConfig } from './config-remote.js';

const rec = (settings: Record<string, unknown>, confirmed = false): StoredRemoteConfig =>
  ({ sha256: settingsHash(settings), sources: [{ scope: 'fleet', version: 1 }], settings, at: '2026-03-01T12:00:00.000Z', confirmed });

function models(active: string[], served: string[]): StartedModels {
  return {
    active: () => active,
    served: (n) => served.includes(n),
    lastError: (n) => (n === 'a' ? { code: 'MODEL_LOAD_FAILED', message: 'model a@1.0.0 does not load in onnxruntime (wasm): refused' } : undefined),
  };
}

describe('modelsNotLoadedWith', () => {
  const local = { dataDir: '/var/lib/edgefleet', runtime: { backend: 'native' } };
  const before = rec({ 'runtime.intraOpThreads': 1, 'summaries.windowSec': 10 }, true);

  it('fails new runtime settings with which an active model did not load, naming the models, the settings and why', () => {
    const e = modelsNotLoadedWith(local, rec({ 'runtime.backend': 'wasm', 'summaries.windowSec': 10 }), before, models(['a', 'b', 'c'], ['c'])) as AppError;
    assert.equal(e.code, 'MODEL_LOAD_FAILED');
    assert.equal(e.message, '2 of 3 active models did not load with runtime.backend, runtime.intraOpThreads changed: model a@1.0.0 does not load in onnxruntime (wasm): refused; b is not served');
    assert.deepEqual(e.details, { models: ['a', 'b'], settings: ['runtime.backend', 'runtime.intraOpThreads'] });
  });

  it('with no configuration before, any runtime setting is new', () => {
    assert.equal(modelsNotLoadedWith(local, rec({ 'runtime.graphOptimization': 'basic' }), undefined, models(['a'], []))?.code, 'MODEL_LOAD_FAILED');
  });

  it('blames nothing on settings that leave runtime.* as it was, on settings already run with, or when every model loaded', () => {
    assert.equal(modelsNotLoadedWith(local, rec({ 'runtime.intraOpThreads': 1, 'summaries.windowSec': 30 }), before, models(['a'], [])), undefined);
    // The value the local config has already: nothing changed for the models.
    assert.equal(modelsNotLoadedWith(local, rec({ 'runtime.intraOpThreads': 1, 'runtime.backend': 'native' }), before, models(['a'], [])), undefined);
    assert.equal(modelsNotLoadedWith(local, rec({ 'runtime.backend': 'wasm' }, true), before, models(['a'], [])), undefined);
    assert.equal(modelsNotLoadedWith(local, rec({ 'runtime.backend': 'wasm' }), before, models(['a', 'b'], ['a', 'b'])), undefined);
    assert.equal(modelsNotLoadedWith(local, rec({ 'runtime.backend': 'wasm' }), before, models([], [])), undefined);
  });
});
