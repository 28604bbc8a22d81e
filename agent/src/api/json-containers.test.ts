// What a REST body parses into is bounded before it is parsed: JSON.parse makes an object per `{}` or
// `[]`, so a 15 MB body of `{}` elements (2 bytes and a comma each) took the agent from 220 MB to 950 MB
// of RSS, and kept it there, before validation refused it. A large body holding more objects and arrays
// than one per 16 bytes of api.maxBodyBytes is refused 413 unparsed; nested rows of numbers pass.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Agent } from '../agent.js';
import { makeKit, mlpBundle, req, startAgent, type Kit } from '../testing.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('json-containers', () => {
  const MAX = 4 << 20;
  let kit: Kit;
  let agent: Agent;
  before(async () => {
    kit = makeKit();
    agent = await startAgent(join(kit.dir, 'data'), { api: { host: '127.0.0.1', port: 0, maxBodyBytes: MAX } });
    agent.trust.put(kit.trust.doc, 1);
    await agent.manager.install((await mlpBundle(kit, '1.0.0')).path);
  });
  after(async () => {
    await agent.stop();
    kit.cleanup();
  });

  it('refuses a large body of many objects or arrays before parsing it, and serves nested rows', async () => {
    const n = 1_200_000; // 3.6 MB of `{},`
    const body = `{"inputs":[{"name":"input","datatype":"FP32","shape":[1,4],"data":[${new Array<string>(n).fill('{}').join(',')}]}]}`;
    const r = await req(agent.url, 'POST', '/v2/models/mlp/infer', body);
    assert.equal(r.status, 413);
    assert.equal(r.json.code, 'PAYLOAD_TOO_LARGE');
    assert.match(r.json.error, new RegExp(`^request body of ${body.length} bytes holds more than ${MAX / 16} JSON objects and arrays: expected at most ${MAX / 16} \\(one per 16 bytes of api\\.maxBodyBytes: each takes more than 50 bytes once parsed\\); send data flat \\(row-major\\) or as binary data$`));
    // 100,000 nested rows of 4 numbers (2.2 MB): one array per row.
    const rows = Array.from({ length: 100_000 }, (_, i) => [i / 3, 1, 2, 3]);
    const ok = await req(agent.url, 'POST', '/v2/models/mlp/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [rows.length, 4], data: rows }] });
    assert.equal(ok.status, 200, ok.text.slice(0, 200));
  });
});
