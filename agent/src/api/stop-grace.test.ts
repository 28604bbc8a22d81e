// SIGTERM's promise to the local API's clients (docs/agent.md "Stopping"): requests in progress get
// api.stopGraceMs to finish, and one still waiting for a run slot when it ends, which will never run,
// is answered NOT_READY saying so, on REST and gRPC alike.
// - The gRPC stop used to drain grpc-js' sessions and then ask tryShutdown to wait for them, which calls
//   back at once for a session already closing: the agent went on to release its model sessions and
//   exit, and every call in progress ended UNAVAILABLE "Connection dropped" within ms of the signal.
// - At the end of the grace a REST client waiting for a slot saw its connection cut with no answer, and
//   a gRPC one CANCELLED "Call cancelled", as if it had cancelled the call itself.
import { it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { status } from '@grpc/grpc-js';
import { waitFor } from '@edgefleet/examples';
import { mlpBundle, req, row } from '../testing.js';
import type { Limiter } from '../runtime/limiter.js';
import { agentMetric, refused, startGrpcAgent, type GrpcAgent } from './grpc/testing.js';

const grpcRow = { model_name: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } }] };

/** An agent serving "mlp" with every one of its 4 run slots taken: requests wait in its queue until `free()`. */
async function slotsTaken(t: TestContext, stopGraceMs: number): Promise<{ g: GrpcAgent; limiter: Limiter; free(): void }> {
  const g = await startGrpcAgent(async (kit) => [await mlpBundle(kit, '1.0.0')], { api: { stopGraceMs } });
  t.after(() => g.close());
  const limiter = g.agent.runtime.limiterFor('mlp')!;
  for (let i = 0; i < 4; i++) assert.equal(limiter.acquire(), undefined);
  let held = 4;
  return { g, limiter, free: () => { for (; held > 0; held--) limiter.release(); } };
}

it('a gRPC call in progress when the agent stops is answered within api.stopGraceMs, and the stop waits for it', async (t) => {
  const { g, limiter, free } = await slotsTaken(t, 4000);
  const call = g.client.call('ModelInfer', grpcRow);
  await waitFor('the call queued', () => limiter.depth === 1);
  let stopped = false;
  const stop = g.agent.stop().then(() => { stopped = true; });
  // Well inside the 4 s grace: the stop is still waiting for the call.
  await sleep(300);
  assert.equal(stopped, false, 'the stop did not wait for the call in progress');
  free();
  const answer = await call;
  assert.equal(answer['model_version'], '1.0.0');
  assert.equal(answer['outputs'][0].contents.fp32_contents.length, 3);
  await stop;
});

it('answers the requests still waiting for a run slot at the end of the grace NOT_READY, over REST and gRPC', async (t) => {
  const { g, limiter, free } = await slotsTaken(t, 300);
  const rest = req(g.agent.url, 'POST', '/v2/models/mlp/infer', row([1, 2, 3, 4]));
  const grpc = refused(g.client.call('ModelInfer', grpcRow));
  // Both parsed and queued (in one dynamic batch or two): their 16 bytes of tensors each are held.
  await waitFor('both requests queued', async () => (await agentMetric(g, 'edgefleet_agent_request_bytes{kind="tensors"}')) === 32 || undefined);
  const stop = g.agent.stop();

  const r = await rest;
  assert.equal(r.status, 503);
  assert.equal(r.json.code, 'NOT_READY');
  assert.match(r.json.error, /^the agent is stopping and its grace \(api\.stopGraceMs, 300 ms\) ended while this request waited for a run slot: it did not run; send it again once the agent is back$/);
  assert.equal(r.headers.get('retry-after'), '1');
  const e = await grpc;
  assert.equal(e.code, status.UNAVAILABLE);
  assert.deepEqual(e.metadata.get('error-code'), ['NOT_READY']);
  assert.match(e.details, /did not run/);
  assert.equal(limiter.depth, 0, 'both left the queue');
  free();
  await stop;
});
