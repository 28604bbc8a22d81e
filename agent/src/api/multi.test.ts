// A non-tabular model through the local API: the multi-input audio model (audio FP32 [1,-1] plus a
// scalar INT64 sample_rate -> energy FP32 [1,1], sr_out INT64 []). Metadata, inference with exact
// expected values, errors naming the input, and its summary windows (per-input moments and the
// output's reference bins) written on stop.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { buildMultiBundle } from '@edgefleet/examples';
import { type Agent } from '../agent.js';
import { openStore } from '../store/agent-store.js';
import { makeKit, req, startAgent, type Kit } from '../testing.js';

const M = 'audio-energy';
const body = (audio: unknown, sr: unknown, o: { audioShape?: number[]; srShape?: number[]; srType?: string } = {}) => ({
  inputs: [
    { name: 'audio', datatype: 'FP32', shape: o.audioShape ?? [1, (audio as number[]).length], data: audio },
    { name: 'sample_rate', datatype: o.srType ?? 'INT64', shape: o.srShape ?? [], data: sr },
  ],
});

describe('local API: multi-input model with an INT64 scalar', () => {
  let kit: Kit;
  let agent: Agent;
  let data: string;
  before(async () => {
    kit = makeKit();
    const b = await buildMultiBundle({ dir: join(kit.dir, 'bundles'), keys: kit.keys });
    data = join(kit.dir, 'data');
    agent = await startAgent(data, { summaries: { windowSec: 3600, budgetBytes: 1 << 24 } });
    agent.trust.put(kit.trust.doc, 1);
    await agent.manager.install(b.path);
  });
  after(async () => {
    await agent.stop();
    kit.cleanup();
  });

  it('describes both inputs, the scalar with shape []', async () => {
    const m = await req(agent.url, 'GET', `/v2/models/${M}`);
    assert.equal(m.status, 200, m.text);
    assert.deepEqual(m.json.inputs, [
      { name: 'audio', datatype: 'FP32', shape: [1, -1] },
      { name: 'sample_rate', datatype: 'INT64', shape: [] },
    ]);
    assert.deepEqual(m.json.outputs.map((o: { name: string }) => o.name), ['energy', 'sr_out']);
  });

  it('infers: energy is the mean square, the sample rate passes through', async () => {
    const r = await req(agent.url, 'POST', `/v2/models/${M}/infer`, body([0.5, -0.5, 1, -1], [16000]));
    assert.equal(r.status, 200, r.text);
    const out = Object.fromEntries((r.json.outputs as Array<{ name: string; data: number[]; shape: number[]; datatype: string }>).map((o) => [o.name, o]));
    assert.equal(out.energy!.datatype, 'FP32');
    assert.deepEqual(out.energy!.shape, [1, 1]);
    assert.ok(Math.abs(out.energy!.data[0]! - 0.625) < 1e-6, `energy ${out.energy!.data[0]}`);
    assert.equal(out.sr_out!.datatype, 'INT64');
    assert.deepEqual(out.sr_out!.shape, []);
    assert.deepEqual(out.sr_out!.data, [16000]);
    // A longer clip (free dimension) and a scalar given unwrapped.
    const long = await req(agent.url, 'POST', `/v2/models/${M}/infer`, body(Array.from({ length: 256 }, () => 0.1), 8000));
    assert.equal(long.status, 200, long.text);
    assert.deepEqual(long.json.outputs.find((o: { name: string }) => o.name === 'sr_out').data, [8000]);
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['scalar with a shape', body([0.1, 0.2], [16000], { srShape: [1] }), /sample_rate/],
    ['scalar of the wrong datatype', body([0.1, 0.2], [16000], { srType: 'FP32' }), /sample_rate.*INT64/],
    ['fractional INT64', body([0.1, 0.2], [16000.5]), /sample_rate/],
    ['audio with batch 2', body([0.1, 0.2, 0.3, 0.4], [16000], { audioShape: [2, 2] }), /audio/],
    ['missing scalar', { inputs: [body([0.1], [1]).inputs[0]] }, /missing input "sample_rate"/],
  ];
  for (const [what, b, re] of bad) {
    it(`refuses ${what} with a 400 naming the input`, async () => {
      const r = await req(agent.url, 'POST', `/v2/models/${M}/infer`, b);
      assert.equal(r.status, 400, r.text);
      assert.match(r.json.error, re);
    });
  }

  it('refuses a field OIP v2 does not define (at the top, in an input, in an output) with a 400 naming it and the one meant, not ignoring it', async () => {
    const ok = { ...body([0.5], [1]), id: 'a', parameters: {} };
    const all = await req(agent.url, 'POST', `/v2/models/${M}/infer`, { ...ok, outputs: [{ name: 'energy', parameters: {} }] });
    assert.deepEqual([all.status, all.json.outputs?.map((o: { name: string }) => o.name)], [200, ['energy']], all.text);
    // "output" for "outputs" used to be dropped, and both outputs answered.
    const typo = await req(agent.url, 'POST', `/v2/models/${M}/infer`, { ...ok, output: [{ name: 'energy' }] });
    assert.deepEqual([typo.status, typo.json], [400, { code: 'INVALID_INPUT', error: 'request "output": unknown field; did you mean "outputs"? (expected one of id, parameters, inputs, outputs)' }]);
    const inner = { inputs: [{ ...body([0.5], [1]).inputs[0], shpae: [1, 1] }, body([0.5], [1]).inputs[1]], outputs: [{ name: 'energy', parameter: {} }] };
    const r = await req(agent.url, 'POST', `/v2/models/${M}/infer`, inner);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error, 'inputs[0] "shpae": unknown field; did you mean "shape"? (expected one of name, shape, datatype, parameters, data); '
      + 'outputs[0] "parameter": unknown field; did you mean "parameters"? (expected one of name, parameters)');
    const many = await req(agent.url, 'POST', `/v2/models/${M}/infer`, { ...ok, a: 1, b: 2, c: 3, d: 4, e: 5 });
    assert.match(many.json.error, /^request "a": unknown field \(expected one of id, parameters, inputs, outputs\); request "b": .*; request "c": [^;]* \(and 2 more unknown fields\)$/);
  });

  it('summarises per-input moments and the output reference bins (written on stop)', async () => {
    await agent.stop();
    const s = openStore(data);
    try {
      const ws = s.summaries.listWindows({ model: M });
      const count = ws.reduce((n, w) => n + w.window.count, 0);
      assert.equal(count, 3, 'three successful predictions (two above, one with every OIP field)');
      const w = ws[ws.length - 1]!.window;
      const inputs = Object.fromEntries((w.inputs ?? []).map((i) => [i.name, i.moments.n]));
      assert.deepEqual(inputs, { audio: 4 + 256 + 1, sample_rate: 3 });
      const energy = w.outputs.find((o) => o.name === 'energy');
      assert.ok(energy?.hist, 'energy has reference bins');
      const binned = energy.hist.counts.reduce((a, b) => a + b, 0) + energy.hist.under + energy.hist.over;
      assert.equal(binned, 3);
    } finally {
      s.db.close();
    }
  });
});
