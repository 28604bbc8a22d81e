// Compressed gRPC messages against an in-process agent (real grpc-js server, real onnxruntime session):
// real grpc-js clients compressing with gzip and deflate are served; a body with a Content-Encoding,
// an encoding the agent does not read, a message marked compressed under no grpc-encoding, a bad
// flag byte and bad compressed data are each refused with their status, message and error-code
// trailer; a compressed message and what it inflates to are held to api.maxBodyBytes together.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { deflateSync, gzipSync } from 'node:zlib';
import { status } from '@grpc/grpc-js';
import { mlpBundle } from '../../testing.js';
import { oipClient } from './client.js';
import { inferenceService } from './server.js';
import { startGrpcAgent, type GrpcAgent } from './testing.js';

const request = (id: string) => ({ model_name: 'mlp', id, inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } }] });
const serialize = inferenceService()['ModelInfer']!.requestSerialize as (m: object) => Buffer;

/** A gRPC message as framed on the wire: flag byte, 4-byte length, bytes. */
function frame(flag: number, bytes: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flag;
  head.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([head, bytes]);
}

interface Answer { code: number; details: string; errorCode?: string; accept?: string }

/** One ModelInfer call over a raw HTTP/2 stream (headers and body as given); `body` undefined leaves the stream open. */
async function rawCall(address: string, headers: http2.OutgoingHttpHeaders, body: Buffer | undefined): Promise<Answer> {
  const session = http2.connect(`http://${address}`);
  session.on('error', () => undefined);
  try {
    const stream = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ModelInfer', 'content-type': 'application/grpc', te: 'trailers', ...headers });
    stream.on('error', () => undefined);
    let head: http2.IncomingHttpHeaders = {};
    let tail: http2.IncomingHttpHeaders = {};
    stream.on('response', (h) => (head = h));
    stream.on('trailers', (t) => (tail = t));
    stream.resume();
    if (body) stream.end(body);
    // The server's side ending is the answer (a refusal from headers alone leaves our side open).
    await new Promise((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
    });
    stream.close();
    const all = { ...head, ...tail };
    const one = (k: string) => (all[k] === undefined ? undefined : String(all[k]));
    return { code: Number(one('grpc-status')), details: decodeURIComponent(one('grpc-message') ?? ''), errorCode: one('error-code'), accept: one('grpc-accept-encoding') };
  } finally {
    session.close();
  }
}

const message = serialize(request('r'));
const compressed = gzipSync(message);
// The agent's bound is exactly this message and its gzip bytes together.
const MAX = message.length + compressed.length;

describe('local API over gRPC: compressed messages', () => {
  let g: GrpcAgent;
  let address: string;
  before(async () => {
    g = await startGrpcAgent(async (kit) => [await mlpBundle(kit, '1.0.0')], { api: { maxBodyBytes: MAX, requestTimeoutMs: 2000 } });
    address = g.agent.grpcAddress!;
  });
  after(() => g.close());

  it('serves real grpc-js clients compressing with gzip and with deflate', async () => {
    const plain = await g.client.call('ModelInfer', request('p'));
    for (const algorithm of [1, 2]) { // grpc-js: 1 deflate, 2 gzip
      const client = oipClient(address, { 'grpc.default_compression_algorithm': algorithm });
      try {
        const res = await client.call('ModelInfer', request('p'));
        assert.deepEqual(res.outputs, plain.outputs, `algorithm ${algorithm}`);
      } finally {
        client.close();
      }
    }
    const deflated = await rawCall(address, { 'grpc-encoding': 'deflate' }, frame(1, deflateSync(message)));
    assert.equal(deflated.code, status.OK, deflated.details);
  });

  it('refuses an encoding it does not read with UNIMPLEMENTED, naming it and the ones it reads', async () => {
    const r = await rawCall(address, { 'grpc-encoding': 'br' }, frame(1, message));
    assert.deepEqual(r, { code: status.UNIMPLEMENTED, details: 'grpc-encoding "br" is not accepted: expected identity, deflate or gzip', errorCode: 'UNSUPPORTED_MEDIA_TYPE', accept: 'identity,deflate,gzip' });
    // An uncompressed message under any grpc-encoding is read as it is (the flag byte says so).
    assert.equal((await rawCall(address, { 'grpc-encoding': 'br' }, frame(0, message))).code, status.OK);
  });

  it('refuses a message marked compressed under no grpc-encoding instead of reading its bytes as protobuf', async () => {
    // Before: the gzip bytes were decoded as a request and answered "unknown model """.
    const r = await rawCall(address, {}, frame(1, compressed));
    assert.equal(r.code, status.UNIMPLEMENTED, r.details);
    assert.equal(r.details, 'gRPC message is marked compressed but the call names no grpc-encoding: expected grpc-encoding identity, deflate or gzip, or the message sent uncompressed');
    assert.equal(r.errorCode, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('refuses a flag byte other than 0 or 1, and bytes that are not what grpc-encoding says, with INVALID_ARGUMENT', async () => {
    const flag = await rawCall(address, {}, frame(2, message));
    assert.deepEqual([flag.code, flag.errorCode, flag.details], [status.INVALID_ARGUMENT, 'BAD_REQUEST', 'gRPC message compressed-flag is 2: expected 0 (not compressed) or 1 (compressed with the call\'s grpc-encoding)']);
    const bad = await rawCall(address, { 'grpc-encoding': 'gzip' }, frame(1, Buffer.from('not gzip at all')));
    assert.equal(bad.code, status.INVALID_ARGUMENT, bad.details);
    assert.match(bad.details, /^gRPC message is not valid gzip data \(.+\): expected it compressed as its grpc-encoding says$/);
    assert.equal(bad.errorCode, 'BAD_REQUEST');
  });

  it('refuses bytes that are not a ModelInferRequest with INVALID_ARGUMENT and BAD_REQUEST, as REST a body that is not JSON, not INTERNAL', async () => {
    // More than api.grpc.maxCalls (16) of them: each leaves its place among the calls in progress.
    for (let i = 0; i < 20; i++) {
      const r = await rawCall(address, {}, frame(0, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])));
      assert.deepEqual([r.code, r.errorCode, r.details], [status.INVALID_ARGUMENT, 'BAD_REQUEST', 'gRPC message is not a valid inference.ModelInferRequest: expected the protobuf encoding of inference.ModelInferRequest (agent/proto/grpc_predict_v2.proto)']);
    }
    const c = oipClient(address);
    try {
      assert.equal((await c.call('ModelInfer', request('after'))).id, 'after');
    } finally {
      c.close();
    }
  });

  it('refuses a body with a Content-Encoding before its message is read', async () => {
    // The stream stays open and no message is sent: the refusal comes from the headers alone.
    for (const encoding of ['gzip', 'br']) {
      const r = await rawCall(address, { 'content-encoding': encoding }, undefined);
      assert.equal(r.code, status.UNIMPLEMENTED, r.details);
      assert.equal(r.details, `Content-Encoding "${encoding}" is not accepted: expected the body sent unencoded (no Content-Encoding, or "identity"); gRPC compresses each message instead, with grpc-encoding identity, deflate or gzip`);
      assert.equal(r.errorCode, 'UNSUPPORTED_MEDIA_TYPE');
    }
    assert.equal((await rawCall(address, { 'content-encoding': 'identity' }, frame(0, message))).code, status.OK);
  });

  it('holds a compressed message and what it inflates to within api.maxBodyBytes together, at the bound', async () => {
    const at = await rawCall(address, { 'grpc-encoding': 'gzip' }, frame(1, compressed));
    assert.equal(at.code, status.OK, at.details);
    // One byte more inflated (a longer id), the gzip bytes no fewer: one past the bound.
    const longer = serialize(request('rr'));
    const over = gzipSync(longer);
    assert.ok(longer.length + over.length > MAX);
    const r = await rawCall(address, { 'grpc-encoding': 'gzip' }, frame(1, over));
    assert.equal(r.code, status.RESOURCE_EXHAUSTED, r.details);
    assert.equal(r.details, `gzip message of ${over.length} bytes inflates past ${MAX - over.length} bytes: expected the message and what it inflates to at most ${MAX} bytes together (api.maxBodyBytes)`);
    assert.equal(r.errorCode, 'PAYLOAD_TOO_LARGE');
    // A bomb: a message smaller than the bound that inflates 400-fold is stopped at it.
    const bomb = gzipSync(Buffer.alloc(20_000));
    assert.ok(bomb.length < MAX);
    const b = await rawCall(address, { 'grpc-encoding': 'gzip' }, frame(1, bomb));
    assert.deepEqual([b.code, b.errorCode], [status.RESOURCE_EXHAUSTED, 'PAYLOAD_TOO_LARGE'], b.details);
    // The refused calls left no call in progress: a plain one is served.
    assert.equal((await g.client.call('ModelInfer', request('after'))).id, 'after');
  });
});
