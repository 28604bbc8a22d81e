// A bundle whose manifest io disagrees with its model (made without `model pack`, which refuses it) is
// refused at install as MODEL_IO_MISMATCH naming the tensor, the expected and the actual, rather than
// failing its warm-up in onnxruntime's words; a free batch the model fixes at 1 still installs
// (bundles signed before pack refused it keep loading) and serves a row.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AppError, type TensorSpec } from '@edgefleet/shared';
import { bundleFromOnnx, GraphBuilder } from '@edgefleet/examples';
import type { Agent } from '../agent.js';
import { makeKit, req, startAgent, type Kit } from '../testing.js';

/** y = Relu(x), x FP32 [batch, 4] with the batch `batch` (a number fixes it). */
function relu(batch: string | number): Uint8Array {
  const g = new GraphBuilder('relu');
  g.input('x', 'FP32', [batch, 4]);
  g.op('Relu', ['x'], {}, 'y');
  g.output('y', 'FP32', [batch, 4]);
  return g.build();
}

describe('install: manifest io against the model', () => {
  let kit: Kit;
  let agent: Agent;
  const bundle = (name: string, onnx: Uint8Array, input: TensorSpec) => bundleFromOnnx({
    dir: join(kit.dir, 'bundles'), onnx, name, version: '1.0.0', keys: kit.keys,
    io: { inputs: [input], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 4] }] },
  });
  before(async () => {
    kit = makeKit('ef-io-');
    agent = await startAgent(join(kit.dir, 'data'));
    agent.trust.put(kit.trust.doc, 1);
  });
  after(async () => {
    await agent.stop();
    kit.cleanup();
  });

  const cases: Array<[string, TensorSpec, string]> = [
    ['a wrong datatype', { name: 'x', datatype: 'FP64', shape: [-1, 4] }, 'input "x": expected datatype FP64, the model has FP32'],
    ['a wrong fixed dimension', { name: 'x', datatype: 'FP32', shape: [-1, 5] }, 'input "x": dimension 1 expected 5, the model has 4'],
    ['a free dimension the model fixes at 4', { name: 'x', datatype: 'FP32', shape: [-1, -1] }, 'input "x": dimension 1 is free (-1) in the manifest but the model fixes it at 4: expected 4'],
  ];
  for (const [what, input, message] of cases) {
    it(`refuses ${what} naming it`, async () => {
      const b = await bundle(`bad-${cases.findIndex((c) => c[0] === what)}`, relu('N'), input);
      await assert.rejects(agent.manager.install(b.path), (e: unknown) => {
        assert.ok(e instanceof AppError, String(e));
        assert.equal(e.code, 'MODEL_IO_MISMATCH');
        assert.equal(e.message, `model ${b.manifest.name}@1.0.0 does not match the manifest io: ${message}`);
        return true;
      });
    });
  }

  it('installs a free batch the model fixes at 1 and serves one row', async () => {
    const b = await bundle('one', relu(1), { name: 'x', datatype: 'FP32', shape: [-1, 4] });
    await agent.manager.install(b.path);
    const r = await req(agent.url, 'POST', '/v2/models/one/infer', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [-1, 2, -3, 4] }] });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.outputs[0].data, [0, 2, 0, 4]);
  });
});
