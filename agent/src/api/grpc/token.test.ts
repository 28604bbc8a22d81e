// api.token on gRPC, end to end: a real grpc-js client against a real agent with the token set. A client off
// the box without "authorization: Bearer <token>" metadata, or with a wrong one, is refused UNAUTHENTICATED
// naming what is expected; with the right one it is served; loopback and Unix socket clients are never asked
// (docs/agent.md "Local API (OIP v2)"). Tests bind 127.0.0.1 only, so the agent's side of each connection to
// its gRPC port reads a remote address off the box, 10.1.2.3, as auth.test.ts presents REST's requests: the
// agent's decision is under test, not the kernel's routing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Server, type AddressInfo, type Socket } from 'node:net';
import { Metadata, status } from '@grpc/grpc-js';
import { mlpBundle } from '../../testing.js';
import { oipClient, type OipGrpcClient } from './client.js';
import { refused, startGrpcAgent, type GrpcAgent } from './testing.js';

const TOKEN = 'grpc-local-token-123';
const REFUSAL = 'missing or wrong bearer token: expected "authorization: Bearer <token>" metadata from a non-loopback client';

const bearer = (auth: string) => {
  const md = new Metadata();
  md.set('authorization', auth);
  return md;
};

describe('gRPC with api.token, from a client off the box', () => {
  let g: GrpcAgent;
  let socket: string;
  let port: number;
  let offBox = true;
  let ours: ((this: Server, event: string | symbol, ...args: unknown[]) => boolean) | undefined;
  before(async () => {
    g = await startGrpcAgent(async (kit) => [await mlpBundle(kit, '1.0.0')], (kit) => {
      socket = join(kit.dir, 'grpc.sock');
      return { api: { token: TOKEN, grpc: { socket } } };
    });
    port = Number(g.agent.grpcAddress!.split(':').pop());
    // Each connection the agent's gRPC port accepts is from 10.1.2.3 (its remote address, read by the token check).
    const emit = Server.prototype.emit as NonNullable<typeof ours>;
    ours = function (event, ...args) {
      if (event === 'connection' && offBox && (this.address() as AddressInfo | null)?.port === port) {
        Object.defineProperty(args[0] as Socket, 'remoteAddress', { value: '10.1.2.3', configurable: true });
      }
      return emit.call(this, event, ...args);
    };
    (Server.prototype as { emit: typeof ours }).emit = ours;
  });
  after(async () => {
    if (Server.prototype.emit === ours) delete (Server.prototype as Partial<Server>).emit;
    await g.close();
  });

  it('refuses a call without the token UNAUTHENTICATED, naming what is expected', async () => {
    const err = await refused(g.client.call('ModelReady', { name: 'mlp' }, undefined, 5000));
    assert.deepEqual([err.code, err.details, err.metadata.get('error-code')[0]], [status.UNAUTHENTICATED, REFUSAL, 'UNAUTHENTICATED']);
  });

  it('refuses a wrong token, another scheme, and one too long the same way, on every kind of call', async () => {
    for (const auth of ['Bearer wrong-token-xyz', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, `Bearer ${'x'.repeat(4000)}`]) {
      for (const [method, message] of [['ModelReady', { name: 'mlp' }], ['ServerMetadata', {}], ['ModelInfer', { model_name: 'mlp', inputs: [] }]] as const) {
        const err = await refused(g.client.call(method, message, bearer(auth), 5000));
        assert.deepEqual([err.code, err.details], [status.UNAUTHENTICATED, REFUSAL], `${method} with ${auth.slice(0, 30)}`);
      }
    }
  });

  it('serves a call with the right token, on the same connection as the refused ones', async () => {
    assert.deepEqual(await g.client.call('ModelReady', { name: 'mlp' }, bearer(`Bearer ${TOKEN}`), 5000), { ready: true });
  });

  it('never asks a client on the Unix socket (its file permissions decided)', async () => {
    let c: OipGrpcClient | undefined;
    try {
      c = oipClient(`unix://${socket}`);
      assert.deepEqual(await c.call('ModelReady', { name: 'mlp' }, undefined, 5000), { ready: true });
    } finally {
      c?.close();
    }
  });

  it('never asks a loopback client', async () => {
    offBox = false;
    // A connection of its own: grpc-js would share the off-box client's.
    const c = oipClient(g.agent.grpcAddress!, { 'grpc.use_local_subchannel_pool': 1 });
    try {
      assert.deepEqual(await c.call('ModelReady', { name: 'mlp' }, undefined, 5000), { ready: true });
    } finally {
      c.close();
    }
  });
});
