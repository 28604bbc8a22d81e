// The OIP v2 API of an in-process agent on port 0 with a real installed bundle:
// metadata, inference, and every error case (status and a message naming the input).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { repoRoot } from '@edgefleet/examples';
import type { Agent } from '../agent.js';
import { makeKit, mlpBundle, req, row, startAgent, type Kit } from '../testing.js';

describe('local API', () => {
  let kit: Kit;
  let agent: Agent;
  let base: string;

  before(async () => {
    kit = makeKit();
    const b = await mlpBundle(kit, '1.0.0');
    agent = await startAgent(join(kit.dir, 'data'), { api: { host: '127.0.0.1', port: 0, maxBodyBytes: 4096 } });
    agent.trust.put(kit.trust.doc, 1);
    await agent.manager.install(b.path);
    base = agent.url;
  });
  after(async () => {
    await agent.stop();
    kit.cleanup();
  });

  it('serves server, health and model metadata', async () => {
    assert.equal((await req(base, 'GET', '/v2')).json.name, 'edgefleet-agent');
    assert.deepEqual((await req(base, 'GET', '/v2/health/live')).json, { live: true });
    assert.equal((await req(base, 'GET', '/v2/health/ready')).status, 200);
    const m = await req(base, 'GET', '/v2/models/mlp');
    assert.equal(m.status, 200);
    assert.deepEqual(m.json, {
      name: 'mlp', versions: ['1.0.0'], platform: 'onnx_onnxv1',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'output', datatype: 'FP32', shape: [-1, 3] }],
    });
    assert.equal((await req(base, 'GET', '/v2/models/mlp/versions/1.0.0/ready')).json.ready, true);
  });

  it('answers HEAD on every GET route as GET, without the body', async () => {
    // GNU wget --spider (a common container health check) sends HEAD: it got a 400 whether ready or not.
    for (const path of ['/v2', '/v2/health/live', '/v2/health/ready', '/v2/models/mlp', '/v2/models/mlp/versions/1.0.0/ready', '/v2/repository/index', '/metrics']) {
      const get = await fetch(base + path);
      const head = await fetch(base + path, { method: 'HEAD' });
      assert.deepEqual([head.status, head.headers.get('content-type'), await head.text()], [get.status, get.headers.get('content-type'), ''], path);
      await get.arrayBuffer();
    }
    const unknown = await fetch(`${base}/v2/models/nope`, { method: 'HEAD' });
    assert.equal(unknown.status, 404);
    const infer = await req(base, 'HEAD', '/v2/models/mlp/infer');
    assert.deepEqual([infer.status, infer.headers.get('allow')], [405, 'POST']);
  });

  it('answers another method on a known route 405 METHOD_NOT_ALLOWED with the Allow header, not 400', async () => {
    const cases: Array<[string, string, string, string]> = [
      ['DELETE', '/v2/models/mlp/infer', 'POST', 'POST'],
      ['GET', '/v2/models/mlp/versions/1.0.0/infer', 'POST', 'POST'],
      ['PUT', '/v2/health/ready', 'GET, HEAD', 'GET or HEAD'],
      ['POST', '/v2/health/live', 'GET, HEAD', 'GET or HEAD'],
      ['POST', '/v2', 'GET, HEAD', 'GET or HEAD'],
      ['PATCH', '/v2/models/mlp', 'GET, HEAD', 'GET or HEAD'],
      ['DELETE', '/v2/models/mlp/versions/1.0.0/ready', 'GET, HEAD', 'GET or HEAD'],
      ['POST', '/metrics', 'GET, HEAD', 'GET or HEAD'],
      ['DELETE', '/v2/repository/index', 'GET, HEAD, POST', 'GET, HEAD or POST'],
      ['GET', '/edgefleet/v1/feedback', 'POST', 'POST'],
    ];
    for (const [method, path, allow, expected] of cases) {
      const r = await req(base, method, path);
      assert.deepEqual([r.status, r.headers.get('allow'), r.json], [405, allow, { code: 'METHOD_NOT_ALLOWED', error: `method ${method} is not allowed on ${path}: expected ${expected}` }], `${method} ${path}`);
    }
    // A path that is no route stays a 404, whatever the method.
    for (const [method, path] of [['PUT', '/v2/health/other'], ['DELETE', '/v2/models/mlp/explain'], ['POST', '/v3']]) {
      assert.equal((await req(base, method!, path!)).status, 404, `${method} ${path}`);
    }
  });

  it('infers with flat and nested data, echoing the id', async () => {
    const flat = await req(base, 'POST', '/v2/models/mlp/infer', { id: 'r1', inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4], data: [1, 2, 3, 4, 5, 6, 7, 8] }] });
    assert.equal(flat.status, 200, flat.text);
    assert.equal(flat.json.id, 'r1');
    assert.equal(flat.json.model_version, '1.0.0');
    const out = flat.json.outputs[0];
    assert.deepEqual(out.shape, [2, 3]);
    assert.equal(out.data.length, 6);
    const sum = out.data.slice(0, 3).reduce((a: number, b: number) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-5, 'softmax row sums to 1');
    const nested = await req(base, 'POST', '/v2/models/mlp/versions/1.0.0/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4], data: [[1, 2, 3, 4], [5, 6, 7, 8]] }] });
    assert.deepEqual(nested.json.outputs[0].data, out.data);
  });

  const cases: Array<[string, string, unknown, number, RegExp]> = [
    ['unknown model', '/v2/models/nope/infer', row([1, 2, 3, 4]), 404, /unknown model "nope"/],
    ['unknown version', '/v2/models/mlp/versions/9.9.9/infer', row([1, 2, 3, 4]), 404, /no version "9.9.9"/],
    ['missing input', '/v2/models/mlp/infer', { inputs: [] }, 400, /missing input "input"/],
    ['extra input', '/v2/models/mlp/infer', { inputs: [...row([1, 2, 3, 4]).inputs, { name: 'x', datatype: 'FP32', shape: [1], data: [1] }] }, 400, /unknown input "x": expected only "input"/],
    ['wrong datatype', '/v2/models/mlp/infer', { inputs: [{ name: 'input', datatype: 'INT64', shape: [1, 4], data: [1, 2, 3, 4] }] }, 400, /input "input": datatype "INT64".*expected "FP32"/],
    ['shape vs manifest', '/v2/models/mlp/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 5], data: [1, 2, 3, 4, 5] }] }, 400, /input "input": shape \[1, 5\].*expected \[-1, 4\]/],
    ['shape vs data length', '/v2/models/mlp/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4], data: [1, 2, 3, 4] }] }, 400, /input "input": data has 4 values but shape \[2, 4\] needs 8/],
    ['non-number value', '/v2/models/mlp/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 'a', 3, 4] }] }, 400, /input "input": data\[1\] is the string "a": expected a number/],
    ['non-finite value', '/v2/models/mlp/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 'NaN', 3, 4] }] }, 400, /^input "input": data\[1\] is the string "NaN": expected a finite number \(FP32\); NaN and infinities are taken only with allowNonFinite on$/],
    ['overflowing value', '/v2/models/mlp/infer', '{"inputs":[{"name":"input","datatype":"FP32","shape":[1,4],"data":[1,1e999,3,4]}]}', 400, /input "input": data\[1\] is not finite: expected a finite number \(FP32\); NaN and infinities are taken only with allowNonFinite on$/],
    // The model's metadata shows -1 for a free dimension; a request copying it is told to send a size.
    ['-1 copied from the metadata', '/v2/models/mlp/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4], data: [1, 2, 3, 4] }] }, 400,
      /^input "input": shape \[-1, 4\] has -1 at index 0: expected the sizes of the data sent, e\.g\. \[1, 4\] \(a -1 in the model's shape \[-1, 4\] means any size there, not a size to send\)$/],
    ['a negative size', '/v2/models/mlp/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, -4], data: [1, 2, 3, 4] }] }, 400, /^input "input": shape \[1, -4\] has -4 at index 1: expected the sizes of the data sent, e\.g\. \[1, 4\]$/],
    ['missing datatype', '/v2/models/mlp/infer', { inputs: [{ name: 'input', shape: [1, 4], data: [1, 2, 3, 4] }] }, 400, /^input "input": missing "datatype": expected "FP32"$/],
    ['missing shape', '/v2/models/mlp/infer', { inputs: [{ name: 'input', datatype: 'FP32', data: [1, 2, 3, 4] }] }, 400, /^input "input": missing "shape": expected \[-1, 4\] \(-1 is free\)$/],
    ['data as an object', '/v2/models/mlp/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: { a: 1 } }] }, 400, /^input "input": "data" is an object: expected an array of 4 values \(flat, or nested as shape \[1, 4\]\)$/],
    ['an output asked for twice', '/v2/models/mlp/infer', { ...row([1, 2, 3, 4]), outputs: [{ name: 'output' }, { name: 'output' }] }, 400, /^output "output" is asked for twice: expected each output once$/],
    ['no inputs array', '/v2/models/mlp/infer', { id: 'no-inputs' }, 400, /request inputs: expected an array/],
    ['not JSON', '/v2/models/mlp/infer', '{"inputs": [', 400, /not JSON/],
    ['an empty body', '/v2/models/mlp/infer', '', 400, /^request body is not JSON \(it is empty\): expected \{"inputs": \[\{name, shape, datatype, data\}\]\}$/],
    ['JSON after a byte order mark', '/v2/models/mlp/infer', `\uFEFF${JSON.stringify(row([1, 2, 3, 4]))}`, 400, /^request body is not JSON \(it starts with a UTF-8 byte order mark, EF BB BF\): expected/],
  ];
  for (const [what, path, body, status, re] of cases) {
    it(`refuses ${what} with ${status} naming the problem`, async () => {
      const r = await req(base, 'POST', path, body);
      assert.equal(r.status, status, r.text);
      assert.equal(typeof r.json.error, 'string');
      assert.match(r.json.error, re);
    });
  }

  it('refuses binary tensor data sent without Inference-Header-Content-Length with 415 naming the header', async () => {
    const body = Buffer.concat([Buffer.from(JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 16 } }] })), Buffer.alloc(16)]);
    const r = await fetch(`${base}/v2/models/mlp/infer`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body });
    assert.equal(r.status, 415);
    assert.deepEqual(await r.json(), {
      error: 'Content-Type "application/octet-stream" is not accepted without Inference-Header-Content-Length (binary tensor data needs that header): expected "application/json"',
      code: 'UNSUPPORTED_MEDIA_TYPE',
    });
  });

  it('refuses a body over the limit with 413', async () => {
    const r = await req(base, 'POST', '/v2/models/mlp/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: new Array(3000).fill(1) }] });
    assert.equal(r.status, 413);
    assert.match(r.json.error, /at most 4096 bytes/);
  });

  it('refuses a streamed (chunked) body over the limit with 413', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(`${base}/v2/models/mlp/infer`);
      const r = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      r.on('error', reject);
      r.write('x'.repeat(3000));
      r.end('y'.repeat(3000));
    });
    assert.equal(status, 413);
  });

  it('answers unknown routes with 404 JSON and keeps serving', async () => {
    const r = await req(base, 'GET', '/v1/models');
    assert.equal(r.status, 404);
    assert.match(r.json.error, /no route GET \/v1\/models/);
    assert.equal((await req(base, 'POST', '/v2/models/mlp/infer', row([0, 0, 0, 0]))).status, 200);
    // A trailing "/" (a base URL joined with one too many) is named, not only the shape expected.
    const slash = await req(base, 'POST', '/v2/models/mlp/infer/', row([0, 0, 0, 0]));
    assert.deepEqual([slash.status, slash.json.error], [404, 'no route POST /v2/models/mlp/infer/ (routes end without "/"): expected an OIP v2 path such as /v2/models/{name}/infer (the models served: /v2/repository/index)']);
    assert.equal((await req(base, 'GET', '/metrics/')).json.error, 'no route GET /metrics/ (routes end without "/"): expected /v2/... or /metrics');
    assert.equal((await req(base, 'GET', '/edgefleet/v1/update-lock/')).json.error, 'no route GET /edgefleet/v1/update-lock/ (routes end without "/"): expected /edgefleet/v1/update-lock');
  });

  it('exposes Prometheus metrics', async () => {
    const r = await req(base, 'GET', '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.text, /edgefleet_agent_requests_total\{model="mlp",version="1.0.0",outcome="ok"\} \d+/);
    assert.match(r.text, /edgefleet_agent_requests_total\{model="mlp",version="1.0.0",outcome="INVALID_INPUT"\} \d+/);
    assert.match(r.text, /edgefleet_agent_request_duration_seconds_bucket\{model="mlp",version="1.0.0",le="\+Inf"\} \d+/);
    assert.match(r.text, /edgefleet_agent_queue_depth\{model="mlp"\} 0/);
    assert.match(r.text, /edgefleet_agent_model_load_seconds\{model="mlp",version="1.0.0"\} [0-9.e-]+/);
    assert.match(r.text, /edgefleet_agent_process_resident_memory_bytes \d+/);
    // The outbox (events of the install wait in it: this agent has no hub link).
    const events = Number(/edgefleet_agent_outbox_items\{kind="event"\} (\d+)/.exec(r.text)?.[1]);
    assert.ok(events >= 1, `outbox events gauge: ${events}`);
    assert.match(r.text, /edgefleet_agent_outbox_items\{kind="window"\} \d+/);
    assert.match(r.text, /edgefleet_agent_outbox_oldest_seconds [0-9.]+/);
    assert.doesNotMatch(r.text, /edgefleet_agent_hub_connected/, 'no hub link, no link gauges');
  });

  it('shows the metric families docs/agent.md names, and no other', async () => {
    const served = new Set([...(await req(base, 'GET', '/metrics')).text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    // The doc's names: `edgefleet_agent_x{labels}` is the family x; `edgefleet_agent_shadow_{a,b}_total` two families.
    const documented = new Set<string>();
    for (const [, stem, , inside, tail] of readFileSync(join(repoRoot(), 'docs', 'agent.md'), 'utf8').matchAll(/edgefleet_agent_([a-z0-9_]*)(\{([^}]*)\})?([a-z0-9_]*)/g)) {
      if (stem!.endsWith('_') && inside && !/[="]/.test(inside)) for (const x of inside.split(',')) documented.add(`edgefleet_agent_${stem!}${x}${tail!}`);
      else documented.add(`edgefleet_agent_${stem!}`);
    }
    // The hub link's two gauges are served by an enrolled agent only ("on an enrolled box also"; test/src/scenarios/hub-restart-upload.test.ts).
    const enrolledOnly = ['edgefleet_agent_hub_connected', 'edgefleet_agent_desired_seq'];
    assert.deepEqual([...served].filter((n) => !documented.has(n)), [], 'served but not in docs/agent.md');
    assert.deepEqual([...documented].filter((n) => !served.has(n) && !enrolledOnly.includes(n)), [], 'in docs/agent.md but not served');
  });
});
