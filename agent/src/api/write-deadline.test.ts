// The write deadline (api.writeTimeoutMs, docs/agent.md "Limits") on an in-process agent with a real
// model whose answer is as large as a test asks ("fill"): a client that never reads its answers (REST: a
// raw socket that never reads; gRPC: a real HTTP/2 client whose streams keep their flow-control window at
// 0) has its connection closed within the deadline and what the answers held is released; a client that
// reads slowly but steadily, and a request that waits long for its run, are not cut. Closes are counted
// each and logged at most once a minute. (gRPC per answer, with clients that keep the connection busy: ./grpc/answer-deadline.test.ts.)
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect as h2connect } from 'node:http2';
import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { waitFor } from '@edgefleet/examples';
import { fillBundle, holdRunSlot, req } from '../testing.js';
import { agentMetric, grpcFill, startGrpcAgent, type GrpcAgent } from './grpc/testing.js';
import { ApiServer } from './server.js';
import { WriteDeadline } from './write-deadline.js';

const DEADLINE_MS = 1_500;
/** Where a close is looked for: a sweep lands between 1 and 1.25 deadlines after the bytes last moved, plus a loaded CI box. */
const CLOSE_WITHIN_MS = DEADLINE_MS * 1.25 + 2_000;

const timeouts = (a: GrpcAgent, transport: 'rest' | 'grpc') => agentMetric(a, `edgefleet_agent_write_timeouts_total{transport="${transport}"}`);
const pending = (a: GrpcAgent) => agentMetric(a, 'edgefleet_agent_answer_bytes_pending');

/** A REST infer for `n` ones on a raw socket, left paused: nothing is read unless the test reads it. */
function restInfer(port: number, n: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // A buffer of 1 MiB (node's Duplex option, which @types/node's connect options leave out): a reader whose
    // tick comes late takes what it missed (readSlowly), not 64 KiB a tick.
    const options = { port, host: '127.0.0.1', readableHighWaterMark: 1 << 20 };
    const s = connect(options, () => {
      const body = JSON.stringify({ inputs: [{ name: 'n', datatype: 'INT64', shape: [1], data: [n] }] });
      s.write(`POST /v2/models/fill/infer HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
      resolve(s);
    });
    s.pause();
    s.on('error', reject);
  });
}

/**
 * Reads `chunk` bytes every `everyMs` from a paused stream until it ends, closes or has `enough`; resolves with what
 * was read. A tick that comes late (a loaded machine) reads for the time that passed, so the pace holds.
 */
function readSlowly(s: Readable, chunk: number, everyMs: number, enough?: (bytes: number, head: string) => boolean): Promise<{ bytes: number; head: string }> {
  return new Promise((resolve) => {
    let bytes = 0;
    let head = '';
    const done = () => {
      clearInterval(t);
      resolve({ bytes, head });
    };
    let last = Date.now();
    const t = setInterval(() => {
      const now = Date.now();
      const budget = Math.max(chunk, Math.round((chunk * (now - last)) / everyMs));
      last = now;
      let got = 0;
      for (let b = s.read() as Buffer | null; b !== null; b = got < budget ? (s.read() as Buffer | null) : null) {
        got += b.length;
        if (head.length < 512) head += b.subarray(0, 512).toString('latin1');
      }
      bytes += got;
      if (enough?.(bytes, head)) done();
    }, everyMs);
    s.on('end', done);
    // Cut: what was read so far, which the test finds short.
    s.on('close', done);
    s.on('error', () => undefined);
  });
}

describe('local API write deadline (api.writeTimeoutMs)', () => {
  let a: GrpcAgent;
  let port: number;
  before(async () => {
    a = await startGrpcAgent(async (kit) => [await fillBundle(kit)], { api: { writeTimeoutMs: DEADLINE_MS }, concurrency: { perModel: 1, queue: 64 } });
    port = Number(new URL(a.agent.url).port);
  });
  after(() => a.close());

  it('closes a gRPC connection that never reads its answer, and the bytes it held are released', async () => {
    const was = await timeouts(a, 'grpc');
    const session = h2connect(`http://${a.agent.grpcAddress!}`);
    session.on('error', () => undefined);
    const closed = new Promise<number>((resolve) => session.once('close', () => resolve(Date.now())));
    // An answer of 4 M floats (16 MB): the stream is paused, so its window stays at 0 past the first 64 KiB.
    const st = grpcFill(session, 4_000_000);
    st.pause();
    st.on('error', () => undefined);
    await new Promise((resolve) => st.once('response', resolve));
    const queued = Date.now();
    const held = await waitFor('the answer waits for the client', async () => {
      const n = await pending(a);
      return n > 15e6 ? n : undefined;
    }, { timeoutMs: 1_000, intervalMs: 20 });
    assert.ok(held > 15e6, `answer bytes held: ${held}`);
    // NaN, which fails below, when it is not closed.
    const at = await Promise.race([closed, delay(CLOSE_WITHIN_MS + 1_000, Number.NaN, { ref: false })]);
    assert.ok(at - queued <= CLOSE_WITHIN_MS, `closed ${at - queued} ms after the answer was queued; expected within ${CLOSE_WITHIN_MS}`);
    assert.ok(at - queued >= DEADLINE_MS - 100, `not before the deadline (${at - queued} ms)`);
    assert.equal(await timeouts(a, 'grpc'), was + 1);
    await waitFor('nothing held once the connection is closed', async () => ((await pending(a)) === 0 ? true : undefined), { timeoutMs: 2_000, intervalMs: 20 });
  });

  it('does not cut a gRPC client that reads slowly, each answer within the deadline', async () => {
    const was = await timeouts(a, 'grpc');
    const session = h2connect(`http://${a.agent.grpcAddress!}`);
    session.on('error', () => undefined);
    try {
      // Answers of 1 MB, one after another, read at 128 KiB every 50 ms (2.5 MB/s): about 0.4 s each, and
      // longer than the deadline together.
      const started = Date.now();
      let bytes = 0;
      for (let i = 0; i < 5; i++) {
        const st = grpcFill(session, 250_000);
        st.pause();
        const trailers = new Promise<Record<string, unknown>>((resolve) => {
          st.once('trailers', resolve);
          st.once('close', () => resolve({}));
        });
        bytes += (await readSlowly(st, 128 * 1024, 50)).bytes;
        assert.equal((await trailers)['grpc-status'], '0');
      }
      assert.ok(Date.now() - started > DEADLINE_MS, `the reads took ${Date.now() - started} ms: longer than the deadline`);
      assert.ok(bytes > 5e6, `read ${bytes} bytes`);
      assert.equal(await timeouts(a, 'grpc'), was, 'not closed');
    } finally {
      session.close();
    }
  });

  it('closes a REST connection that never reads its answer, and releases what it held', async () => {
    // 8 M ones are 16 MB of JSON: past what the kernel's socket buffers take on loopback.
    const was = await timeouts(a, 'rest');
    // The deadline cannot start before the request is sent: timed from here, a loaded box that sees the held bytes
    // late cannot make a close at the deadline look early (it read 1,376 ms from when they were seen).
    const sent = Date.now();
    const s = await restInfer(port, 8_000_000);
    const held = await waitFor('the answer waits for the client', async () => {
      const n = await pending(a);
      return n > 4e6 ? n : undefined;
    }, { timeoutMs: 5_000, intervalMs: 20 });
    assert.ok(held > 4e6, `answer bytes held: ${held}`);
    // A client that never reads sees no close: the agent's count and what it holds show it.
    await waitFor('the connection closed by the deadline', async () => ((await timeouts(a, 'rest')) === was + 1 ? true : undefined), { timeoutMs: CLOSE_WITHIN_MS, intervalMs: 20 });
    assert.ok(Date.now() - sent >= DEADLINE_MS, `not before the deadline (${Date.now() - sent} ms after the request was sent)`);
    assert.equal(await pending(a), 0, 'nothing held once the connection is closed');
    // The client, reading at last, gets what the kernel held and then the end: not the whole answer.
    let got = 0;
    s.on('data', (b: Buffer) => { got += b.length; });
    s.on('error', () => undefined);
    s.resume();
    await new Promise((resolve) => s.once('close', resolve));
    assert.ok(got < 16e6, `the client got ${got} bytes of a 16 MB answer`);
  });

  it('does not cut a REST client that reads slowly but steadily, nor a request waiting for its run', async () => {
    const was = await timeouts(a, 'rest');
    const s = await restInfer(port, 4_000_000);
    try {
      // 8 MB, past the kernel's buffers, read 96 KiB every 50 ms (about 1.9 MB/s, kept when ticks come late:
      // under load a 64 KiB buffer a tick fell to 0.45 MB/s, and the kernel's steps of up to 1.4 MB then took
      // longer than the deadline), several deadlines long.
      const started = Date.now();
      const { bytes, head } = await readSlowly(s, 96 * 1024, 50, (n, h) => {
        const len = /content-length: (\d+)/i.exec(h);
        return len !== null && n >= h.indexOf('\r\n\r\n') + 4 + Number(len[1]);
      });
      assert.match(head, /^HTTP\/1\.1 200/);
      assert.ok(bytes > 8e6, `read ${bytes} bytes in ${Date.now() - started} ms`);
      assert.equal(s.destroyed, false, 'the connection is still open');
    } finally {
      s.destroy();
    }
    // Nothing to write while the request waits for a run slot: twice the deadline, then it is answered.
    const slot = holdRunSlot(a.agent, 'fill');
    const answer = req(a.agent.url, 'POST', '/v2/models/fill/infer', { inputs: [{ name: 'n', datatype: 'INT64', shape: [1], data: [3] }] });
    await delay(DEADLINE_MS * 2);
    slot.free();
    assert.deepEqual((await answer).json.outputs[0].data, [1, 1, 1]);
    assert.equal(await timeouts(a, 'rest'), was, 'not closed');
  });
});

describe('write deadline log', () => {
  it('logs at most once a minute however many connections it closes, and counts each', async () => {
    const lines: string[] = [];
    const deadline = new WriteDeadline(200, (msg) => lines.push(msg));
    const big = Buffer.alloc(16e6, 0x20);
    const server = new ApiServer((_req, res) => res.end(big), {
      host: '127.0.0.1', port: 0, maxConnections: 8, headersTimeoutMs: 5_000, requestTimeoutMs: 5_000, keepAliveTimeoutMs: 5_000, writeTimeoutMs: 200, stopGraceMs: 200,
    }, deadline);
    await server.start();
    const socks: Socket[] = [];
    try {
      const port = Number(new URL(server.url).port);
      for (let i = 0; i < 3; i++) {
        const s = connect(port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n'));
        s.pause();
        s.on('error', () => undefined);
        socks.push(s);
      }
      await waitFor('three connections closed', () => (/\{transport="rest"\} 3/.test(deadline.metrics()) ? true : undefined), { timeoutMs: 5_000, intervalMs: 20 });
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0]!, /^closed \d local API connection\(s\) whose client took no answer bytes for 200 ms \(api\.writeTimeoutMs/);
      assert.equal(deadline.pendingBytes(), 0);
    } finally {
      for (const s of socks) s.destroy();
      await server.stop();
    }
  });
});
