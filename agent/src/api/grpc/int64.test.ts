// 64-bit integer outputs over gRPC typed contents are exact past 2^53: a model computing x * 2^20 + 1
// on INT64 answers odd values past 2^53 (which a number would round) with every digit, read by a client that decodes
// 64-bit ints as strings.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { bundleFromOnnx, GraphBuilder } from '@edgefleet/examples';
import { oipClient, type OipGrpcClient } from './client.js';
import { startGrpcAgent, type GrpcAgent } from './testing.js';

describe('gRPC typed INT64 outputs', () => {
  let g: GrpcAgent;
  let exact: OipGrpcClient;
  before(async () => {
    g = await startGrpcAgent(async (kit) => {
      const m = new GraphBuilder('scale');
      m.input('x', 'INT64', ['N']);
      const scaled = m.op('Mul', ['x', m.initializer('k', new BigInt64Array([1n << 20n]), [])]);
      m.op('Add', [scaled, m.initializer('one', new BigInt64Array([1n]), [])], {}, 'y');
      m.output('y', 'INT64', ['N']);
      const spec = (name: string) => ({ name, datatype: 'INT64' as const, shape: [-1] });
      return [await bundleFromOnnx({ dir: join(kit.dir, 'bundles'), onnx: m.build(), name: 'scale', version: '1.0.0', io: { inputs: [spec('x')], outputs: [spec('y')] }, keys: kit.keys })];
    });
    exact = oipClient(g.agent.grpcAddress!, {}, { longs: String });
  });
  after(async () => {
    exact.close();
    await g.close();
  });

  it('answers int64_contents past 2^53 with all their digits', async () => {
    const x = [2 ** 33 + 3, -(2 ** 40) - 1, 7];
    const r = await exact.call('ModelInfer', { model_name: 'scale', inputs: [{ name: 'x', datatype: 'INT64', shape: [3], contents: { int64_contents: x } }] });
    assert.deepEqual(r.outputs[0].contents.int64_contents, x.map((v) => ((BigInt(v) << 20n) + 1n).toString()));
  });
});
