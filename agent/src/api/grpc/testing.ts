// What the tests of the gRPC API share (grpc.test.ts, ../bytes.test.ts, ../budget.test.ts): an
// in-process agent with gRPC on port 0 and the bundles a test installs, a client generated from the
// protocol's .proto on it, and the error of a call that is expected to fail.
import assert from 'node:assert/strict';
import { connect, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import type { ServiceError } from '@grpc/grpc-js';
import type { Agent } from '../../agent.js';
import type { AgentConfigInput } from '../../config.js';
import { makeKit, req, startAgent, type Kit } from '../../testing.js';
import { oipClient, type OipGrpcClient } from './client.js';
import { inferenceService } from './server.js';

/** A ModelInfer of "fill" for `n` ones (length-prefixed protobuf) on a raw HTTP/2 client, which reads only when the test does. */
export function grpcFill(session: ClientHttp2Session, n: number): ClientHttp2Stream {
  const body = inferenceService()['ModelInfer']!.requestSerialize({ model_name: 'fill', inputs: [{ name: 'n', datatype: 'INT64', shape: [1], contents: { int64_contents: [n] } }] });
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(body.length, 1);
  const st = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ModelInfer', 'content-type': 'application/grpc', te: 'trailers' });
  st.end(Buffer.concat([prefix, body]));
  return st;
}

/** One HTTP/2 request on a new session to `url` (or over the Unix socket `socketPath`): status, content-type and body. */
export function h2(url: string, headers: OutgoingHttpHeaders, socketPath?: string): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const session = socketPath === undefined ? connect(url) : connect(url, { createConnection: () => netConnect(socketPath) });
    session.on('error', reject);
    const st = session.request(headers);
    let head: IncomingHttpHeaders = {};
    let body = '';
    st.on('response', (h) => (head = h));
    st.on('data', (c: Buffer) => (body += c.toString()));
    st.on('end', () => {
      session.close();
      resolve({ status: Number(head[':status']), type: head['content-type'], body });
    });
    st.on('error', reject);
    st.end();
  });
}

/** The error a call ended with; fails the test when it succeeded. */
export async function refused(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as ServiceError;
  }
  assert.fail('expected the call to fail');
}

export interface GrpcAgent {
  kit: Kit;
  agent: Agent;
  client: OipGrpcClient;
  /** Closes the client, stops the agent (idempotent) and removes the kit's temp dir. */
  close(): Promise<void>;
}

type Over = Partial<AgentConfigInput>;

/**
 * A started agent (trust provisioned, `bundles` installed in order) with gRPC on 127.0.0.1 port 0 and
 * REST on port 0; `over` (or what it makes of the kit, e.g. a socket in its dir) is laid over that
 * (its `api` and `api.grpc` merged, not replaced).
 */
export async function startGrpcAgent(bundles: (kit: Kit) => Promise<ReadonlyArray<{ path: string }>>, overOf: Over | ((kit: Kit) => Over) = {}): Promise<GrpcAgent> {
  const kit = makeKit();
  try {
    const over = typeof overOf === 'function' ? overOf(kit) : overOf;
    const paths = (await bundles(kit)).map((b) => b.path);
    const api = { host: '127.0.0.1', port: 0, ...over.api, grpc: { enabled: true, port: 0, ...over.api?.grpc } };
    const agent = await startAgent(join(kit.dir, 'data'), { ...over, api });
    try {
      agent.trust.put(kit.trust.doc, 1);
      for (const p of paths) await agent.manager.install(p);
    } catch (err) {
      await agent.stop();
      throw err;
    }
    const client = oipClient(agent.grpcAddress!);
    return {
      kit,
      agent,
      client,
      async close() {
        client.close();
        await agent.stop();
        kit.cleanup();
      },
    };
  } catch (err) {
    kit.cleanup();
    throw err;
  }
}

/** A sample without labels, or with the labels written in `name`, from the agent's /metrics. */
export async function agentMetric(a: GrpcAgent, name: string): Promise<number> {
  const text = (await req(a.agent.url, 'GET', '/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `${name} on /metrics`);
  return Number(line.slice(name.length + 1));
}
