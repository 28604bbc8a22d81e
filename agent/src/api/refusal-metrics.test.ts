// A request for a served model refused before it is validated (its media type, its size, a body that is
// not JSON, the request budget) is counted like an invalid one: in requests_total{outcome} by its code and
// in the summaries' errors, where the code's kind (input, load) keeps it from counting against the model
// (docs/agent.md "Local API", docs/agent-summaries.md "Error kinds"). One for a version that is not
// served, or a model that is not, has no series and leaves every counter as it was.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { request } from 'node:http';
import type { Agent } from '../agent.js';
import { openStore } from '../store/agent-store.js';
import { makeKit, mlpBundle, req, row, startAgent, type Kit } from '../testing.js';

const MAX_BODY = 2048;

function outcomes(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^edgefleet_agent_requests_total\{model="mlp",version="1\.0\.0",outcome="(\w+)"\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

/** A POST sent in pieces with no Content-Length: its size is only known as it arrives. */
function chunked(port: number, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, method: 'POST', path: '/v2/models/mlp/infer', headers: { 'content-type': 'application/json', connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    r.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
    for (let i = 0; i < bytes; i += 512) r.write(' '.repeat(512));
    r.end();
  });
}

describe('requests refused before validation', () => {
  let kit: Kit;
  let agent: Agent;
  let data: string;
  before(async () => {
    kit = makeKit();
    data = join(kit.dir, 'data');
    const b = await mlpBundle(kit, '1.0.0');
    agent = await startAgent(data, { api: { host: '127.0.0.1', port: 0, maxBodyBytes: MAX_BODY } });
    agent.trust.put(kit.trust.doc, 1);
    await agent.manager.install(b.path);
  });
  after(async () => {
    await agent.stop();
    kit.cleanup();
  });

  it('are counted by their code for the version they addressed', async () => {
    const infer = '/v2/models/mlp/infer';
    const statuses = [
      (await req(agent.url, 'POST', infer, '{"inputs":', { 'content-type': 'application/json' })).status,
      (await req(agent.url, 'POST', infer, 'hello', { 'content-type': 'text/plain' })).status,
      (await req(agent.url, 'POST', '/v2/models/mlp/versions/1.0.0/infer', 'x'.repeat(MAX_BODY + 1))).status,
      await chunked(Number(new URL(agent.url).port), MAX_BODY * 2),
      (await req(agent.url, 'POST', infer, row([1, 2, 3, 4]))).status,
      // Neither of these has a series: a version not served and a model not served.
      (await req(agent.url, 'POST', '/v2/models/mlp/versions/9.9.9/infer', 'hello', { 'content-type': 'text/plain' })).status,
      (await req(agent.url, 'POST', '/v2/models/nope/infer', '{"inputs":')).status,
    ];
    assert.deepEqual(statuses, [400, 415, 413, 413, 200, 415, 404]);
    const text = (await req(agent.url, 'GET', '/metrics')).text;
    assert.deepEqual(outcomes(text), { ok: 1, BAD_REQUEST: 1, UNSUPPORTED_MEDIA_TYPE: 1, PAYLOAD_TOO_LARGE: 2 });
    assert.doesNotMatch(text, /model="nope"|version="9\.9\.9"/);
  });

  it('are in the summaries as input errors (written on stop)', async () => {
    await agent.stop();
    const s = openStore(data);
    try {
      const errors: Record<string, number> = {};
      for (const { window } of s.summaries.listWindows({ model: 'mlp' })) {
        for (const [code, n] of Object.entries(window.errors ?? {})) errors[code] = (errors[code] ?? 0) + n;
      }
      assert.deepEqual(errors, { BAD_REQUEST: 1, UNSUPPORTED_MEDIA_TYPE: 1, PAYLOAD_TOO_LARGE: 2 });
    } finally {
      s.db.close();
    }
  });
});
