// FP16 tensors through the local API, with real onnxruntime sessions: JSON values in and out (not
// the half bit patterns), an FP16 value that overflows refused naming it, raw bytes over REST binary
// data and gRPC, and a typed gRPC request whose outputs include FP16 answered raw (the protocol has
// no FP16 contents field) instead of with empty contents.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { bundleFromOnnx, GraphBuilder, onnxElemType } from '@edgefleet/examples';
import { req, type Kit } from '../testing.js';
import { f32Bytes } from './grpc/client.js';
import { refused, startGrpcAgent, type GrpcAgent } from './grpc/testing.js';

/** "half": h FP16 [-1, 2] -> h2 = h + h (FP16). "tohalf": x FP32 [-1, 2] -> xh = x as FP16, x2 = x + x (FP32). */
function halfBundles(kit: Kit) {
  const dir = join(kit.dir, 'bundles');
  const a = new GraphBuilder('half');
  a.input('h', 'FP16', ['N', 2]);
  a.op('Add', ['h', 'h'], {}, 'h2');
  a.output('h2', 'FP16', ['N', 2]);
  const b = new GraphBuilder('tohalf');
  b.input('x', 'FP32', ['N', 2]);
  b.op('Cast', ['x'], { to: onnxElemType('FP16') }, 'xh');
  b.op('Add', ['x', 'x'], {}, 'x2');
  b.output('xh', 'FP16', ['N', 2]);
  b.output('x2', 'FP32', ['N', 2]);
  const spec = (name: string, datatype: 'FP16' | 'FP32') => ({ name, datatype, shape: [-1, 2] });
  return Promise.all([
    bundleFromOnnx({ dir, onnx: a.build(), name: 'half', version: '1.0.0', io: { inputs: [spec('h', 'FP16')], outputs: [spec('h2', 'FP16')] }, keys: kit.keys }),
    bundleFromOnnx({ dir, onnx: b.build(), name: 'tohalf', version: '1.0.0', io: { inputs: [spec('x', 'FP32')], outputs: [spec('xh', 'FP16'), spec('x2', 'FP32')] }, keys: kit.keys }),
  ]);
}

const u16 = (bits: number[]) => Buffer.from(new Uint16Array(bits).buffer);
const bitsOf = (b: Buffer) => Array.from({ length: b.length / 2 }, (_, i) => b.readUInt16LE(2 * i));

describe('local API: FP16 tensors', () => {
  let g: GrpcAgent;
  before(async () => {
    g = await startGrpcAgent(halfBundles);
  });
  after(() => g.close());

  it('REST JSON: FP16 values in and out as numbers; 0.1 is the nearest half, 65504 + 65504 is infinity (null)', async () => {
    const r = await req(g.agent.url, 'POST', '/v2/models/half/infer', { inputs: [{ name: 'h', datatype: 'FP16', shape: [2, 2], data: [1.5, 0.1, -2, 65504] }] });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.outputs, [{ name: 'h2', datatype: 'FP16', shape: [2, 2], data: [3, 0.199951171875, -4, null] }]);
    const cast = await req(g.agent.url, 'POST', '/v2/models/tohalf/infer', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1 / 3, 6e-5] }] });
    assert.equal(cast.status, 200, cast.text);
    // 1/3 -> 0x3555; 6e-5 is subnormal in FP16: 1007 * 2^-24.
    assert.deepEqual(cast.json.outputs[0].data, [0.333251953125, 1007 * 2 ** -24]);
  });

  it('REST JSON: an FP16 value past 65504 is a 400 naming it and the limit', async () => {
    const r = await req(g.agent.url, 'POST', '/v2/models/half/infer', { inputs: [{ name: 'h', datatype: 'FP16', shape: [1, 2], data: [1, 70000] }] });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, { error: 'input "h": data[1] = 70000 overflows FP16: expected a finite FP16 number (at most 65504 in magnitude)', code: 'INVALID_INPUT' });
  });

  it('REST binary data: 2 bytes per FP16 value in and out', async () => {
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'h', datatype: 'FP16', shape: [1, 2], parameters: { binary_data_size: 4 } }], parameters: { binary_data_output: true } }));
    const res = await fetch(`${g.agent.url}/v2/models/half/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
      body: Buffer.concat([header, u16([0x3e00, 0xb400])]), // 1.5, -0.25
    });
    assert.equal(res.status, 200);
    const body = Buffer.from(await res.arrayBuffer());
    const json = JSON.parse(body.subarray(0, Number(res.headers.get('inference-header-content-length'))).toString());
    assert.equal(json.outputs[0].parameters.binary_data_size, 4);
    assert.deepEqual(bitsOf(body.subarray(body.length - 4)), [0x4200, 0xb800]); // 3, -0.5
  });

  it('gRPC: FP16 in raw_input_contents works; in typed contents it is refused naming raw_input_contents', async () => {
    const raw = await g.client.call('ModelInfer', { model_name: 'half', inputs: [{ name: 'h', datatype: 'FP16', shape: [1, 2] }], raw_input_contents: [u16([0x3e00, 0xb400])] });
    assert.deepEqual(bitsOf(Buffer.from(raw.raw_output_contents[0])), [0x4200, 0xb800]);
    const err = await refused(g.client.call('ModelInfer', { model_name: 'half', inputs: [{ name: 'h', datatype: 'FP16', shape: [1, 2], contents: { fp32_contents: [1.5, -0.25] } }] }));
    assert.equal(err.code, status.INVALID_ARGUMENT);
    assert.match(err.details, /input "h": datatype FP16 has no contents field in OIP v2 gRPC: expected its values in raw_input_contents/);
  });

  it('gRPC: a typed request to a model with an FP16 output gets every output raw, with the values', async () => {
    const r = await g.client.call('ModelInfer', { model_name: 'tohalf', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], contents: { fp32_contents: [1.5, -2] } }] });
    assert.deepEqual(r.outputs.map((o: { name: string }) => o.name), ['xh', 'x2']);
    assert.equal(r.raw_output_contents.length, 2);
    assert.deepEqual(bitsOf(Buffer.from(r.raw_output_contents[0])), [0x3e00, 0xc000]);
    assert.deepEqual(Buffer.from(r.raw_output_contents[1]), f32Bytes([3, -4]));
  });
});
