// The write deadline (api.writeTimeoutMs) per gRPC answer, on an in-process agent with a real model whose
// answer is as large as a test asks ("fill") and real HTTP/2 clients (docs/agent.md "Limits"): a client
// that leaves one answer unread while its connection stays busy (PINGs, new calls it reads) has that
// connection closed within the deadline (TCP and the Unix socket, whose calls are matched differently), and at api.grpc.maxConcurrentStreams stalled answers no more
// than that many are held at once.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { waitFor } from '@edgefleet/examples';
import { fillBundle } from '../../testing.js';
import { agentMetric, grpcFill, startGrpcAgent, type GrpcAgent } from './testing.js';
import { inferenceService } from './server.js';

// Long enough for the agent to run and write api.grpc.maxConcurrentStreams answers on a loaded box.
const DEADLINE_MS = 3_000;
/** A sweep lands between 1 and 1.25 deadlines after an answer was written, plus a loaded CI box. */
const CLOSE_WITHIN_MS = DEADLINE_MS * 1.25 + 2_000;
const STREAMS = 4;

const timeouts = (a: GrpcAgent) => agentMetric(a, 'edgefleet_agent_write_timeouts_total{transport="grpc"}');
const pending = (a: GrpcAgent) => agentMetric(a, 'edgefleet_agent_answer_bytes_pending');

/** A client whose connection window is large: a stream it leaves paused does not hold up the others. */
async function busyClient(a: GrpcAgent, socket?: string): Promise<{ session: ClientHttp2Session; closed: Promise<number> }> {
  const session = socket === undefined ? h2connect(`http://${a.agent.grpcAddress!}`) : h2connect('http://localhost', { createConnection: () => connect(socket) });
  session.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => session.once('close', () => resolve(Date.now())));
  await new Promise((resolve) => session.once('remoteSettings', resolve));
  session.setLocalWindowSize(256 * 1024 * 1024);
  return { session, closed };
}

/** ServerLive on a raw stream, read whole: true when it was answered. */
function live(session: ClientHttp2Session): Promise<boolean> {
  const st = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ServerLive', 'content-type': 'application/grpc', te: 'trailers' });
  const body = inferenceService()['ServerLive']!.requestSerialize({});
  st.end(Buffer.concat([Buffer.from([0, 0, 0, 0, body.length]), body]));
  st.on('error', () => undefined);
  st.resume();
  return new Promise((resolve) => {
    st.once('trailers', (t) => resolve(t['grpc-status'] === '0'));
    st.once('close', () => resolve(false));
  });
}

/** Until `stop`, a PING every 100 ms, and ServerLive calls one after another; resolves with how many of each were answered. */
async function keepBusy(session: ClientHttp2Session, stop: Promise<unknown>): Promise<{ pings: number; calls: number }> {
  let over = false;
  const n = { pings: 0, calls: 0 };
  const pinger = setInterval(() => {
    if (!session.destroyed) session.ping((err) => { if (!err) n.pings++; });
  }, 100);
  // A call may wait for a stream the server does not grant (at api.grpc.maxConcurrentStreams): not past `stop`.
  const stopped = stop.then(() => { over = true; });
  while (!over && !session.destroyed) {
    if (await Promise.race([live(session), stopped.then(() => false)])) n.calls++;
    await delay(100);
  }
  clearInterval(pinger);
  return n;
}

describe('local API over gRPC: the write deadline per answer', () => {
  let a: GrpcAgent;
  let socket: string;
  before(async () => {
    a = await startGrpcAgent(async (kit) => [await fillBundle(kit)], (kit) => {
      socket = join(kit.dir, 'grpc.sock');
      return { api: { writeTimeoutMs: DEADLINE_MS, grpc: { maxConcurrentStreams: STREAMS, socket } }, concurrency: { perModel: 1, queue: 64 } };
    });
  });
  after(() => a.close());

  for (const via of ['TCP', 'the Unix socket'] as const) it(`closes a connection (${via}) kept busy with PINGs and new calls while one answer sits unread`, async () => {
    const was = await timeouts(a);
    const { session, closed } = await busyClient(a, via === 'TCP' ? undefined : socket);
    // 2 M floats (8 MB): its stream is paused, so its window stays at 0 past the first 64 KiB.
    const st = grpcFill(session, 2_000_000);
    st.pause();
    st.on('error', () => undefined);
    await new Promise((resolve) => st.once('response', resolve));
    const queued = Date.now();
    // NaN, which fails below, when it is not closed.
    const end = Promise.race([closed, delay(CLOSE_WITHIN_MS + 1_000, Number.NaN, { ref: false })]);
    const busy = keepBusy(session, end);
    const at = await end;
    const { pings, calls } = await busy;
    session.destroy();
    // The connection moved all along: PING acks and the answers of the calls it read.
    assert.ok(pings >= 3 && calls >= 3, `the client kept its connection busy (${pings} PINGs, ${calls} calls answered)`);
    assert.ok(at - queued <= CLOSE_WITHIN_MS, `closed ${at - queued} ms after the answer was written; expected within ${CLOSE_WITHIN_MS}`);
    assert.ok(at - queued >= DEADLINE_MS - 100, `not before the deadline (${at - queued} ms)`);
    assert.equal(await timeouts(a), was + 1);
    await waitFor('nothing held once the connection is closed', async () => ((await pending(a)) === 0 ? true : undefined), { timeoutMs: 2_000, intervalMs: 20 });
  });

  it(`holds at most api.grpc.maxConcurrentStreams (${STREAMS}) unread answers of a connection, and lets them go within the deadline`, async () => {
    const was = await timeouts(a);
    const { session, closed } = await busyClient(a);
    // One more than the cap: the last waits for a stream the server does not grant.
    const streams = Array.from({ length: STREAMS + 1 }, () => grpcFill(session, 250_000));
    for (const st of streams) {
      st.pause();
      st.on('error', () => undefined);
    }
    const end = Promise.race([closed, delay(CLOSE_WITHIN_MS * 2, Number.NaN, { ref: false })]);
    const busy = keepBusy(session, end);
    let most = 0;
    let sampling = true;
    const sampled = (async () => {
      while (sampling) {
        most = Math.max(most, await pending(a));
        await delay(50);
      }
    })();
    const at = await end;
    sampling = false;
    await sampled;
    await busy;
    session.destroy();
    const answer = 1_000_000;
    assert.ok(most >= (STREAMS - 1) * answer, `the stalled answers were held (${most} bytes at most)`);
    assert.ok(most <= STREAMS * answer * 1.01, `at most ${STREAMS} answers of ${answer} bytes held at once, not ${most} bytes`);
    assert.ok(!Number.isNaN(at), 'the connection was closed');
    assert.equal(await timeouts(a), was + 1);
    await waitFor('nothing held once the connection is closed', async () => ((await pending(a)) === 0 ? true : undefined), { timeoutMs: 2_000, intervalMs: 20 });
  });
});
