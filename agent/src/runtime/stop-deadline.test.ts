// ModelRuntime.stop() ends within its deadlines (RUNTIME_STOP_MS) whatever the backend does: a session's
// release that is never answered (a wasm worker busy with another session's long run answers nothing until
// the run ends) and a backend close that never ends are named to `warn` and passed, and the backend is
// still closed, so the agent's and the batch command's next stop steps (the summary window, the store) run.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomMlp } from '@edgefleet/examples';
import { withDeadline } from '@edgefleet/shared/core';
import type { Backend, BackendLoaders, BackendSession } from './backend.js';
import { nativeBackend } from './native.js';
import { ModelRuntime, RUNTIME_STOP_MS } from './runtime.js';
import { STOP_MS } from '../agent.js';
import { modelFile, type ModelFile } from './testing/fixtures.js';

/** The native backend, with releases and the close that never settle when asked; `held`: the sessions whose release never answered. */
function stuck(o: { release: boolean; close: boolean }): { loaders: BackendLoaders; closes: () => number; releases: () => number; held: BackendSession[] } {
  let closes = 0;
  let releases = 0;
  const held: BackendSession[] = [];
  const never = () => new Promise<void>(() => undefined);
  const wrap = (s: BackendSession): BackendSession => ({
    inputNames: s.inputNames,
    outputNames: s.outputNames,
    ...(s.inputMetadata ? { inputMetadata: s.inputMetadata } : {}),
    ...(s.outputMetadata ? { outputMetadata: s.outputMetadata } : {}),
    run: (feeds, fetches) => s.run(feeds, fetches),
    release: () => {
      releases += 1;
      if (!o.release) return s.release();
      held.push(s);
      return never();
    },
  });
  const native = (): Promise<Backend> => {
    const real = nativeBackend();
    return Promise.resolve({
      ...real,
      create: async (model, settings, name) => wrap(await real.create(model, settings, name)),
      close: () => {
        closes += 1;
        return o.close ? never() : Promise.resolve();
      },
    });
  };
  return { loaders: { native, wasm: () => Promise.reject(new Error('unused')) }, closes: () => closes, releases: () => releases, held };
}

describe('runtime stop with a backend that stops answering', () => {
  let dir: string;
  let model: ModelFile;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ef-runtime-stop-'));
    const m = randomMlp({ inputDim: 4, hidden: [8], outputDim: 3, seed: 1 });
    model = modelFile(dir, { name: 'mlp', version: '1.0.0', onnx: m.onnx, io: m.io });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Stops a runtime serving the model on `backend`; what stop() warned of. Fails if stop() does not return. */
  async function stopWith(backend: ReturnType<typeof stuck>): Promise<string[]> {
    const rt = new ModelRuntime({ overrides: { backend: 'native' }, perModel: 1, queue: 1, backendLoaders: backend.loaders });
    await rt.switchTo(model.manifest, model.path);
    const warned: string[] = [];
    try {
      await withDeadline(rt.stop((err) => warned.push(err instanceof Error ? err.message : String(err))), 5_000, 'runtime.stop()');
    } finally {
      for (const s of backend.held) await s.release();
    }
    return warned;
  }

  it('its deadlines end inside the agent\'s step for it', () => {
    assert.ok(RUNTIME_STOP_MS.release + RUNTIME_STOP_MS.close < STOP_MS.runtime, `${JSON.stringify(RUNTIME_STOP_MS)} inside STOP_MS.runtime ${STOP_MS.runtime}`);
  });

  it('a release never answered is named and passed, and the backend is still closed', async () => {
    const backend = stuck({ release: true, close: false });
    const warned = await stopWith(backend);
    assert.equal(backend.releases(), 1, 'the session was asked to release');
    assert.deepEqual(warned, [`releasing the model sessions did not finish within ${RUNTIME_STOP_MS.release} ms`]);
    assert.equal(backend.closes(), 1, 'the backend was closed after the release was passed');
  });

  it('a backend close that never ends is named and passed', async () => {
    const backend = stuck({ release: false, close: true });
    const warned = await stopWith(backend);
    assert.deepEqual(warned, [`closing the onnxruntime backend did not finish within ${RUNTIME_STOP_MS.close} ms`]);
    assert.equal(backend.releases(), 1);
    assert.equal(backend.closes(), 1);
  });

  it('a backend that answers: nothing warned, sessions released and the backend closed once, stop idempotent', async () => {
    const backend = stuck({ release: false, close: false });
    const rt = new ModelRuntime({ overrides: { backend: 'native' }, perModel: 1, queue: 1, backendLoaders: backend.loaders });
    await rt.switchTo(model.manifest, model.path);
    const warned: unknown[] = [];
    await rt.stop((err) => warned.push(err));
    await rt.stop((err) => warned.push(err));
    assert.deepEqual(warned, []);
    assert.equal(backend.releases(), 1);
    assert.equal(backend.closes(), 1);
  });
});
