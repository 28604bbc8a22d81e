// 64-bit integers over gRPC typed contents are exact over their whole range (docs/decisions/0068-grpc-exact-int64.md):
// int64_contents and uint64_contents at and past 2^53 reach the model with every digit and come back so,
// over TCP and the Unix socket, the same as raw_input_contents; a model computing x * 2^20 + 1 on INT64
// answers odd values past 2^53 (which a number would round); a shape past 2^53 - 1 is refused by name.
// The client decodes 64-bit ints as strings, which is how it reads them exactly.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { bundleFromOnnx, GraphBuilder } from '@edgefleet/examples';
import { oipClient, type OipGrpcClient } from './client.js';
import { refused, startGrpcAgent, type GrpcAgent } from './testing.js';

const I64 = ['9007199254740993', '-9223372036854775808', '9223372036854775807', '-9007199254740993', '0', '-1', '42'];
const U64 = ['18446744073709551615', '9007199254740993', '9223372036854775808', '0', '7'];
const raw = (Ints: typeof BigInt64Array | typeof BigUint64Array, xs: string[]) => Buffer.from(new Ints(xs.map(BigInt)).buffer);
const echoReq = (contents: boolean) => ({
  model_name: 'echo',
  inputs: [
    { name: 'i', datatype: 'INT64', shape: [I64.length], ...(contents ? { contents: { int64_contents: I64 } } : {}) },
    { name: 'u', datatype: 'UINT64', shape: [U64.length], ...(contents ? { contents: { uint64_contents: U64 } } : {}) },
  ],
  ...(contents ? {} : { raw_input_contents: [raw(BigInt64Array, I64), raw(BigUint64Array, U64)] }),
});

describe('gRPC typed INT64 and UINT64', () => {
  let g: GrpcAgent;
  let tcp: OipGrpcClient;
  let unix: OipGrpcClient;
  before(async () => {
    g = await startGrpcAgent(async (kit) => {
      const dir = join(kit.dir, 'bundles');
      const m = new GraphBuilder('scale');
      m.input('x', 'INT64', ['N']);
      const scaled = m.op('Mul', ['x', m.initializer('k', new BigInt64Array([1n << 20n]), [])]);
      m.op('Add', [scaled, m.initializer('one', new BigInt64Array([1n]), [])], {}, 'y');
      m.output('y', 'INT64', ['N']);
      const spec = (name: string, datatype: 'INT64' | 'UINT64' = 'INT64') => ({ name, datatype, shape: [-1] });
      const e = new GraphBuilder('echo');
      e.input('i', 'INT64', ['N']);
      e.input('u', 'UINT64', ['M']);
      e.op('Identity', ['i'], {}, 'i_out');
      e.op('Identity', ['u'], {}, 'u_out');
      e.output('i_out', 'INT64', ['N']);
      e.output('u_out', 'UINT64', ['M']);
      return [
        await bundleFromOnnx({ dir, onnx: m.build(), name: 'scale', version: '1.0.0', io: { inputs: [spec('x')], outputs: [spec('y')] }, keys: kit.keys }),
        await bundleFromOnnx({ dir, onnx: e.build(), name: 'echo', version: '1.0.0', io: { inputs: [spec('i'), spec('u', 'UINT64')], outputs: [spec('i_out'), spec('u_out', 'UINT64')] }, keys: kit.keys }),
      ];
    }, (kit) => ({ api: { grpc: { socket: join(kit.dir, 'grpc.sock') } } }));
    tcp = oipClient(g.agent.grpcAddress!, {}, { longs: String });
    unix = oipClient(`unix://${join(g.kit.dir, 'grpc.sock')}`, {}, { longs: String });
  });
  after(async () => {
    tcp.close();
    unix.close();
    await g.close();
  });

  for (const [over, client] of [['TCP', () => tcp], ['the Unix socket', () => unix]] as const) {
    it(`takes int64_contents and uint64_contents over their whole range and answers them exactly, over ${over}`, async () => {
      const r = await client().call('ModelInfer', echoReq(true));
      assert.deepEqual(r.outputs.map((o: { name: string; shape: string[]; contents: Record<string, string[]> }) => [o.name, o.shape, o.contents.int64_contents, o.contents.uint64_contents]), [
        ['i_out', [String(I64.length)], I64, []],
        ['u_out', [String(U64.length)], [], U64],
      ]);
      // The same values as raw bytes (exact before this change too) give the same bytes back.
      const rr = await client().call('ModelInfer', echoReq(false));
      assert.deepEqual(rr.raw_output_contents.map((b: Uint8Array) => Buffer.from(b)), [raw(BigInt64Array, I64), raw(BigUint64Array, U64)]);
    });
  }

  it('computes on int64_contents past 2^53 and answers with all their digits', async () => {
    const x = ['8589934595', '-1099511627777', '7', '8796093022207'];
    const r = await tcp.call('ModelInfer', { model_name: 'scale', inputs: [{ name: 'x', datatype: 'INT64', shape: [4], contents: { int64_contents: x } }] });
    assert.deepEqual(r.outputs[0].contents.int64_contents, x.map((v) => ((BigInt(v) << 20n) + 1n).toString()));
  });

  it('refuses a shape dimension past 2^53 - 1, naming the input and the value', async () => {
    const err = await refused(tcp.call('ModelInfer', { model_name: 'scale', inputs: [{ name: 'x', datatype: 'INT64', shape: ['9007199254740993'], contents: { int64_contents: [1] } }] }));
    assert.equal(err.code, status.INVALID_ARGUMENT);
    assert.equal(err.details, 'input "x": shape[0] is 9007199254740993, past 2^53 - 1: expected a non-negative integer dimension as the model\'s shape allows (ModelMetadata)');
    assert.equal(err.metadata.get('error-code')[0], 'INVALID_INPUT');
  });
});
