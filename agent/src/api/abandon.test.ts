// Requests whose client has gone while they wait for a run slot (docs/agent.md "Limits"), on a real agent
// with a real model: with the model's one run slot held by the test, requests queue; a client that hangs
// up (REST over TCP and the Unix socket) or cancels its call (gRPC) takes its request out of the queue: it
// never reaches onnxruntime (every session run is logged here), its tensors leave the request budget at
// once (before the slot is freed), it is counted in edgefleet_agent_requests_abandoned_total, and the
// requests queued behind it run in order and are answered. A request already running is left to finish.
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request, type RequestOptions } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { waitFor } from '@edgefleet/examples/fleet';
import type { Agent } from '../agent.js';
import { holdRunSlot, pickBundle, req } from '../testing.js';
import type { OipGrpcClient } from './grpc/client.js';
import { startGrpcAgent, type GrpcAgent } from './grpc/testing.js';

const WAIT = { timeoutMs: 10_000, intervalMs: 10 };
const INFER = '/v2/models/pick/infer';


/** n indices (8n bytes of INT64 once parsed); 32 rows and more always run alone (the default max batch size). */
const pick = (n: number) => ({ inputs: [{ name: 'idx', datatype: 'INT64', shape: [n], data: new Array<number>(n).fill(0) }] });
const pickGrpc = (n: number) => ({ model_name: 'pick', inputs: [{ name: 'idx', datatype: 'INT64', shape: [n], contents: { int64_contents: new Array<number>(n).fill(0) } }] });

interface Posted { answer: Promise<{ status: number; rows: number }>; abort(): void }

/** POST over TCP or a Unix socket with node:http; abort() hangs up (the answer then rejects, ignored). */
function post(to: RequestOptions, body: unknown): Posted {
  let r!: ReturnType<typeof request>;
  const answer = new Promise<{ status: number; rows: number }>((resolve, reject) => {
    r = request({ ...to, path: INFER, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, rows: (JSON.parse(text) as { outputs?: Array<{ data: number[] }> }).outputs?.[0]?.data.length ?? -1 }));
    });
    r.on('error', reject);
    r.end(JSON.stringify(body));
  });
  answer.catch(() => undefined);
  return { answer, abort: () => r.destroy() };
}

describe('requests whose client has gone leave the queue without running', () => {
  let g: GrpcAgent;
  let agent: Agent;
  let client: OipGrpcClient;
  let sockDir: string;
  let socket: string;
  /** The rows of every session run since the test began, in order. */
  let runs: number[] = [];
  /** While set, session runs wait for it before they start (a request "running" for as long as the test wants). */
  let gate: Promise<void> | undefined;
  before(async () => {
    sockDir = mkdtempSync(join(tmpdir(), 'ef-abandon-'));
    socket = join(sockDir, 'api.sock');
    g = await startGrpcAgent(async (kit) => [await pickBundle(kit)], { api: { socket }, concurrency: { perModel: 1, queue: 8 } });
    ({ agent, client } = g);
    const session = agent.runtime.active('pick')!.session;
    const run = session.run.bind(session);
    session.run = async (feeds, fetches) => {
      runs.push(feeds.idx!.dims[0]!);
      if (gate) await gate;
      return run(feeds, fetches);
    };
  });
  after(async () => {
    await g.close();
    rmSync(sockDir, { recursive: true, force: true });
  });
  beforeEach(() => {
    runs = [];
  });

  async function metrics(): Promise<{ tensors: number; abandoned: number }> {
    const text = (await req(agent.url, 'GET', '/metrics')).text;
    const tensors = Number(/^edgefleet_agent_request_bytes\{kind="tensors"\} (-?\d+)$/m.exec(text)?.[1]);
    const abandoned = Number(/^edgefleet_agent_requests_abandoned_total\{model="pick",version="1\.0\.0"\} (\d+)$/m.exec(text)?.[1] ?? 0);
    return { tensors, abandoned };
  }
  const holding = (tensors: number) => waitFor(`${tensors} bytes of tensors held`, async () => {
    const m = await metrics();
    return m.tensors === tensors ? m : undefined;
  }, WAIT);
  const holdSlot = () => holdRunSlot(agent, 'pick');

  /** Three requests queue (40, 48, 56 rows); the middle one's client goes; the others are served in order. */
  async function scenario(send: (n: number) => { answer: Promise<number>; abort(): void }): Promise<void> {
    const before = await metrics();
    const slot = holdSlot();
    try {
      const a = send(40);
      await holding(320);
      const b = send(48);
      await holding(704);
      const c = send(56);
      await holding(1152);
      assert.equal(agent.runtime.queueDepth('pick'), 3);
      b.abort();
      // Out of the budget and the queue at once: the slot is still held.
      const m = await holding(768);
      assert.equal(m.abandoned, before.abandoned + 1, 'counted');
      assert.equal(agent.runtime.queueDepth('pick'), 2);
      assert.equal(agent.runtime.active('pick')!.pins, 2, 'its version pin is dropped');
      slot.free();
      assert.deepEqual(await Promise.all([a.answer, c.answer]), [40, 56], 'the clients that stayed are answered');
    } finally {
      slot.free();
    }
    assert.deepEqual(runs, [40, 56], 'the abandoned request never ran; the others ran in order');
    assert.deepEqual(await metrics(), { tensors: 0, abandoned: before.abandoned + 1 });
    assert.equal(agent.runtime.active('pick')!.pins, 0);
  }

  const rest = (to: RequestOptions) => (n: number) => {
    const p = post(to, pick(n));
    const answer = p.answer.then((r) => {
      assert.equal(r.status, 200);
      return r.rows;
    });
    answer.catch(() => undefined); // the aborted one's
    return { answer, abort: p.abort };
  };

  it('REST over TCP: a client that hangs up while queued', () => scenario(rest({ host: '127.0.0.1', port: Number(new URL(agent.url).port) })));

  it('REST over the Unix socket: a client that hangs up while queued', () => scenario(rest({ socketPath: socket })));

  it('gRPC: a call cancelled while queued', async () => {
    const cancelled: Array<Promise<ServiceError | null>> = [];
    await scenario((n) => {
      let call!: ClientUnaryCall;
      const answer = new Promise<number>((resolve, reject) => {
        call = (client.raw as unknown as Record<string, (r: unknown, cb: (e: ServiceError | null, res?: { outputs: Array<{ contents: { fp32_contents: number[] } }> }) => void) => ClientUnaryCall>).ModelInfer!(pickGrpc(n), (e, res) => (e ? reject(e) : resolve(res!.outputs[0]!.contents.fp32_contents.length)));
      });
      return {
        answer,
        abort: () => {
          cancelled.push(answer.then(() => null, (e: ServiceError) => e));
          call.cancel();
        },
      };
    });
    assert.equal((await cancelled[0])?.code, status.CANCELLED);
  });

  it('batched requests: a member leaves its waiting batch, and a batch left empty leaves the queue', async () => {
    const before = await metrics();
    const to = { host: '127.0.0.1', port: Number(new URL(agent.url).port) };
    const slot = holdSlot();
    try {
      // One row count under the max batch size: they gather in one batch waiting for the slot.
      const a = post(to, pick(3));
      await holding(24);
      const b = post(to, pick(5));
      await holding(64);
      const c = post(to, pick(7));
      await holding(120);
      b.abort();
      await holding(80);
      slot.free();
      assert.deepEqual((await Promise.all([a.answer, c.answer])).map((r) => [r.status, r.rows]), [[200, 3], [200, 7]]);
      assert.deepEqual(runs, [10], 'one batched run of the two that stayed');
      // A batch whose only member goes leaves the limiter's queue.
      const slot2 = holdSlot();
      try {
        const d = post(to, pick(2));
        await holding(16);
        assert.equal(agent.runtime.limiterFor('pick')!.depth, 1);
        d.abort();
        await holding(0);
        assert.equal(agent.runtime.limiterFor('pick')!.depth, 0);
        assert.equal(agent.runtime.queueDepth('pick'), 0);
      } finally {
        slot2.free();
      }
    } finally {
      slot.free();
    }
    assert.deepEqual(runs, [10], 'the abandoned ones never ran');
    assert.equal((await metrics()).abandoned, before.abandoned + 2);
    assert.equal((await req(agent.url, 'POST', INFER, pick(4))).status, 200, 'served again');
  });

  it('a request already running when its client goes is left to finish', async () => {
    const before = await metrics();
    let open!: () => void;
    gate = new Promise<void>((resolve) => (open = resolve));
    try {
      const a = post({ socketPath: socket }, pick(40));
      await waitFor('the run started', () => (runs.length === 1 ? true : undefined), WAIT);
      a.abort();
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal((await metrics()).tensors, 320, 'running: its tensors are held until the run ends');
    } finally {
      gate = undefined;
      open();
    }
    await holding(0);
    assert.deepEqual(runs, [40]);
    assert.equal((await metrics()).abandoned, before.abandoned, 'not counted as abandoned');
    assert.equal(agent.runtime.limiterFor('pick')!.active, 0);
  });
});
