// Parsed request tensors in the request budget (api.maxInflightBodyBytes, budget.ts), on a real agent
// with a real model: "pick" gathers from a table by INT64 indices, so a JSON body of n zeros ("0," is 2
// bytes) parses into 8n bytes of tensors, and an index off the table fails the run in onnxruntime. With
// the model's one run slot held, requests wait in its queue holding their tensors: the budget takes them
// up to the limit exactly over REST (JSON and binary), the Unix socket and gRPC, refuses the next one
// (503 / UNAVAILABLE, or 413 / RESOURCE_EXHAUSTED for one that could never fit), and is back to zero
// after requests are answered and fail in the run, and at once when their clients give them up while
// they wait (abandon.test.ts has the rest of that).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { waitFor } from '@edgefleet/examples/fleet';
import type { Agent } from '../agent.js';
import { holdRunSlot, pickBundle, req } from '../testing.js';
import type { OipGrpcClient } from './grpc/client.js';
import { refused, startGrpcAgent, type GrpcAgent } from './grpc/testing.js';
import { openRaw } from './raw-client.js';

const LIMIT = 3072; // three requests of 128 indices (1024 bytes of INT64 each)
const WAIT = { timeoutMs: 10_000, intervalMs: 10 };


const pick = (n: number, value = 0) => ({ inputs: [{ name: 'idx', datatype: 'INT64', shape: [n], data: new Array<number>(n).fill(value) }] });
const pickGrpc = (n: number) => ({ model_name: 'pick', inputs: [{ name: 'idx', datatype: 'INT64', shape: [n], contents: { int64_contents: new Array<number>(n).fill(0) } }] });
const INFER = '/v2/models/pick/infer';

/** POST over a Unix socket, as a local app would. */
function postUnix(socketPath: string, body: unknown): Promise<{ status: number; json: { error?: string; code?: string; outputs?: Array<{ data: number[] }> } }> {
  return new Promise((resolve, reject) => {
    const r = request({ socketPath, path: INFER, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as never }));
    });
    r.on('error', reject);
    r.end(JSON.stringify(body));
  });
}

/** A binary tensor request (binary.ts): n INT64 zeros as raw bytes after the JSON header. */
function postBinary(base: string, n: number) {
  const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'idx', datatype: 'INT64', shape: [n], parameters: { binary_data_size: 8 * n } }] }));
  return fetch(base + INFER, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
    body: Buffer.concat([header, Buffer.alloc(8 * n)]),
  }).then(async (r) => ({ status: r.status, json: await r.json() as { error?: string; code?: string } }));
}

describe('parsed request tensors in the request budget', () => {
  let g: GrpcAgent;
  let agent: Agent;
  let client: OipGrpcClient;
  let sockDir: string;
  let socket: string;
  before(async () => {
    sockDir = mkdtempSync(join(tmpdir(), 'ef-budget-'));
    socket = join(sockDir, 'api.sock');
    // gRPC's own bound: maxCalls × maxBodyBytes (4 × 2 KiB) within 4 × LIMIT.
    g = await startGrpcAgent(async (kit) => [await pickBundle(kit)], {
      api: { maxBodyBytes: 2048, maxInflightBodyBytes: LIMIT, socket, grpc: { maxCalls: 4 } },
      concurrency: { perModel: 1, queue: 8 },
    });
    ({ agent, client } = g);
  });
  after(async () => {
    await g.close();
    rmSync(sockDir, { recursive: true, force: true });
  });

  /** What /metrics says the budget holds. */
  async function held(): Promise<{ bodies: number; tensors: number }> {
    const text = (await req(agent.url, 'GET', '/metrics')).text;
    const of = (kind: string) => Number(new RegExp(`^edgefleet_agent_request_bytes\\{kind="${kind}"\\} (-?\\d+)$`, 'm').exec(text)?.[1]);
    return { bodies: of('bodies'), tensors: of('tensors') };
  }
  const holding = (tensors: number) => waitFor(`${tensors} bytes of tensors held, no body`, async () => {
    const h = await held();
    return h.tensors === tensors && h.bodies === 0 ? h : undefined;
  }, WAIT);
  const holdSlot = () => holdRunSlot(agent, 'pick');

  it('counts what a body parses into, not its bytes: a request whose tensors alone pass the limit is 413 / RESOURCE_EXHAUSTED', async () => {
    const body = JSON.stringify(pick(385));
    assert.ok(Buffer.byteLength(body) < 1000 && Buffer.byteLength(body) < LIMIT / 3, `a ${Buffer.byteLength(body)}-byte body fits the budget thrice`);
    const message = `request tensors take 3080 bytes once parsed: expected at most ${LIMIT} (api.maxInflightBodyBytes, for every request held at once); send fewer rows per request`;
    const r = await req(agent.url, 'POST', INFER, body);
    assert.deepEqual([r.status, r.json], [413, { error: message, code: 'PAYLOAD_TOO_LARGE' }]);
    const e = await refused(client.call('ModelInfer', pickGrpc(385)));
    assert.deepEqual([e.code, e.details, e.metadata.get('error-code')[0]], [status.RESOURCE_EXHAUSTED, message, 'PAYLOAD_TOO_LARGE']);
    assert.deepEqual(await held(), { bodies: 0, tensors: 0 });
  });

  it('holds queued requests\' tensors up to the limit exactly over REST, gRPC and the Unix socket, refuses past it, and is back to 0 once they are answered', async () => {
    const slot = holdSlot();
    let answered: Array<unknown> = [];
    try {
      const a = req(agent.url, 'POST', INFER, pick(128));
      await holding(1024);
      const b = client.call('ModelInfer', pickGrpc(128));
      await holding(2048);
      // 8 bytes past the limit once parsed (its body fits beside what is held): refused after parsing, on every transport.
      const over = (n: number) => `this request's tensors take ${n} bytes once parsed; the agent holds 2048 bytes of requests (0 of bodies being read, 2048 of parsed tensors waiting or running; limit ${LIMIT}, api.maxInflightBodyBytes); retry later`;
      const unixOver = await postUnix(socket, pick(129));
      assert.deepEqual([unixOver.status, unixOver.json], [503, { error: over(1032), code: 'OVERLOADED' }]);
      const grpcOver = await refused(client.call('ModelInfer', pickGrpc(129)));
      assert.deepEqual([grpcOver.code, grpcOver.details], [status.UNAVAILABLE, over(1032)]);
      // Exactly at the limit: taken.
      const c = postUnix(socket, pick(128));
      await holding(LIMIT);
      assert.equal(agent.runtime.queueDepth('pick'), 3, 'three requests wait for the run slot');
      // Full: a REST body is refused before it is read, a gRPC call before its message is.
      const full = `the agent holds ${LIMIT} bytes of requests (0 of bodies being read, ${LIMIT} of parsed tensors waiting or running; limit ${LIMIT}, api.maxInflightBodyBytes); retry later`;
      const rest = await req(agent.url, 'POST', INFER, pick(1));
      assert.deepEqual([rest.status, rest.json, rest.headers.get('retry-after')], [503, { error: full, code: 'OVERLOADED' }, '1']);
      const call = await refused(client.call('ModelInfer', pickGrpc(1)));
      assert.deepEqual([call.code, call.details], [status.UNAVAILABLE, full]);
      slot.free();
      answered = await Promise.all([a, b, c]);
    } finally {
      slot.free();
    }
    const [ra, rb, rc] = answered as [Awaited<ReturnType<typeof req>>, { outputs: Array<{ contents: { fp32_contents: number[] } }> }, Awaited<ReturnType<typeof postUnix>>];
    assert.equal(ra.status, 200, ra.text);
    assert.deepEqual(ra.json.outputs[0].data, new Array(128).fill(10));
    assert.equal(rb.outputs[0]!.contents.fp32_contents.length, 128);
    assert.equal(rc.status, 200);
    assert.deepEqual(await held(), { bodies: 0, tensors: 0 });
  });

  it('counts a binary request by its tensors, not its body, while it waits', async () => {
    const slot = holdSlot();
    try {
      const r = postBinary(agent.url, 128); // a body of the JSON header and 1024 raw bytes
      await holding(1024);
      slot.free();
      assert.equal((await r).status, 200);
    } finally {
      slot.free();
    }
    assert.deepEqual(await held(), { bodies: 0, tensors: 0 });
  });

  it('is back to 0 after a request fails in its run, and after clients give up on queued requests (REST and gRPC)', async () => {
    const slot = holdSlot();
    let failed: Awaited<ReturnType<typeof req>> | undefined;
    let cancelled: ServiceError | null = null;
    try {
      // An index off the table: valid input, refused by onnxruntime when it runs.
      const bad = req(agent.url, 'POST', INFER, pick(128, 7));
      await holding(1024);
      // A REST client that sends its whole request and hangs up while it waits.
      const quitter = await openRaw(Number(new URL(agent.url).port));
      const body = JSON.stringify(pick(128));
      await quitter.write(`POST ${INFER} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      await holding(2048);
      quitter.destroy();
      // A gRPC client that cancels its call while it waits.
      const ended = new Promise<ServiceError | null>((resolve) => {
        const c = (client.raw as unknown as Record<string, (r: unknown, cb: (e: ServiceError | null) => void) => ClientUnaryCall>).ModelInfer!(pickGrpc(128), resolve);
        void holding(LIMIT).then(() => c.cancel(), () => c.cancel());
      });
      cancelled = await ended;
      // Given up on while queued: they leave the queue and their tensors the budget, before the slot is freed.
      await holding(1024);
      assert.equal(agent.runtime.queueDepth('pick'), 1, 'only the failing request waits');
      slot.free();
      failed = await bad;
      await holding(0);
    } finally {
      slot.free();
    }
    assert.equal(cancelled?.code, status.CANCELLED);
    assert.equal(failed.status, 500, failed.text);
    assert.equal(failed.json.code, 'INFERENCE_FAILED');
    assert.equal(agent.runtime.queueDepth('pick'), 0);
    assert.equal((await req(agent.url, 'POST', INFER, pick(128))).status, 200, 'served again');
    assert.deepEqual(await held(), { bodies: 0, tensors: 0 });
  });
});
