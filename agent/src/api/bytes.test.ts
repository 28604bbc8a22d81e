// BYTES tensors against a real agent (a string Identity model in onnxruntime):
// the model gets exactly the text the app sent on every path (JSON, REST binary
// data, gRPC bytes_contents and raw_input_contents), and an element that is not
// UTF-8 (or a JSON string with a lone surrogate) is refused with INVALID_INPUT
// naming the input and the element, the same on REST and gRPC, rather than
// handed to the model with U+FFFD in its place.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import { bundleFromOnnx, GraphBuilder } from '@edgefleet/examples';
import type { Agent } from '../agent.js';
import { req, type Kit } from '../testing.js';
import type { OipGrpcClient } from './grpc/client.js';
import { refused, startGrpcAgent, type GrpcAgent } from './grpc/testing.js';

/** BYTES elements as raw tensor data: a 4-byte little-endian length before each. */
function rawBytes(elements: Buffer[]): Buffer {
  return Buffer.concat(elements.flatMap((e) => {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(e.length);
    return [len, e];
  }));
}

async function binaryPost(base: string, header: unknown, binary: Buffer) {
  const h = Buffer.from(JSON.stringify(header));
  const res = await fetch(`${base}/v2/models/echo/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(h.length) },
    body: Buffer.concat([h, binary]),
  });
  return { status: res.status, json: await res.json() as { outputs?: Array<{ data: string[] }>; error?: string; code?: string } };
}

/** A string Identity model "echo": BYTES [-1] in, the same out. */
function echoBundle(kit: Kit) {
  const g = new GraphBuilder('echo');
  g.op('Identity', [g.input('text', 'BYTES', ['N'])], {}, 'echo');
  g.output('echo', 'BYTES', ['N']);
  return bundleFromOnnx({
    dir: join(kit.dir, 'bundles'), onnx: g.build(), name: 'echo', version: '1.0.0', keys: kit.keys,
    io: { inputs: [{ name: 'text', datatype: 'BYTES', shape: [-1] }], outputs: [{ name: 'echo', datatype: 'BYTES', shape: [-1] }] },
  });
}

describe('local API: BYTES tensors are UTF-8 text', () => {
  let g: GrpcAgent;
  let agent: Agent;
  let client: OipGrpcClient;
  before(async () => {
    g = await startGrpcAgent(async (kit) => [await echoBundle(kit)]);
    ({ agent, client } = g);
  });
  after(() => g.close());

  // A leading byte order mark is text too: it used to be dropped from raw data only.
  const text = ['é', '\ufeffbom', '😀 ok', ''];

  it('hands the model the text the app sent, on every path', async () => {
    const json = await req(agent.url, 'POST', '/v2/models/echo/infer', { inputs: [{ name: 'text', datatype: 'BYTES', shape: [4], data: text }] });
    assert.equal(json.status, 200, json.text);
    assert.deepEqual(json.json.outputs[0].data, text);
    const bin = await binaryPost(agent.url, { inputs: [{ name: 'text', datatype: 'BYTES', shape: [4], parameters: { binary_data_size: rawBytes(text.map((s) => Buffer.from(s))).length } }] }, rawBytes(text.map((s) => Buffer.from(s))));
    assert.equal(bin.status, 200, JSON.stringify(bin.json));
    assert.deepEqual(bin.json.outputs![0]!.data, text);
    const typed = await client.call('ModelInfer', { model_name: 'echo', inputs: [{ name: 'text', datatype: 'BYTES', shape: [4], contents: { bytes_contents: text.map((s) => Buffer.from(s)) } }] });
    assert.deepEqual(typed.outputs[0].contents.bytes_contents.map((b: Buffer) => b.toString('utf8')), text);
    const raw = await client.call('ModelInfer', { model_name: 'echo', inputs: [{ name: 'text', datatype: 'BYTES', shape: [4] }], raw_input_contents: [rawBytes(text.map((s) => Buffer.from(s)))] });
    assert.deepEqual(raw.raw_output_contents[0], rawBytes(text.map((s) => Buffer.from(s))));
  });

  it('refuses an element that is not UTF-8 with INVALID_INPUT naming the input and the element, the same on REST and gRPC', async () => {
    // 0xff never occurs in UTF-8; "\xc3(" is a cut two-byte sequence.
    const elements = [Buffer.from('ok'), Buffer.from([0x61, 0xff, 0x62]), Buffer.from([0xc3, 0x28])];
    const message = 'input "text": BYTES element 1 is not valid UTF-8: expected valid UTF-8 text';
    const bin = await binaryPost(agent.url, { inputs: [{ name: 'text', datatype: 'BYTES', shape: [3], parameters: { binary_data_size: rawBytes(elements).length } }] }, rawBytes(elements));
    assert.equal(bin.status, 400);
    assert.deepEqual(bin.json, { error: message, code: 'INVALID_INPUT' });
    const calls = [
      { model_name: 'echo', inputs: [{ name: 'text', datatype: 'BYTES', shape: [3], contents: { bytes_contents: elements } }] },
      { model_name: 'echo', inputs: [{ name: 'text', datatype: 'BYTES', shape: [3] }], raw_input_contents: [rawBytes(elements)] },
    ];
    for (const call of calls) {
      const err = await refused(client.call('ModelInfer', call));
      assert.equal(err.code, status.INVALID_ARGUMENT, err.details);
      assert.equal(err.details, message);
      assert.equal(err.metadata.get('error-code')[0], 'INVALID_INPUT');
    }
    const last = await binaryPost(agent.url, { inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: 6 } }] }, rawBytes([Buffer.from([0xc3, 0x28])]));
    assert.match(last.json.error!, /BYTES element 0 is not valid UTF-8/);
  });

  it('refuses a BYTES shape its raw bytes cannot hold (4 bytes per element at least) with INVALID_INPUT, the same on REST and gRPC', async () => {
    const bytes = rawBytes([Buffer.from('ok')]);
    const message = 'input "text": raw data has 6 bytes but shape [1099511627776] of BYTES needs at least 4398046511104 (1099511627776 elements, each a 4-byte little-endian length, then the bytes)';
    const bin = await binaryPost(agent.url, { inputs: [{ name: 'text', datatype: 'BYTES', shape: [2 ** 40], parameters: { binary_data_size: bytes.length } }] }, bytes);
    assert.deepEqual([bin.status, bin.json], [400, { error: message, code: 'INVALID_INPUT' }]);
    const err = await refused(client.call('ModelInfer', { model_name: 'echo', inputs: [{ name: 'text', datatype: 'BYTES', shape: [2 ** 40] }], raw_input_contents: [bytes] }));
    assert.deepEqual([err.code, err.details, err.metadata.get('error-code')[0]], [status.INVALID_ARGUMENT, message, 'INVALID_INPUT']);
  });

  it('refuses text with a NUL (onnxruntime would cut it there) on every path, naming the element', async () => {
    const nul = 'input "text": BYTES element 1 holds a NUL character, where onnxruntime would cut the text: expected text without NUL';
    const elements = [Buffer.from('ok'), Buffer.from('a\0b')];
    const bin = await binaryPost(agent.url, { inputs: [{ name: 'text', datatype: 'BYTES', shape: [2], parameters: { binary_data_size: rawBytes(elements).length } }] }, rawBytes(elements));
    assert.deepEqual([bin.status, bin.json], [400, { error: nul, code: 'INVALID_INPUT' }]);
    const err = await refused(client.call('ModelInfer', { model_name: 'echo', inputs: [{ name: 'text', datatype: 'BYTES', shape: [2], contents: { bytes_contents: elements } }] }));
    assert.deepEqual([err.code, err.details], [status.INVALID_ARGUMENT, nul]);
    const json = await req(agent.url, 'POST', '/v2/models/echo/infer', '{"inputs":[{"name":"text","datatype":"BYTES","shape":[2],"data":["ok","a\\u0000b"]}]}');
    assert.deepEqual([json.status, json.json.code, json.json.error], [400, 'INVALID_INPUT', 'input "text": data[1] holds a NUL character, where onnxruntime would cut the text: expected text without NUL']);
  });

  it('refuses a JSON string with a lone surrogate escape, and keeps a pair', async () => {
    const body = '{"inputs":[{"name":"text","datatype":"BYTES","shape":[2],"data":["\\ud83d\\ude00","a\\ud800"]}]}';
    const r = await req(agent.url, 'POST', '/v2/models/echo/infer', body);
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 'INVALID_INPUT');
    assert.match(r.json.error, /^input "text": data\[1\] has a lone UTF-16 surrogate .*expected valid UTF-8 text$/);
    const ok = await req(agent.url, 'POST', '/v2/models/echo/infer', '{"inputs":[{"name":"text","datatype":"BYTES","shape":[1],"data":["\\ud83d\\ude00"]}]}');
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.json.outputs[0].data, ['😀']);
  });

  it('refuses a JSON body, a binary header or a gRPC id that is not UTF-8, naming the byte, rather than handing the model U+FFFD', async () => {
    const post = async (body: Buffer, headers: Record<string, string> = {}) => {
      const res = await fetch(`${agent.url}/v2/models/echo/infer`, { method: 'POST', headers: { 'content-type': 'application/json; charset=latin1', ...headers }, body });
      return { status: res.status, json: await res.json() as { error?: string; code?: string; id?: string } };
    };
    // "café" as latin1: 0xE9 is not UTF-8 here; a U+FFFD the app sent (EF BF BD) before it is text and counted.
    const latin = (s: string) => Buffer.concat(s.split('\xe9').flatMap((part, i) => (i === 0 ? [Buffer.from(part)] : [Buffer.from([0xe9]), Buffer.from(part)])));
    const text = latin('{"inputs":[{"name":"text","datatype":"BYTES","shape":[1],"data":["\ufffd caf\xe9"]}]}');
    const at = text.indexOf(0xe9);
    const r = await post(text);
    assert.deepEqual([r.status, r.json], [400, { error: `request body is not valid UTF-8 (byte ${at} is 0xE9): expected JSON text in UTF-8 (convert latin1 or UTF-16 text before sending)`, code: 'BAD_REQUEST' }]);
    const id = await post(latin('{"id":"caf\xe9","inputs":[{"name":"text","datatype":"BYTES","shape":[1],"data":["ok"]}]}'));
    assert.equal(id.status, 400, JSON.stringify(id.json));
    const header = latin('{"id":"caf\xe9","inputs":[{"name":"text","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":6}}]}');
    const bin = await post(Buffer.concat([header, rawBytes([Buffer.from('ok')])]), { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) });
    assert.deepEqual([bin.status, bin.json.code], [400, 'BAD_REQUEST']);
    assert.match(bin.json.error!, /^request header is not valid UTF-8 \(byte 10 is 0xE9\)/);
    // gRPC: protobufjs decoded an id in latin1 as "caf\uFFFD" and it came back so; an id with a U+FFFD sent is kept.
    const service = (client.raw.constructor as unknown as { service: { ModelInfer: { requestSerialize(m: object): Buffer } } }).service.ModelInfer;
    const call = (id: string) => service.requestSerialize({ model_name: 'echo', id, inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [Buffer.from('ok')] } }] });
    const bytes = call('cafX');
    bytes[bytes.indexOf('cafX') + 3] = 0xe9;
    const send = (message: Buffer) => new Promise<{ err: ServiceError | null }>((resolve) => {
      client.raw.makeUnaryRequest('/inference.GRPCInferenceService/ModelInfer', (x: Buffer) => x, (x: Buffer) => x, message, (err) => resolve({ err }));
    });
    const { err } = await send(bytes);
    assert.deepEqual([err?.code, err?.details, err?.metadata.get('error-code')[0]],
      [status.INVALID_ARGUMENT, 'request id is not valid UTF-8 (byte 3 is 0xE9): expected UTF-8 text, as protobuf strings are (convert latin1 or UTF-16 text before sending)', 'BAD_REQUEST']);
    assert.equal((await send(call('\ufffd caf'))).err, null);
    // Binary data after a JSON body sent without Inference-Header-Content-Length is still told to send that header.
    const unframed = await post(Buffer.concat([Buffer.from('{"inputs":[{"name":"text","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":6}}]}'), Buffer.from([2, 0, 0, 0, 0xff, 0xfe])]));
    assert.match(unframed.json.error!, /Inference-Header-Content-Length/);
  });
});
