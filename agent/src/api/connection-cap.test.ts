// More REST connections at once than api.maxConnections, on a real agent's TCP port and Unix socket
// (docs/agent.md "Limits"): the ones over the cap used to be closed on accept, unanswered, so an app saw
// EPIPE or ECONNRESET and nothing saying why (a probe of 600 at once on the socket: 344 cut so). Now each
// waits for a slot, and one that none frees for within api.headersTimeoutMs is answered 503 OVERLOADED
// naming the setting and the listener, with Retry-After, and closed (./connection-burst.test.ts: served).
// /metrics shows each listener's connections, those waiting and those refused (edgefleet_agent_api_connections*).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent as HttpAgent, request } from 'node:http';
import { join } from 'node:path';
import { waitFor } from '@edgefleet/examples';
import { holdRunSlot, makeKit, mlpBundle, req, startAgent } from '../testing.js';
import { WAITING_CONNECTIONS } from './connection-cap.js';

const BODY = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] });

type Outcome = { status: number; json: { code?: string; error?: string }; retryAfter: string | undefined; connection: string | undefined } | { error: string };

function infer(agent: HttpAgent, target: { socketPath: string } | { host: string; port: number }): Promise<Outcome> {
  return new Promise((resolve) => {
    const r = request({ ...target, agent, path: '/v2/models/mlp/infer', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text), retryAfter: res.headers['retry-after'], connection: res.headers.connection }));
    });
    r.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    r.end(BODY);
  });
}

it('connections over api.maxConnections that no slot frees for within api.headersTimeoutMs are answered 503 OVERLOADED naming it, on the TCP port and the Unix socket; the others are served', async (t) => {
  const kit = makeKit();
  t.after(() => kit.cleanup());
  const socketPath = join(kit.dir, 'agent.sock');
  const agent = await startAgent(join(kit.dir, 'data'), { api: { host: '127.0.0.1', port: 0, socket: socketPath, maxConnections: 4, headersTimeoutMs: 500 }, concurrency: { perModel: 1 } });
  t.after(() => agent.stop());
  agent.trust.put(kit.trust.doc, 1);
  await agent.manager.install((await mlpBundle(kit, '1.0.0')).path);
  const port = Number(new URL(agent.url).port);

  // The run slot is held: the requests on the 4 connections within the cap wait, and keep them open.
  const slot = holdRunSlot(agent, 'mlp');
  /** The caps' series of both listeners, or undefined while the scrape itself is refused (503: the cap full). */
  let scrapesRefused = 0;
  const metrics = async () => {
    const out: Record<string, number> = {};
    const r = await req(agent.url, 'GET', '/metrics');
    if (r.status !== 200) {
      scrapesRefused++;
      return undefined;
    }
    for (const m of r.text.matchAll(/^(edgefleet_agent_api_connections\w*)\{listener="api\.(port|socket)"(?:,how="(\w+)")?\} (\d+)$/gm)) out[`${m[1]} ${m[2]}${m[3] ? ` ${m[3]}` : ''}`] = Number(m[4]);
    return out;
  };
  const http = new HttpAgent({ keepAlive: true, maxSockets: Infinity });
  t.after(() => http.destroy());
  const targets = [{ host: '127.0.0.1', port }, { socketPath }];
  const settled: Outcome[][] = targets.map(() => []);
  const pending = targets.map((target, i) => Array.from({ length: 10 }, () => infer(http, target).then((o) => { settled[i]!.push(o); return o; })));
  await waitFor('the 6 connections over the cap on each listener answered', () => settled.every((s) => s.length >= 6) || undefined, { timeoutMs: 20_000 });
  const refused = settled.map((s) => s.length);
  slot.free();
  const all = await Promise.all(pending.map((calls) => Promise.all(calls)));
  // The connections within the cap closed, a scrape gets one of its own.
  http.destroy();
  const seen = await waitFor('a scrape of /metrics answered', metrics);
  for (const l of ['port', 'socket']) {
    // (A scrape refused on api.port while the closes were not yet seen counts there too.)
    assert.equal(seen[`edgefleet_agent_api_connections_refused_total ${l} answered`], 6 + (l === 'port' ? scrapesRefused : 0), `api.${l}: the 6 refused counted`);
    assert.equal(seen[`edgefleet_agent_api_connections_refused_total ${l} closed`], 0);
  }

  for (const [i, where] of [`api.port ${port}`, `api.socket ${socketPath}`].entries()) {
    const outcomes = all[i]!;
    assert.deepEqual(outcomes.map((o) => ('error' in o ? o.error : o.status)).sort(), [200, 200, 200, 200, 503, 503, 503, 503, 503, 503], where);
    assert.equal(refused[i], 6, `${where}: only the connections over the cap were answered before the slot was freed`);
    for (const o of outcomes) {
      if ('error' in o || o.status !== 503) continue;
      assert.equal(o.json.code, 'OVERLOADED');
      assert.equal(o.json.error, `${where} holds 4 connections (api.maxConnections), and no slot freed for this one within 500 ms (api.headersTimeoutMs; at most ${WAITING_CONNECTIONS} wait): expected at most 4 at once on it; retry once one closes, or send more requests on fewer connections (keep-alive)`);
      assert.equal(o.retryAfter, '1');
      assert.equal(o.connection, 'close');
    }
  }
});
