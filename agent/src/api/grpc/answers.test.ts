// The write deadline's gRPC watch (./answers.ts), in the call gate as the agent serves it, on a real
// grpc-js server and client: a call on a
// connection it was not told of (what a grpc-js whose ConnectionInfo no longer names our socket would
// give) is served, and said once in the log, not left unwatched without a word
// (docs/decisions/0072-grpc-write-deadline-public-api.md).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { WriteDeadline } from '../write-deadline.js';
import { RequestBudget } from '../budget.js';
import { AnswerWatch } from './answers.js';
import { callGate } from './service.js';
import { oipClient } from './client.js';
import { inferenceService } from './server.js';

/** A grpc-js server serving ServerLive through the watch, fed by a net.Server; `told` says whether the watch hears of each connection. */
async function serve(told: boolean): Promise<{ lines: string[]; target: string; stop(): Promise<void> }> {
  const lines: string[] = [];
  const watch = new AnswerWatch(new WriteDeadline(1_000, (msg) => lines.push(msg)), new WeakMap());
  const gate = callGate({ maxCalls: 8, inflight: new RequestBudget(1 << 20), requestTimeoutMs: 5000, maxBodyBytes: 1 << 20, answers: watch });
  const server = new Server({ interceptors: [gate.interceptor] });
  server.addService(inferenceService(), { ServerLive: (_call: unknown, cb: (err: null, res: object) => void) => cb(null, { live: true }) });
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  const sockets = new Set<Socket>();
  const tcp = createServer((s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    if (told) watch.connection(s);
    injector.injectConnection(s);
  });
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  return {
    lines,
    target: `127.0.0.1:${(tcp.address() as AddressInfo).port}`,
    async stop() {
      server.forceShutdown();
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => tcp.close(resolve));
    },
  };
}

describe('gRPC answers matched to their connections', () => {
  for (const told of [false, true]) {
    it(told ? 'matches the calls of a connection it was told of: nothing is logged' : 'serves a call on a connection it cannot match, and logs that once', async () => {
      const s = await serve(told);
      const c = oipClient(s.target);
      try {
        for (let i = 0; i < 3; i++) assert.deepEqual(await c.call('ServerLive', {}), { live: true });
        if (told) assert.deepEqual(s.lines, []);
        else {
          assert.equal(s.lines.length, 1, s.lines.join('\n'));
          assert.match(s.lines[0]!, /^a gRPC call matched none of the agent's connections .*api\.writeTimeoutMs does not watch its answers/);
        }
      } finally {
        c.close();
        await s.stop();
      }
    });
  }
});
