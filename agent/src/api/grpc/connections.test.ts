// gRPC connections of an in-process agent (real installed bundle) against clients that hold a
// connection without speaking HTTP/2: a socket that never sends nor reads must not keep one of
// api.maxConnections for good (docs/agent.md "Limits"), or two such processes lock out every app.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { waitFor } from '@edgefleet/examples';
import type { Agent } from '../../agent.js';
import { makeKit, mlpBundle, startAgent, type Kit } from '../../testing.js';
import { oipClient } from './client.js';

/** One ModelReady call on a fresh client, given `ms` to answer: the answer, or undefined. */
async function readyWithin(target: string, ms: number): Promise<unknown> {
  const c = oipClient(target);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([c.call('ModelReady', { name: 'mlp' }), new Promise((resolve) => { timer = setTimeout(resolve, ms); })]).catch(() => undefined);
  } finally {
    clearTimeout(timer);
    c.close();
  }
}

describe('local API over gRPC: connections that hold a slot', () => {
  let kit: Kit;
  let agent: Agent;
  const socks: Socket[] = [];
  before(async () => {
    kit = makeKit();
    const b = await mlpBundle(kit, '1.0.0');
    agent = await startAgent(join(kit.dir, 'data'), {
      api: { host: '127.0.0.1', port: 0, maxConnections: 2, headersTimeoutMs: 200, keepAliveTimeoutMs: 200, requestTimeoutMs: 400, grpc: { enabled: true, port: 0 } },
    });
    agent.trust.put(kit.trust.doc, 1);
    await agent.manager.install(b.path);
  });
  after(async () => {
    for (const s of socks) s.destroy();
    await agent.stop();
    kit.cleanup();
  });

  it('closes connections that never send nor read, so a client within the cap is served again', async () => {
    const target = agent.grpcAddress!;
    const port = Number(target.slice(target.lastIndexOf(':') + 1));
    // Two sockets fill api.maxConnections: no HTTP/2 preface, and they never read the GOAWAY of the idle timeout.
    for (let i = 0; i < 2; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      socks.push(s);
    }
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await readyWithin(target, 300), undefined, 'the cap is full: a new client is not served');
    const answer = await waitFor('a client served once the silent connections are closed', () => readyWithin(target, 300), { timeoutMs: 3_000, intervalMs: 50 });
    assert.deepEqual(answer, { ready: true });
  });
});
