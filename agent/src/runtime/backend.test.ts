// Both execution backends through one suite (testing/backend-suite.ts), `auto` choosing native and falling
// back to wasm, and the native path never loading onnxruntime-web (a child process whose module
// resolution refuses it, running a model on the default backend).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AppError } from '@edgefleet/shared/core';
import { openBackend, type Backend } from './backend.js';
import { backendSuite } from './testing/backend-suite.js';
import { spawn } from 'node:child_process';
import { repoRoot } from '@edgefleet/examples';

/** Runs ESM code in a child node (from source, at the repo root) whose module resolution refuses `refused`. */
function runNode(code: string, refused: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const hook = `export async function resolve(s, c, next) { if (${JSON.stringify(refused)}.includes(s)) throw new Error('refused to load ' + s); return next(s, c); }`;
  const registrar = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`;
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', '--import', `data:text/javascript,${encodeURIComponent(registrar)}`, '--input-type=module', '-e', code], { cwd: repoRoot(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

backendSuite('native');
backendSuite('wasm');

describe('runtime.backend auto', () => {
  const fake = (name: 'native' | 'wasm') => async (): Promise<Backend> => ({ name, version: '0.0.0', create: () => Promise.reject(new Error('unused')), tensor: () => ({ type: 'float32', dims: [], data: [] }) });
  const broken = () => Promise.reject(new Error('Cannot find module onnxruntime_binding.node'));
  it('is native when it loads', async () => {
    assert.equal((await openBackend('auto', { native: fake('native'), wasm: fake('wasm') })).name, 'native');
  });
  it('falls back to wasm when native does not load', async () => {
    assert.equal((await openBackend('auto', { native: broken, wasm: fake('wasm') })).name, 'wasm');
  });
  it('names both failures when neither loads; a chosen backend that does not load names itself', async () => {
    await assert.rejects(openBackend('auto', { native: broken, wasm: broken }), (e: AppError) => e.code === 'MODEL_LOAD_FAILED' && /no onnxruntime backend loads.*native.*wasm/.test(e.message));
    await assert.rejects(openBackend('native', { native: broken, wasm: fake('wasm') }), (e: AppError) => e.code === 'MODEL_LOAD_FAILED' && /the native onnxruntime backend does not load on this box: Cannot find module/.test(e.message));
  });
});

it('the native path never loads onnxruntime-web', { timeout: 60_000 }, async () => {
  const out = await runNode(`
    import { randomMlp } from '@edgefleet/examples';
    import { mkdtempSync, rmSync } from 'node:fs';
    import { tmpdir } from 'node:os';
    const { ModelRuntime } = await import('./agent/src/runtime/runtime.ts');
    const { modelFile, fp32 } = await import('./agent/src/runtime/testing/fixtures.ts');
    const m = randomMlp({ inputDim: 4, hidden: [8], outputDim: 3, seed: 1 });
    const dir = mkdtempSync(tmpdir() + '/ef-native-only-');
    const f = modelFile(dir, { name: 'mlp', version: '1.0.0', onnx: m.onnx, io: m.io });
    for (const backend of ['native', 'auto']) {
      const rt = new ModelRuntime({ overrides: { backend }, perModel: 1, queue: 1 });
      await rt.switchTo(f.manifest, f.path);
      const r = await rt.infer(rt.pin('mlp'), [fp32('input', [[1, 2, 3, 4]])]);
      console.log(backend, rt.backendInUse, r.outputs[0].shape.join('x'));
      await rt.stop();
    }
    rmSync(dir, { recursive: true, force: true });
  `, ['onnxruntime-web']);
  assert.equal(out.code, 0, out.stderr);
  assert.deepEqual(out.stdout.trim().split('\n'), ['native native 1x3', 'auto native 1x3']);
  // The guard works: the same child asking for wasm is refused.
  const wasm = await runNode(`
    const { openBackend } = await import('./agent/src/runtime/backend.ts');
    await openBackend('wasm');
  `, ['onnxruntime-web']);
  assert.notEqual(wasm.code, 0);
  assert.match(wasm.stderr, /refused to load onnxruntime-web/);
});
