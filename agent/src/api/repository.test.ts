// An app discovering the models a real agent serves (docs/agent.md "Local API"): OIP v2 has no list, so
// `GET /v2/models` and Triton's `POST /v2/repository/index` were 404 and an app had to know each name
// beforehand. Now the repository index lists every model served with its active version, and follows a
// switch to a new version; gRPC's RepositoryIndex (Triton's RPC) the same.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { waitFor } from '@edgefleet/examples';
import { status } from '@grpc/grpc-js';
import { makeKit, mlpBundle, pickBundle, req, startAgent } from '../testing.js';
import { refused, startGrpcAgent } from './grpc/testing.js';

it('POST /v2/repository/index (and GET) lists the models served with their active version, and refuses a bad body naming it', async (t) => {
  const kit = makeKit();
  t.after(() => kit.cleanup());
  const agent = await startAgent(join(kit.dir, 'data'));
  t.after(() => agent.stop());
  agent.trust.put(kit.trust.doc, 1);
  await agent.manager.install((await mlpBundle(kit, '1.0.0')).path);
  await agent.manager.install((await pickBundle(kit)).path);

  const v1 = [
    { name: 'mlp', version: '1.0.0', state: 'READY', reason: '' },
    { name: 'pick', version: '1.0.0', state: 'READY', reason: '' },
  ];
  // As Triton's client sends it (no body), with the optional filter, and as curl would GET it.
  const empty = await fetch(`${agent.url}/v2/repository/index`, { method: 'POST' });
  assert.equal(empty.status, 200);
  assert.deepEqual(await empty.json(), v1);
  const ready = await req(agent.url, 'POST', '/v2/repository/index', { ready: true });
  assert.equal(ready.status, 200, ready.text);
  assert.deepEqual(ready.json, v1);
  assert.deepEqual((await req(agent.url, 'GET', '/v2/repository/index')).json, v1);
  // Where an app would look first, it is told where to look.
  const models = await req(agent.url, 'GET', '/v2/models');
  assert.deepEqual([models.status, models.json.error], [404, 'no route GET /v2/models: expected an OIP v2 path such as /v2/models/{name}/infer (the models served: /v2/repository/index)']);

  await agent.manager.install((await mlpBundle(kit, '2.0.0', { seed: 2 })).path);
  await waitFor('the index shows mlp 2.0.0', async () => (await req(agent.url, 'GET', '/v2/repository/index')).json[0].version === '2.0.0' || undefined);

  const typo = await req(agent.url, 'POST', '/v2/repository/index', { redy: true });
  assert.equal(typo.status, 400);
  assert.deepEqual(typo.json, { code: 'BAD_REQUEST', error: 'unknown field "redy": expected only ready' });
  const wrong = await req(agent.url, 'POST', '/v2/repository/index', { ready: 'yes' });
  assert.deepEqual([wrong.status, wrong.json], [400, { code: 'BAD_REQUEST', error: 'ready: expected true or false, got "yes"' }]);
  const notJson = await req(agent.url, 'POST', '/v2/repository/index', '{ready', {});
  assert.equal(notJson.status, 400);
  assert.match(notJson.json.error, /^request body is not JSON \(.*\): expected \{"ready": true\} or no body$/);
  const text = await req(agent.url, 'POST', '/v2/repository/index', 'ready', { 'content-type': 'text/plain' });
  assert.deepEqual([text.status, text.json.code], [415, 'UNSUPPORTED_MEDIA_TYPE']);
});

it('gRPC RepositoryIndex (Triton\'s, in the agent\'s .proto) lists the same models; a named repository is NOT_FOUND', async (t) => {
  const g = await startGrpcAgent(async (kit) => [await mlpBundle(kit, '1.0.0'), await pickBundle(kit)]);
  t.after(() => g.close());
  const r = await g.client.call('RepositoryIndex', {});
  assert.deepEqual(r['models'], [
    { name: 'mlp', version: '1.0.0', state: 'READY', reason: '' },
    { name: 'pick', version: '1.0.0', state: 'READY', reason: '' },
  ]);
  assert.deepEqual((await g.client.call('RepositoryIndex', { ready: true }))['models'], r['models']);
  const e = await refused(g.client.call('RepositoryIndex', { repository_name: 'models' }));
  assert.equal(e.code, status.NOT_FOUND);
  assert.equal(e.details, 'unknown model repository "models": expected an empty repository_name (the agent serves one repository)');
  assert.deepEqual(e.metadata.get('error-code'), ['NOT_FOUND']);
});
