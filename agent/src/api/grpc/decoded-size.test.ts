// A ModelInfer message is bounded by what it takes decoded, not only by its bytes (./decoded-size.ts):
// protobufjs makes an object per element of a repeated field, so 10 MB of empty bytes_contents entries
// grew the agent by 1.2 GB. Such a message is refused RESOURCE_EXHAUSTED (PAYLOAD_TOO_LARGE) undecoded;
// a message of the same size in FP32 values, 2.6x its bytes decoded, is served.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { mlpBundle } from '../../testing.js';
import { decodedSize, DECODED_FACTOR } from './decoded-size.js';
import { inferenceService } from './server.js';
import { refused, startGrpcAgent, type GrpcAgent } from './testing.js';

const MAX = 1 << 20;
const serialize = inferenceService()['ModelInfer']!.requestSerialize;
const fp32 = (rows: number) => ({ model_name: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, 4], contents: { fp32_contents: Array.from({ length: rows * 4 }, (_, i) => i / 7) } }] });
const manyBytes = (n: number) => ({ model_name: 'mlp', inputs: [{ name: 'input', datatype: 'BYTES', shape: [n], contents: { bytes_contents: Array.from({ length: n }, () => Buffer.alloc(0)) } }] });

describe('gRPC ModelInfer: what a message takes decoded', () => {
  let g: GrpcAgent;
  before(async () => {
    g = await startGrpcAgent(async (kit) => [await mlpBundle(kit, '1.0.0')], { api: { maxBodyBytes: MAX } });
  });
  after(() => g.close());

  it('estimates each kind of element from the bytes', () => {
    const f = decodedSize(serialize(fp32(1000)));
    assert.deepEqual(f.counts, { buffer: 0, long: 2, number: 4000, object: 1 });
    const b = decodedSize(serialize(manyBytes(1000)));
    assert.deepEqual(b.counts, { buffer: 1000, long: 1, number: 0, object: 1 });
    const i = decodedSize(serialize({ model_name: 'm', inputs: [{ name: 'a', datatype: 'INT64', shape: [3], contents: { int64_contents: [1, 300, 70000] } }], raw_input_contents: [Buffer.alloc(4)] }));
    assert.deepEqual(i.counts, { buffer: 1, long: 4, number: 0, object: 1 });
  });

  it('refuses a message of many small elements before decoding it, naming them and what to send instead', async () => {
    const bytes = serialize(manyBytes(300_000));
    assert.ok(bytes.length < MAX, `${bytes.length} bytes, within api.maxBodyBytes`);
    const err = await refused(g.client.call('ModelInfer', manyBytes(300_000)));
    assert.equal(err.code, status.RESOURCE_EXHAUSTED);
    assert.deepEqual(err.metadata.get('error-code'), ['PAYLOAD_TOO_LARGE']);
    assert.match(err.details, new RegExp(`^gRPC message of ${bytes.length} bytes would take about \\d+\\.\\d MiB once decoded \\(300000 bytes entries, 1 int64/uint64 values or dims, 1 tensors or parameters: an object each\\): expected at most ${DECODED_FACTOR}\\.0 MiB \\(${DECODED_FACTOR} × api\\.maxBodyBytes, at least 1 MiB\\); send many small values as raw_input_contents`));
    // The agent serves on.
    assert.equal((await g.client.call('ModelInfer', fp32(1))).outputs.length, 1);
  });

  it('serves FP32 values up to api.maxBodyBytes', async () => {
    const rows = 60_000; // 960,000 bytes of floats
    assert.ok(serialize(fp32(rows)).length < MAX);
    const res = await g.client.call('ModelInfer', fp32(rows));
    assert.equal(res.outputs[0].contents.fp32_contents.length, rows * 3);
  });
});
