// `edgefleet model pack --sample/--expect/--tolerance` through the real binary, on a
// model built in code that only runs at 8000/16000 Hz: without a sample pack fails
// with a message saying to add --sample; with one it packs, the samples are listed
// in the manifest and covered by the signatures (a tampered sample fails verify);
// a wrong --expect fails at pack with MODEL_PREFLIGHT_FAILED; flag misuse and the
// sample-count bound are refused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_SAMPLES, readBundle } from '@edgefleet/shared';
import { SAMPLE_RATE_ENERGY, buildSampleRateModel, energyResponse, runCli, sampleRateRequest } from '@edgefleet/examples';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('model-samples', () => {
  const CLI = 'hub/src/cli/main.ts';
  let dir = '';
  const p = (name: string) => join(dir, name);
  const cli = (...args: string[]) => runCli(CLI, args);
  const model = buildSampleRateModel();

  function ok(r: { code: number; stderr: string; stdout: string }, what: string): void {
    assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stderr}`);
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-cli-samples-'));
    for (const [role, name] of [['root', 'root'], ['release', 'rel1'], ['hub', 'hub']]) {
      ok(await cli('keys', 'generate', '--role', role as string, '--out', p('keys'), '--name', name as string), `keys ${name}`);
    }
    ok(await cli('trust', 'init', '--root', p('keys/root.pub'), '--release', p('keys/rel1.pub'), '--hub', p('keys/hub.pub'), '--sign', p('keys/root.key'), '--out', p('trust.json')), 'trust init');
    writeFileSync(p('model.onnx'), model.onnx);
    writeFileSync(p('manifest.json'), JSON.stringify({
      schema: 'edgefleet.manifest/v1', name: 'speech', version: '1.0.0', runtime: { opset: 17, minAgentVersion: '0.1.0' }, io: model.io,
      provenance: { data: [], training: { code: 'train.py' }, metrics: {}, reason: 'first release' },
    }));
    writeFileSync(p('request.json'), JSON.stringify(sampleRateRequest(16000)));
    writeFileSync(p('response.json'), JSON.stringify(energyResponse(SAMPLE_RATE_ENERGY)));
    writeFileSync(p('wrong.json'), JSON.stringify(energyResponse(0.5)));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const pack = (out: string, ...extra: string[]) => cli('model', 'pack', '--manifest', p('manifest.json'), '--model', p('model.onnx'), '--out', p(out), ...extra);

  test('pack without a sample fails at the warm-up and says to add --sample', async () => {
    const r = await pack('bare.efb');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /error \[MODEL_LOAD_FAILED\]: .*synthetic inputs.*--sample request\.json/);
  });

  test('pack with a sample and expected response: listed in the manifest, covered by the signatures', async () => {
    const r = await pack('good.efb', '--sample', p('request.json'), '--expect', p('response.json'), '--tolerance', '1e-3');
    ok(r, 'pack');
    assert.match(r.stdout, /1 sample\(s\) ran/);
    const info = await readBundle(p('good.efb'));
    assert.deepEqual(info.manifest.samples, [{ request: 'samples/sample-1.request.json', expected: 'samples/sample-1.response.json', tolerance: 1e-3 }]);
    assert.deepEqual(info.files.map((f) => f.path).sort(), ['model.onnx', 'samples/sample-1.request.json', 'samples/sample-1.response.json']);
    const inspect = await cli('model', 'inspect', p('good.efb'));
    assert.match(inspect.stdout, /samples:[\s\S]*samples\/sample-1\.request\.json\s+samples\/sample-1\.response\.json\s+0\.001/);
    ok(await cli('model', 'sign', p('good.efb'), '--key', p('keys/rel1.key')), 'sign');
    ok(await cli('model', 'verify', p('good.efb'), '--trust', p('trust.json')), 'verify');
    // Tamper with the sample request (same length: 16000 Hz -> 16001 Hz): its sha256 no longer matches the signed manifest.
    const buf = readFileSync(p('good.efb'));
    const at = buf.indexOf('"data":[16000]');
    assert.ok(at > 0, 'sample request bytes are in the bundle');
    buf.write('"data":[16001]', at, 'latin1');
    writeFileSync(p('good.efb'), buf);
    const v = await cli('model', 'verify', p('good.efb'), '--trust', p('trust.json'));
    assert.notEqual(v.code, 0);
    assert.match(v.stderr, /error \[HASH_MISMATCH\]: .*samples\/sample-1\.request\.json/);
  });

  test('pack refuses a sample with a field OIP v2 does not define, as the agent\'s REST API would', async () => {
    writeFileSync(p('typo.json'), JSON.stringify({ ...sampleRateRequest(16000), output: [{ name: 'energy' }] }));
    const r = await pack('typo.efb', '--sample', p('typo.json'));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /error \[INVALID_INPUT\]: sample samples\/sample-1\.request\.json: request "output": unknown field; did you mean "outputs"\? \(expected one of id, parameters, inputs, outputs\)/);
  });

  test('pack with a wrong expected response fails with MODEL_PREFLIGHT_FAILED naming output, index, value and expectation', async () => {
    const r = await pack('wrong.efb', '--sample', p('request.json'), '--expect', p('wrong.json'));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /error \[MODEL_PREFLIGHT_FAILED\]: .*output "energy" index 0 is 0\.375, expected 0\.5 \(tolerance 0\.0001\)/);
  });

  test('pack refuses --expect without a matching --sample and more than MAX_SAMPLES samples', async () => {
    const r = await pack('x.efb', '--sample', p('request.json'), '--expect', p('response.json'), '--expect', p('response.json'));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /2 --expect for 1 --sample: expected none, or one per --sample/);
    const many = Array.from({ length: MAX_SAMPLES + 1 }, () => ['--sample', p('request.json')]).flat();
    const m = await pack('y.efb', ...many);
    assert.notEqual(m.code, 0);
    assert.match(m.stderr, new RegExp(`error \\[INVALID_INPUT\\]: ${MAX_SAMPLES + 1} samples given; expected at most ${MAX_SAMPLES}`));
    // The bound itself is accepted.
    ok(await pack('z.efb', ...many.slice(2)), `pack with ${MAX_SAMPLES} samples`);
  });
});
