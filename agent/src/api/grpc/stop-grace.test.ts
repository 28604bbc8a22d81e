// SIGTERM's promise for gRPC (docs/agent.md "Stopping"): calls in progress get api.stopGraceMs to
// finish. The stop used to drain grpc-js' sessions and then ask tryShutdown to wait for them, which
// calls back at once for a session already closing: the agent went on to release its model sessions
// and exit, and every call in progress ended UNAVAILABLE "Connection dropped" within ms of the signal.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@edgefleet/examples';
import { mlpBundle } from '../../testing.js';
import { startGrpcAgent, type GrpcAgent } from './testing.js';

let g: GrpcAgent;
before(async () => {
  g = await startGrpcAgent(async (kit) => [await mlpBundle(kit, '1.0.0')], { api: { stopGraceMs: 4000 } });
});
after(() => g.close());

it('a call in progress when the agent stops is answered within api.stopGraceMs, and the stop waits for it', async () => {
  const { agent, client } = g;
  // Every run slot taken: the call waits in its model's queue, in progress, when the stop begins.
  const limiter = agent.runtime.limiterFor('mlp')!;
  const slots = limiter.active === 0 ? 4 : 0;
  for (let i = 0; i < slots; i++) assert.equal(limiter.acquire(), undefined);
  const call = client.call('ModelInfer', { model_name: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } }] });
  await waitFor('the call queued', () => limiter.depth === 1);
  let stopped = false;
  const stop = agent.stop().then(() => { stopped = true; });
  // Well inside the 4 s grace: the stop is still waiting for the call.
  await sleep(300);
  assert.equal(stopped, false, 'the stop did not wait for the call in progress');
  limiter.release();
  const answer = await call;
  assert.equal(answer['model_version'], '1.0.0');
  assert.equal(answer['outputs'][0].contents.fp32_contents.length, 3);
  for (let i = 1; i < slots; i++) limiter.release();
  await stop;
});
