// A burst of REST connections on a real agent's Unix socket, many more than api.maxConnections (docs/agent.md
// "Limits", docs/decisions/0104-connections-over-the-cap.md): each either is served
// or gets a 503 naming the setting, never a bare reset. Before, of 600 opened at once, those past
// api.maxConnections and its 32 spares were closed on accept: 256 answered 200, 32 503, 312 EPIPE.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { waitFor } from '@edgefleet/examples';
import { holdRunSlot, makeKit, mlpBundle, startAgent } from '../testing.js';

const BURST = 600;

/** An app in a process of its own opening `n` connections at once, one request each: what each got, counted. */
const CLIENT = `
import { request } from 'node:http';
const [socketPath, n] = [process.argv[1], Number(process.argv[2])];
const body = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] });
const calls = Array.from({ length: n }, () => new Promise((resolve) => {
  const r = request({ socketPath, agent: false, path: '/v2/models/mlp/infer', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
    res.resume();
    res.on('end', () => resolve(String(res.statusCode)));
  });
  r.on('error', (e) => resolve(e.code ?? e.message));
  r.end(body);
}));
const counts = {};
for (const o of await Promise.all(calls)) counts[o] = (counts[o] ?? 0) + 1;
process.stdout.write(JSON.stringify(counts));
`;

function burst(socketPath: string, n: number): Promise<Record<string, number>> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CLIENT, socketPath, String(n)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', () => resolve(JSON.parse(out || '{}') as Record<string, number>));
  });
}

it(`${BURST} connections at once on the socket, api.maxConnections 256: all served, none cut`, async (t) => {
  const kit = makeKit();
  t.after(() => kit.cleanup());
  const socketPath = join(kit.dir, 'agent.sock');
  // A queue that takes the whole burst: what decides each outcome is the connection cap alone. The wait
  // for a slot (api.headersTimeoutMs) is long enough for a loaded machine to serve all 600 within it.
  const agent = await startAgent(join(kit.dir, 'data'), { api: { host: '127.0.0.1', port: 0, socket: socketPath, headersTimeoutMs: 60_000, requestTimeoutMs: 60_000 }, concurrency: { perModel: 1, queue: BURST }, runtime: { batching: 'off' } });
  t.after(() => agent.stop());
  agent.trust.put(kit.trust.doc, 1);
  await agent.manager.install((await mlpBundle(kit, '1.0.0')).path);
  // The model's run slot held: the 256 connections within the cap keep their requests waiting (and their
  // connections open) until every connection of the burst has come.
  const slot = holdRunSlot(agent, 'mlp');
  const limiter = agent.runtime.limiterFor('mlp')!;
  const counts = burst(socketPath, BURST);
  await waitFor('the requests of the 256 connections within the cap queued', () => limiter.depth >= 256 || undefined, { timeoutMs: 20_000 });
  slot.free();
  assert.deepEqual(await counts, { 200: BURST });
});
