// Pure parts of samples, warm-up and preflight: output comparison (tolerance,
// shape, datatype, missing outputs, strings, booleans), latency percentiles on a
// fake clock over a RunModel written here (pure logic; the real ORT path is
// tested in the agent and hub CLI), sample parsing errors and manifest limits.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../errors.js';
import { parseWire } from '../wire/common.js';
import { MAX_SAMPLES, Manifest } from '../wire/manifest.js';
import { exampleManifest } from '../bundle/testutil.js';
import { compareOutputs, preflight, warmUp } from './preflight.js';
import { parseSample, type LoadedSample } from './samples.js';
import type { OipTensor, RunModel } from './tensor.js';

const sha = 'a'.repeat(64);
const manifest = parseWire(Manifest, { ...exampleManifest(), files: [{ path: 'model.onnx', sha256: sha, size: 1 }] }, 'manifest');
const p = (data: number[], shape = [1, data.length]): OipTensor => ({ name: 'p', datatype: 'FP32', shape, data: Float32Array.from(data) });

describe('compareOutputs', () => {
  it('accepts values within tolerance * max(1, |expected|) and names the first value outside it', () => {
    assert.equal(compareOutputs([p([0.5, 1000])], [{ name: 'p', data: [[0.50009, 1000.09]] }], 1e-4), undefined);
    assert.equal(compareOutputs([p([0.5, 1000])], [{ name: 'p', data: [0.5, 1000.2] }], 1e-4), 'output "p" index 1 is 1000, expected 1000.2 (tolerance 0.0001)');
    assert.equal(compareOutputs([p([0.5])], [{ name: 'p', data: [0.6] }], 0.2), undefined);
  });
  it('names missing outputs, datatype, shape and length differences', () => {
    assert.match(compareOutputs([p([1])], [{ name: 'q', data: [1] }], 0)!, /output "q" is missing: the model returned "p"/);
    assert.match(compareOutputs([p([1])], [{ name: 'p', datatype: 'INT64', data: [1] }], 0)!, /datatype FP32, expected INT64/);
    assert.match(compareOutputs([p([1, 2])], [{ name: 'p', shape: [2, 1], data: [1, 2] }], 0)!, /shape \[1, 2\], expected \[2, 1\]/);
    assert.match(compareOutputs([p([1, 2])], [{ name: 'p', data: [1] }], 0)!, /has 2 values, expected 1/);
  });
  it('compares strings exactly and booleans as 0/1', () => {
    const s: OipTensor = { name: 'label', datatype: 'BYTES', shape: [1], data: ['cat'] };
    assert.equal(compareOutputs([s], [{ name: 'label', data: ['cat'] }], 0), undefined);
    assert.match(compareOutputs([s], [{ name: 'label', data: ['dog'] }], 0)!, /index 0 is "cat", expected "dog"/);
    const b: OipTensor = { name: 'ok', datatype: 'BOOL', shape: [2], data: Uint8Array.from([1, 0]) };
    assert.equal(compareOutputs([b], [{ name: 'ok', data: [true, false] }], 0), undefined);
    assert.match(compareOutputs([b], [{ name: 'ok', data: [true, true] }], 0)!, /index 1 is 0, expected 1/);
  });
});

describe('warmUp and preflight', () => {
  const sample: LoadedSample = { name: 'samples/a.json', inputs: [p([1, 2, 3, 4])], expected: [{ name: 'p', data: [[0.25]] }], tolerance: 1e-4 };
  it('measures p50/p95 over every run on the given clock and checks the expectation', async () => {
    let t = 0;
    let call = 0;
    const run: RunModel = () => {
      t += [1, 2, 3, 4, 10][call++ % 5]!;
      return Promise.resolve([p([0.25], [1, 1])]);
    };
    const r = await preflight(run, manifest, [sample], { runs: 5, now: () => t });
    assert.deepEqual(r, { samples: 1, runs: 5, p50Ms: 3, p95Ms: 10 });
    assert.equal(await preflight(run, manifest, []), undefined);
  });
  it('refuses with MODEL_PREFLIGHT_FAILED on a difference or a failed run', async () => {
    const wrong: RunModel = () => Promise.resolve([p([0.5], [1, 1])]);
    await assert.rejects(preflight(wrong, manifest, [sample]), (e: unknown) => e instanceof AppError && e.code === 'MODEL_PREFLIGHT_FAILED'
      && /vib@1\.0\.0: sample samples\/a\.json: output "p" index 0 is 0\.5, expected 0\.25/.test(e.message));
    const broken: RunModel = () => Promise.reject(new Error('Reshape\nfailed'));
    await assert.rejects(preflight(broken, manifest, [sample]), (e: unknown) => e instanceof AppError && e.code === 'MODEL_PREFLIGHT_FAILED'
      && /sample samples\/a\.json failed to run: Reshape failed$/.test(e.message));
  });
  it('warm-up on synthetic input says to add --sample; on samples it names the sample', async () => {
    const broken: RunModel = () => Promise.reject(new Error('bad rate'));
    await assert.rejects(warmUp(broken, manifest, []), (e: unknown) => e instanceof AppError && e.code === 'MODEL_LOAD_FAILED' && /synthetic inputs.*bad rate.*--sample request\.json/.test(e.message));
    await assert.rejects(warmUp(broken, manifest, [sample]), /failed its warm-up run on sample samples\/a\.json: bad rate/);
    const seen: OipTensor[][] = [];
    await warmUp((inputs) => { seen.push([...inputs]); return Promise.resolve([]); }, manifest, []);
    assert.deepEqual(seen[0]!.map((t) => [t.name, [...t.shape]]), [['x', [1, 4]]]);
  });
});

describe('samples in the manifest and their bodies', () => {
  it('parses a request like the server and refuses bad ones naming the sample', () => {
    const ok = parseSample(manifest, { request: 'r.json' }, Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] })));
    assert.deepEqual([...(ok.inputs[0]!.data as Float32Array)], [1, 2, 3, 4]);
    assert.equal(ok.tolerance, 1e-4);
    assert.throws(() => parseSample(manifest, { request: 'r.json' }, Buffer.from('{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 3], "data": [1, 2, 3]}]}')),
      /sample r\.json: input "x": shape \[1, 3\] does not match the model: expected \[-1, 4\]/);
    assert.throws(() => parseSample(manifest, { request: 'r.json' }, Buffer.from('nope')), { code: 'INVALID_INPUT', message: /^sample r\.json is not JSON/ });
    assert.throws(() => parseSample(manifest, { request: 'r.json', expected: 'e.json' }, Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] })), Buffer.from('{"outputs": [{"name": "zz", "data": [1]}]}')),
      /output "zz" is not in the manifest io: expected one of p/);
  });
  it('the manifest refuses sample paths outside files and more than MAX_SAMPLES samples', () => {
    const files = [{ path: 'model.onnx', sha256: sha, size: 1 }, { path: 's.json', sha256: sha, size: 10 }];
    assert.throws(() => parseWire(Manifest, { ...exampleManifest(), files, samples: [{ request: 'nope.json' }] }, 'manifest'), /samples\[0\]\.request: expected "nope\.json" to be one of files\[\]\.path/);
    const many = Array.from({ length: MAX_SAMPLES + 1 }, () => ({ request: 's.json' }));
    assert.throws(() => parseWire(Manifest, { ...exampleManifest(), files, samples: many }, 'manifest'), new RegExp(`at most ${MAX_SAMPLES} samples`));
    assert.equal(parseWire(Manifest, { ...exampleManifest(), files, samples: many.slice(1) }, 'manifest').samples?.length, MAX_SAMPLES);
  });
});
