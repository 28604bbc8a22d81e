// The binary tensor data extension on REST against a real agent: binary and JSON
// requests give identical outputs (the example MLP and the multi-input model with
// an INT64 scalar), binary outputs decode to the JSON ones, and a wrong
// binary_data_size or a truncated body is a 400 naming the tensor, and so is a binary
// output flag that is not a boolean.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { buildMultiBundle } from '@edgefleet/examples';
import type { Agent } from '../agent.js';
import { makeKit, mlpBundle, req, startAgent, type Kit } from '../testing.js';

/** POSTs a JSON header followed by binary parts, with Inference-Header-Content-Length. */
async function binaryPost(base: string, path: string, header: unknown, parts: Buffer[], headerBytes?: number) {
  const h = Buffer.from(JSON.stringify(header));
  const res = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerBytes ?? h.length) },
    body: Buffer.concat([h, ...parts]),
  });
  const body = Buffer.from(await res.arrayBuffer());
  const jsonLen = res.headers.get('inference-header-content-length');
  const json = JSON.parse(body.subarray(0, jsonLen === null ? body.length : Number(jsonLen)).toString());
  return { status: res.status, json, binary: jsonLen === null ? undefined : body.subarray(Number(jsonLen)), type: res.headers.get('content-type') };
}

const f32 = (x: number[]) => Buffer.from(new Float32Array(x).buffer);
const i64 = (x: number[]) => Buffer.from(new BigInt64Array(x.map(BigInt)).buffer);

describe('local API: binary tensor data (REST)', () => {
  let kit: Kit;
  let agent: Agent;
  before(async () => {
    kit = makeKit();
    const b = await mlpBundle(kit, '1.0.0');
    const m = await buildMultiBundle({ dir: join(kit.dir, 'bundles'), keys: kit.keys });
    agent = await startAgent(join(kit.dir, 'data'), { api: { host: '127.0.0.1', port: 0 } });
    agent.trust.put(kit.trust.doc, 1);
    await agent.manager.install(b.path);
    await agent.manager.install(m.path);
  });
  after(async () => {
    await agent.stop();
    kit.cleanup();
  });

  it('gives the JSON outputs for binary inputs, and binary outputs on request', async () => {
    const x = [1, 2, 3, 4, 5, 6, 7, 8];
    const json = await req(agent.url, 'POST', '/v2/models/mlp/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4], data: x }] });
    assert.equal(json.status, 200, json.text);
    const bin = await binaryPost(agent.url, '/v2/models/mlp/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4], parameters: { binary_data_size: 32 } }] }, [f32(x)]);
    assert.equal(bin.status, 200, JSON.stringify(bin.json));
    assert.deepEqual(bin.json.outputs, json.json.outputs);
    const out = await binaryPost(agent.url, '/v2/models/mlp/infer', {
      inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4], parameters: { binary_data_size: 32 } }], outputs: [{ name: 'output', parameters: { binary_data: true } }],
    }, [f32(x)]);
    assert.equal(out.type, 'application/octet-stream');
    assert.deepEqual(out.json.outputs[0], { name: 'output', datatype: 'FP32', shape: [2, 3], parameters: { binary_data_size: 24 } });
    assert.deepEqual(Array.from(new Float32Array(out.binary!.buffer.slice(out.binary!.byteOffset, out.binary!.byteOffset + 24))), json.json.outputs[0].data.map(Math.fround));
  });

  it('gives the JSON outputs for the multi-input model with an INT64 scalar (binary_data_output)', async () => {
    const audio = [0.5, -0.5, 1, -1];
    const json = await req(agent.url, 'POST', '/v2/models/audio-energy/infer', {
      inputs: [{ name: 'audio', datatype: 'FP32', shape: [1, 4], data: audio }, { name: 'sample_rate', datatype: 'INT64', shape: [], data: [16000] }],
    });
    assert.equal(json.status, 200, json.text);
    const header = {
      inputs: [
        { name: 'audio', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 16 } },
        { name: 'sample_rate', datatype: 'INT64', shape: [], parameters: { binary_data_size: 8 } },
      ],
    };
    const bin = await binaryPost(agent.url, '/v2/models/audio-energy/infer', header, [f32(audio), i64([16000])]);
    assert.deepEqual(bin.json.outputs, json.json.outputs);
    const raw = await binaryPost(agent.url, '/v2/models/audio-energy/infer', { ...header, parameters: { binary_data_output: true } }, [f32(audio), i64([16000])]);
    const sizes = (raw.json.outputs as Array<{ name: string; parameters: { binary_data_size: number } }>).map((o) => o.parameters.binary_data_size);
    assert.deepEqual(sizes, [4, 8]);
    assert.equal(raw.binary!.readFloatLE(0), Math.fround(json.json.outputs[0].data[0]));
    assert.equal(raw.binary!.readBigInt64LE(4), 16000n);
  });

  it('refuses a binary_data_size that does not fit the shape with 400 naming the tensor', async () => {
    const r = await binaryPost(agent.url, '/v2/models/mlp/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 12 } }] }, [f32([1, 2, 3])]);
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 'INVALID_INPUT');
    assert.match(r.json.error, /input "input": raw data has 12 bytes but shape \[1, 4\] of FP32 needs 16/);
  });

  it('refuses a field OIP v2 does not define in the JSON header, naming it', async () => {
    const r = await binaryPost(agent.url, '/v2/models/mlp/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 16 } }], output: [{ name: 'output' }] }, [f32([1, 2, 3, 4])]);
    assert.deepEqual([r.status, r.json], [400, { code: 'INVALID_INPUT', error: 'request "output": unknown field; did you mean "outputs"? (expected one of id, parameters, inputs, outputs)' }]);
  });

  it('refuses a truncated body with 400 naming the tensor', async () => {
    const r = await binaryPost(agent.url, '/v2/models/mlp/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 16 } }] }, [f32([1, 2, 3])]);
    assert.equal(r.status, 400);
    assert.match(r.json.error, /input "input": binary_data_size 16 runs past the end of the body: 12 bytes/);
  });

  it('refuses binary_data_size without Inference-Header-Content-Length naming the header, with or without the bytes after the JSON', async () => {
    // The id's brace and escaped quote must not end the JSON header early.
    const header = JSON.stringify({ id: 'a "}" b', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 16 } }] });
    const message = 'input "input": parameters.binary_data_size is set but the request has no Inference-Header-Content-Length header: expected that header, holding the byte length of the JSON header that the binary data follows (or "data" in the JSON instead of binary_data_size)';
    for (const body of [Buffer.from(header), Buffer.concat([Buffer.from(header), f32([1, 2, 3, 4])])]) {
      const res = await fetch(`${agent.url}/v2/models/mlp/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      assert.equal(res.status, 400);
      assert.deepEqual(await res.json(), { error: message, code: 'INVALID_INPUT' });
    }
    // A body that is just broken is still "not JSON".
    const broken = await req(agent.url, 'POST', '/v2/models/mlp/infer', '{"inputs": [}');
    assert.equal(broken.json.code, 'BAD_REQUEST');
    assert.match(broken.json.error, /request body is not JSON/);
  });

  it('refuses a binary output flag that is not true or false, naming it, on JSON and binary requests', async () => {
    const row = { name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] };
    const invalid = async () => Number(/edgefleet_agent_requests_total\{model="mlp",version="1\.0\.0",outcome="INVALID_INPUT"\} (\d+)/.exec((await req(agent.url, 'GET', '/metrics')).text)?.[1] ?? 0);
    const before = await invalid();
    const all = await req(agent.url, 'POST', '/v2/models/mlp/infer', { inputs: [row], parameters: { binary_data_output: 'true' } });
    assert.equal(all.status, 400, all.text);
    assert.deepEqual(all.json, { error: 'parameters.binary_data_output is a string: expected true or false', code: 'INVALID_INPUT' });
    const one = await binaryPost(agent.url, '/v2/models/mlp/infer', {
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 16 } }], outputs: [{ name: 'output', parameters: { binary_data: 1 } }],
    }, [f32([1, 2, 3, 4])]);
    assert.equal(one.status, 400);
    assert.deepEqual(one.json, { error: 'output "output": parameters.binary_data is a number: expected true or false', code: 'INVALID_INPUT' });
    // Counted like any invalid input (inside validation), not only answered.
    assert.equal(await invalid(), before + 2);
    const off = await req(agent.url, 'POST', '/v2/models/mlp/infer', { inputs: [row], parameters: { binary_data_output: false } });
    assert.equal(off.status, 200, off.text);
    assert.equal(off.headers.get('content-type'), 'application/json');
  });

  it('refuses bytes left over and a header length past the body', async () => {
    const extra = await binaryPost(agent.url, '/v2/models/mlp/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 16 } }] }, [f32([1, 2, 3, 4, 5])]);
    assert.equal(extra.status, 400);
    assert.match(extra.json.error, /4 bytes of binary data after the 16/);
    const past = await binaryPost(agent.url, '/v2/models/mlp/infer', { inputs: [] }, [], 10_000);
    assert.equal(past.status, 400);
    assert.match(past.json.error, /Inference-Header-Content-Length "10000" is not valid/);
  });
});
