// Samples, warm-up and preflight on the agent (docs/agent.md): a model that only
// runs at 8000/16000 Hz (built in code) is refused without samples, installs with
// a sample (warm-up and restarts use it), records its sample latency, and a
// bundle whose expected output is wrong is refused with MODEL_PREFLIGHT_FAILED
// naming output, index, value and expectation — in-process and through the
// USB path `edgefleet-agent install`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SAMPLE_RATE_ENERGY, buildSampleRateModel, bundleFromOnnx, energyResponse, rejectsWith, runCli, sampleRateRequest } from '@edgefleet/examples';
import type { Agent } from '../agent.js';
import { makeKit, req, startAgent, type Kit } from '../testing.js';

const CLI = 'agent/src/cli/main.ts';
const model = buildSampleRateModel();
const json = (x: unknown) => JSON.stringify(x);

/** A signed bundle of the sample-rate model; `expected` adds an expected response with that energy. */
function speechBundle(kit: Kit, version: string, o: { sample?: boolean; expected?: number } = {}) {
  const withSample = o.sample ?? true;
  return bundleFromOnnx({
    dir: join(kit.dir, 'bundles'), onnx: model.onnx, name: 'speech', version, io: model.io, keys: kit.keys,
    ...(withSample ? {
      files: [
        { path: 'samples/a.request.json', bytes: json(sampleRateRequest(16000)) },
        ...(o.expected !== undefined ? [{ path: 'samples/a.response.json', bytes: json(energyResponse(o.expected)) }] : []),
      ],
      samples: [{ request: 'samples/a.request.json', ...(o.expected !== undefined ? { expected: 'samples/a.response.json' } : {}) }],
    } : {}),
  });
}

describe('samples, warm-up and preflight', () => {
  let kit: Kit;
  let agent: Agent | undefined;
  const dataDir = () => join(kit.dir, 'data');

  before(() => {
    kit = makeKit('ef-preflight-');
  });
  after(async () => {
    await agent?.stop();
    kit.cleanup();
  });

  it('refuses a model that cannot run on synthetic input when the bundle has no sample, and says to add one', async () => {
    agent = await startAgent(dataDir());
    agent.trust.put(kit.trust.doc, 1);
    const bare = await speechBundle(kit, '0.9.0', { sample: false });
    await assert.rejects(agent.manager.install(bare.path), rejectsWith('MODEL_LOAD_FAILED', /synthetic inputs/, /--sample request\.json/));
    assert.deepEqual(agent.models.listVersions('speech'), []);
  });

  it('installs with a sample and expected output, serves, and records the sample latency', async () => {
    const good = await speechBundle(kit, '1.0.0', { expected: SAMPLE_RATE_ENERGY });
    const r = await agent!.manager.install(good.path);
    assert.equal(r.activated, true);
    assert.equal(r.preflight?.samples, 1);
    assert.equal(r.preflight?.runs, 5);
    assert.ok(r.preflight!.p95Ms >= r.preflight!.p50Ms && r.preflight!.p50Ms > 0, json(r.preflight));
    const pf = agent!.models.preflightOf('speech', '1.0.0');
    assert.deepEqual({ ...pf, at: undefined }, { ...r.preflight, at: undefined });
    const served = await req(agent!.url, 'POST', '/v2/models/speech/infer', sampleRateRequest(8000));
    assert.equal(served.status, 200, served.text);
    assert.equal(served.json.outputs[0].data[0], SAMPLE_RATE_ENERGY);
  });

  it('refuses a bundle whose expected output is wrong, naming output, index, value and expectation; keeps serving', async () => {
    const wrong = await speechBundle(kit, '2.0.0', { expected: 0.5 });
    await assert.rejects(agent!.manager.install(wrong.path),
      rejectsWith('MODEL_PREFLIGHT_FAILED', /speech@2\.0\.0/, /sample samples\/a\.request\.json/, /output "energy" index 0 is 0\.375, expected 0\.5/));
    assert.deepEqual(agent!.models.listVersions('speech').map((v) => v.version), ['1.0.0']);
    assert.equal(agent!.models.preflightOf('speech', '2.0.0'), undefined);
    const failed = agent!.events.list({ limit: 10 }).find((e) => e.kind === 'install_failed' && e.version === '2.0.0');
    assert.equal(failed?.code, 'MODEL_PREFLIGHT_FAILED');
    assert.equal(agent!.runtime.active('speech')?.version, '1.0.0');
  });

  it('warms up on the sample again at restart (zeros would fail)', async () => {
    await agent!.stop();
    agent = await startAgent(dataDir());
    assert.equal(agent.runtime.active('speech')?.version, '1.0.0');
    const served = await req(agent.url, 'POST', '/v2/models/speech/infer', sampleRateRequest(16000));
    assert.equal(served.status, 200, served.text);
  });

  it('runs preflight on the USB path (edgefleet-agent install) and refuses a wrong expectation', async () => {
    const d = ['--data-dir', join(kit.dir, 'usb')];
    assert.equal((await runCli(CLI, ['trust', 'set', kit.trust.path, ...d])).code, 0);
    const good = await speechBundle(kit, '3.0.0', { expected: SAMPLE_RATE_ENERGY });
    const ok = await runCli(CLI, ['install', good.path, ...d]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /preflight: 1 sample\(s\) passed on the (native|wasm) backend; latency p50 [\d.]+ ms, p95 [\d.]+ ms over 5 runs/);
    const wrong = await speechBundle(kit, '4.0.0', { expected: 1.5 });
    const bad = await runCli(CLI, ['install', wrong.path, ...d]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /MODEL_PREFLIGHT_FAILED\]?: .*output "energy" index 0 is 0\.375, expected 1\.5/);
  });
});
