// Names a client sends (model, version, input, output, datatype) come back in error messages cut to
// ECHO_CHARS, the same on REST and gRPC (docs/agent.md "Local API"): a 200 KB name echoed whole made a
// 200 KB grpc-message trailer, on which the grpc-js client's connection hung until every call on it
// passed its deadline, and a 200 KB REST answer.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { ECHO_CHARS } from '@edgefleet/shared/core';
import { mlpBundle, req } from '../../testing.js';
import { refused, startGrpcAgent, type GrpcAgent } from './testing.js';

const long = 'n'.repeat(200_000);
const cut = `"${'n'.repeat(ECHO_CHARS)}…"`;
const input = (over: object = {}) => ({ name: 'input', datatype: 'FP32', shape: [1, 4], ...over });

describe('local API: names in errors are echoed bounded', () => {
  let g: GrpcAgent;
  before(async () => {
    g = await startGrpcAgent(async (kit) => [await mlpBundle(kit, '1.0.0')]);
  });
  after(() => g.close());

  const cases: Array<[string, object, object, string]> = [
    ['an input name', { inputs: [input({ name: long, contents: { fp32_contents: [1, 2, 3, 4] } })] }, { inputs: [input({ name: long, data: [1, 2, 3, 4] })] }, `unknown input ${cut}: expected only "input"`],
    ['an output name', { inputs: [input({ contents: { fp32_contents: [1, 2, 3, 4] } })], outputs: [{ name: long }] }, { inputs: [input({ data: [1, 2, 3, 4] })], outputs: [{ name: long }] }, `unknown output ${cut}: expected one of "output"`],
    ['a datatype', { inputs: [input({ datatype: long, contents: { fp32_contents: [1, 2, 3, 4] } })] }, { inputs: [input({ datatype: long, data: [1, 2, 3, 4] })] }, `input "input": datatype ${cut} does not match the model: expected "FP32"`],
  ];
  for (const [what, grpcBody, restBody, message] of cases) {
    it(`cuts ${what} short, the same on REST and gRPC, and the gRPC client keeps its connection`, async () => {
      const err = await refused(g.client.call('ModelInfer', { model_name: 'mlp', ...grpcBody }, undefined, 5000));
      assert.deepEqual([err.code, err.details, err.metadata.get('error-code')[0]], [status.INVALID_ARGUMENT, message, 'INVALID_INPUT']);
      const rest = await req(g.agent.url, 'POST', '/v2/models/mlp/infer', restBody);
      assert.deepEqual([rest.status, rest.json], [400, { error: message, code: 'INVALID_INPUT' }]);
      assert.deepEqual(await g.client.call('ServerLive', {}, undefined, 5000), { live: true });
    });
  }

  it('cuts a model name and a version short on every RPC that names them', async () => {
    const model = await refused(g.client.call('ModelReady', { name: long }, undefined, 5000));
    assert.deepEqual([model.code, model.details], [status.NOT_FOUND, `unknown model ${cut}: expected one of [mlp]`]);
    const version = await refused(g.client.call('ModelInfer', { model_name: 'mlp', model_version: long, inputs: [] }, undefined, 5000));
    assert.deepEqual([version.code, version.details], [status.NOT_FOUND, `model "mlp" has no version ${cut} loaded: expected "1.0.0" (the active version)`]);
    // A path of 5000 characters is within REST's header limit: the same text.
    const rest = await req(g.agent.url, 'GET', `/v2/models/mlp/versions/${long.slice(0, 5000)}/ready`);
    assert.deepEqual([rest.status, rest.json.error], [404, `model "mlp" has no version ${cut} loaded: expected "1.0.0" (the active version)`]);
  });
});
