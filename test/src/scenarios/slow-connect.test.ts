// Fault test (a slow satellite link, docs/agent.md "Connecting to a hub"): the agent reaches the hub's
// embedded broker (aedes) through a TCP proxy that holds every chunk 6 s each way, so CONNECT to CONNACK
// takes over 12 s. With the connect timeout fixed at 10 s every attempt was cut before its CONNACK and
// the box never came online; now the attempt that timed out doubles the next one's limit
// (agent/src/sync/connect-timeout.ts) and the second attempt connects.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startAgent, waitFor } from '@edgefleet/examples/fleet';
import { proxiedDevice } from './proxied-device.js';

const DELAY_MS = 6000;

describe('slow connect', () => {
  const c = proxiedDevice('slow-connect');

  it('a link whose CONNACK takes longer than 10 s connects on a later attempt with a longer limit', async () => {
    c.proxy.configure({ delayMs: DELAY_MS });
    const t0 = Date.now();
    const agent = c.agent = await startAgent({ dataDir: c.dev.dataDir, config: { sync: { brokerUrl: `mqtt://127.0.0.1:${c.proxy.port}`, reconnectMs: 300 } } });
    const printed = () => agent.process.output().stderr + agent.process.output().stdout;
    // The hub marks the box online at its CONNECT, which arrives in 6 s: the agent's own word is what counts.
    await waitFor('connected through the slow link', () => Promise.resolve(printed().includes('"msg":"connected to hub"') || undefined), { timeoutMs: 150_000, intervalMs: 500 });
    const timeouts = printed().split('\n').filter((l) => l.includes('connack timeout'));
    process.stderr.write(`slow-connect: online after ${Date.now() - t0} ms, ${c.proxy.accepted} attempts, ${timeouts.length} timed out\n`);
    assert.ok(timeouts.length >= 1, 'the first attempt timed out at 10 s');
    assert.match(timeouts[0]!, /"connectTimeoutMs":20000/, 'and the next one was given 20 s');
    assert.ok(c.proxy.accepted <= 3, `connected within a few attempts (${c.proxy.accepted})`);
  });
});
