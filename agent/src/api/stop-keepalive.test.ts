// Apps that keep their connection to the local API open (keep-alive: Node's fetch and http.Agent, curl's
// reuse, Python's requests.Session) and call it in a loop, while the agent stops (SIGTERM, a restart the
// remote configuration asked for, an upgrade): docs/agent.md "Stopping".
// The stop closed idle keep-alive connections every 50 ms of the grace. A connection is idle between an
// answer and the client's next request, so a client in a loop had its next request cut as it sent it
// (ECONNRESET or EPIPE, no answer: the app could not tell whether it ran), on TCP and the Unix socket; a
// probe with 2 looping clients per transport saw it on every stop. Now every answer written during the
// stop says `Connection: close`, and a connection is closed for being idle only once it has been so for
// STOP_IDLE_MS: a client in a loop is answered and then finds the listener gone (ECONNREFUSED, ENOENT on
// the socket), which says plainly that the request was never sent.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent as HttpAgent, request } from 'node:http';
import { join } from 'node:path';
import { waitFor } from '@edgefleet/examples';
import { makeKit, mlpBundle, startAgent } from '../testing.js';

const BODY = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] });

type Outcome = { status: number; connection: string | undefined } | { error: string };

function infer(agent: HttpAgent, target: { socketPath: string } | { host: string; port: number }): Promise<Outcome> {
  return new Promise((resolve) => {
    const r = request({ ...target, agent, path: '/v2/models/mlp/infer', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
    });
    r.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    r.end(BODY);
  });
}

/** Calls until the agent is gone (a connection refused); returns what else it saw besides 200s. */
async function loop(target: { socketPath: string } | { host: string; port: number }, pauseMs: number, answered: () => void): Promise<{ ok: number; other: string[]; closeSeen: boolean }> {
  const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  const other: string[] = [];
  let ok = 0;
  let closeSeen = false;
  try {
    for (;;) {
      const o = await infer(agent, target);
      if ('error' in o) {
        if (o.error === 'ECONNREFUSED' || o.error === 'ENOENT') return { ok, other, closeSeen };
        other.push(o.error);
      } else if (o.status === 200) {
        ok++;
        answered();
        if (o.connection === 'close') closeSeen = true;
      } else other.push(String(o.status));
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    }
  } finally {
    agent.destroy();
  }
}

it('a keep-alive client calling in a loop while the agent stops gets every request answered or refused, never cut', async (t) => {
  const kit = makeKit();
  t.after(() => kit.cleanup());
  const socketPath = join(kit.dir, 'agent.sock');
  const agent = await startAgent(join(kit.dir, 'data'), { api: { host: '127.0.0.1', port: 0, socket: socketPath, stopGraceMs: 2000 } });
  t.after(() => agent.stop());
  agent.trust.put(kit.trust.doc, 1);
  await agent.manager.install((await mlpBundle(kit, '1.0.0')).path);
  const port = Number(new URL(agent.url).port);

  let answers = 0;
  const count = () => { answers++; };
  const tcp = { host: '127.0.0.1', port };
  // Back to back, and with a pause between calls (a connection idle a while before each request).
  const clients = [loop(tcp, 0, count), loop(tcp, 0, count), loop({ socketPath }, 0, count), loop({ socketPath }, 0, count), loop(tcp, 20, count), loop({ socketPath }, 20, count)];
  await waitFor('every client answered a few times', () => answers >= 60 || undefined, { timeoutMs: 30_000 });
  await agent.stop();
  const seen = await Promise.all(clients);
  assert.deepEqual(seen.map((s) => s.other), seen.map(() => []), 'what the clients saw besides answers and a refused connection');
  for (const [i, s] of seen.entries()) assert.ok(s.ok > 0, `client ${i} was answered`);
  assert.ok(seen.some((s) => s.closeSeen), 'answers written during the stop say Connection: close');
});
