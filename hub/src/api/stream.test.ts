// GET /api/v1/stream over a real socket (port 0): roles, live events from the bus and from committed
// audit entries, resumption with Last-Event-ID (missed events, or reset), heartbeats, and every bound:
// streams per token and per address, a client that stops reading is dropped at the queue bound, and
// stop() ends open streams.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { SseParser, type SseMessage } from '@edgefleet/shared';
import { waitFor } from '@edgefleet/examples';
import { makeHarness, type Harness } from '../testing/harness.js';
import { EventBus } from '../events/bus.js';
import { StreamHub, type StreamLimits } from './stream.js';

interface Served { h: Harness; hub: StreamHub; bus: EventBus; base: string; close(): Promise<void> }

async function served(limits: Partial<StreamLimits> = {}, capacity = 100): Promise<Served> {
  const bus = new EventBus({ capacity });
  let hub: StreamHub | null = null;
  const h = makeHarness({
    streams: (store) => {
      store.audit.onAppended((e) => bus.publish('audit', e));
      hub = new StreamHub(bus, limits, undefined, (id) => !store.tokens.get(id).revoked);
      return hub;
    },
  });
  const server = await new Promise<ServerType>((resolve) => { const s = serve({ fetch: h.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s)); });
  const port = (server.address() as AddressInfo).port;
  return {
    h, hub: hub as unknown as StreamHub, bus, base: `http://127.0.0.1:${port}`,
    async close() {
      (hub as unknown as StreamHub).stop();
      await new Promise<void>((r) => { server.close(() => r()); (server as unknown as { closeAllConnections(): void }).closeAllConnections(); });
      h.close();
    },
  };
}

/** Opens a stream and collects its events; `next(pred)` waits for one. */
async function open(s: Served, o: { token?: string; lastEventId?: string } = {}) {
  const ac = new AbortController();
  const res = await fetch(`${s.base}/api/v1/stream`, {
    headers: { authorization: `Bearer ${o.token ?? s.h.tokens.viewer}`, ...(o.lastEventId ? { 'last-event-id': o.lastEventId } : {}) },
    signal: ac.signal,
  });
  const got: SseMessage[] = [];
  let comments = 0;
  let ended = false;
  if (res.ok && res.body) {
    const parser = new SseParser();
    const dec = new TextDecoder();
    const reader = res.body.getReader();
    (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const text = dec.decode(value, { stream: true });
        comments += text.split('\n').filter((l) => l.startsWith(':')).length;
        got.push(...parser.push(text));
      }
    })().catch(() => undefined).finally(() => { ended = true; });
  }
  return {
    res, got,
    comments: () => comments,
    ended: () => ended,
    next: (what: string, pred: (m: SseMessage) => boolean) => waitFor(what, () => got.find(pred), { timeoutMs: 5000 }),
    close: () => ac.abort(),
  };
}

test('stream: 401 without a token; a viewer gets hello, live bus events and committed audit entries; resumes with Last-Event-ID or gets reset', async () => {
  const s = await served({}, 3);
  try {
    const anon = await fetch(`${s.base}/api/v1/stream`);
    assert.equal(anon.status, 401);
    const a = await open(s);
    assert.equal(a.res.status, 200);
    assert.match(a.res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const hello = await a.next('hello', (m) => m.event === 'hello');
    assert.equal(JSON.parse(hello.data).role, 'viewer');
    s.bus.publish('device.presence', { deviceId: 'd-1', online: true, at: new Date().toISOString() });
    const p = await a.next('presence', (m) => m.event === 'device.presence');
    assert.equal(JSON.parse(p.data).deviceId, 'd-1');
    assert.match(p.id ?? '', new RegExp(`^${s.bus.epoch}-1$`));
    // A write through the API: its audit entry arrives once committed; a rolled-back one never does.
    assert.equal((await s.h.req('POST', '/api/v1/devices', { json: { deviceId: 'cam-1' } })).status, 201);
    const au = await a.next('audit entry', (m) => m.event === 'audit');
    assert.equal(JSON.parse(au.data).action, 'device.add');
    assert.throws(() => s.h.store.db.transaction(() => { s.h.store.audit.append({ actor: 'x', action: 'device.revoke', target: 'rolled-back', at: new Date() }); throw new Error('undo'); })());
    s.bus.publish('device.presence', { deviceId: 'd-2', online: false, at: new Date().toISOString() });
    await a.next('second presence', (m) => m.event === 'device.presence' && m.data.includes('d-2'));
    assert.ok(!a.got.some((m) => m.data.includes('rolled-back')), 'a rolled-back audit entry is not streamed');

    // Resume after event 1: the two later ones (the ring holds 3).
    const r = await open(s, { lastEventId: `${s.bus.epoch}-1` });
    await r.next('resumed d-2', (m) => m.data.includes('d-2'));
    assert.deepEqual(r.got.filter((m) => m.event !== 'hello').map((m) => m.id), [`${s.bus.epoch}-2`, `${s.bus.epoch}-3`]);
    // Past the ring (events 1..5 published, 3 kept): reset; another run's id: reset.
    s.bus.publish('device.presence', { deviceId: 'd-3', online: true, at: new Date().toISOString() });
    s.bus.publish('device.presence', { deviceId: 'd-4', online: true, at: new Date().toISOString() });
    const old = await open(s, { lastEventId: `${s.bus.epoch}-1` });
    assert.equal(JSON.parse((await old.next('reset', (m) => m.event === 'reset')).data).reason, 'too_old');
    const other = await open(s, { lastEventId: 'ffffffff-2' });
    assert.equal(JSON.parse((await other.next('reset', (m) => m.event === 'reset')).data).reason, 'unknown_epoch');
    for (const c of [a, r, old, other]) c.close();
    await waitFor('streams released', () => s.hub.open === 0 && s.bus.listenerCount === 0);
  } finally {
    await s.close();
  }
});

test('stream bounds: per token and per address (429), heartbeats, a client that stops reading is dropped, stop() ends streams', async () => {
  const s = await served({ perToken: 2, perAddress: 3, heartbeatMs: 50, maxQueuedBytes: 64 * 1024 });
  try {
    const a = await open(s);
    const b = await open(s);
    const c = await open(s);
    assert.equal(a.res.status, 200);
    assert.equal(b.res.status, 200);
    assert.equal(c.res.status, 429, 'third stream of one token');
    assert.match(await c.res.text(), /too many open streams for this token: at most 2/);
    const d = await open(s, { token: s.h.tokens.operator });
    assert.equal(d.res.status, 200);
    const e = await open(s, { token: s.h.tokens.admin });
    assert.equal(e.res.status, 429, 'fourth stream from one address');
    await waitFor('heartbeats', () => a.comments() >= 2);
    b.close();
    await waitFor('slot freed', () => s.hub.open === 2);
    // Revoking the operator's token ends its open stream at the next heartbeat; a new one gets 401.
    const opId = s.h.store.tokens.lookup(s.h.tokens.operator)?.id as string;
    assert.equal((await s.h.req('POST', `/api/v1/tokens/${opId}/revoke`, { json: { reason: 'left' } })).status, 200);
    await waitFor('revoked token stream ended', () => d.ended());
    assert.equal((await open(s, { token: s.h.tokens.operator })).res.status, 401);
    await waitFor('slot freed', () => s.hub.open === 1);

    // A raw client that sends the request and then never reads: the kernel buffers fill, then the
    // stream's queue; past 64 KiB queued it is dropped while the reading client keeps everything.
    const sock = connect(Number(new URL(s.base).port), '127.0.0.1');
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.write(`GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.h.tokens.admin}\r\n\r\n`);
    await waitFor('slow client open', () => s.hub.open === 2);
    sock.pause();
    const big = 'x'.repeat(8 * 1024);
    let sent = 0;
    await waitFor('slow client dropped', async () => {
      for (let k = 0; k < 50 && s.hub.open === 2; k++) {
        for (let i = 0; i < 3; i++) s.bus.publish('audit', { id: ++sent, at: new Date().toISOString(), actor: 'load', actorId: null, action: 'load', target: big, reason: null, details: null });
        await new Promise((r) => setTimeout(r, 1));
      }
      return s.hub.open === 1;
    }, { timeoutMs: 30_000 });
    assert.ok(sent * big.length < 200 * 1024 * 1024, `dropped after ${sent} events`);
    assert.equal(a.ended(), false, 'the client that reads is kept');
    await waitFor('reader got every event', () => a.got.filter((m) => m.event === 'audit' && m.data.includes('"action":"load"')).length === sent, { timeoutMs: 20_000 });
    sock.destroy();

    const t0 = Date.now();
    s.hub.stop();
    await waitFor('stream ended by stop', () => a.ended(), { timeoutMs: 2000 });
    assert.ok(Date.now() - t0 < 2000);
    const after = await open(s);
    assert.equal(after.res.status, 503);
  } finally {
    await s.close();
  }
});

test('the OpenAPI document names every stream event with its payload schema', async () => {
  const h = makeHarness();
  try {
    const doc = (await (await h.req('GET', '/api/v1/openapi.json', { token: null })).json()) as { paths: Record<string, Record<string, { responses: Record<string, { content: Record<string, { 'x-events'?: Record<string, unknown> }> }> }>> };
    const events = doc.paths['/api/v1/stream']?.['get']?.responses['200']?.content['text/event-stream']?.['x-events'] ?? {};
    assert.deepEqual(Object.keys(events).sort(), ['alert', 'audit', 'deployment.progress', 'device.presence', 'device.state', 'hello', 'reset', 'rollout']);
  } finally {
    h.close();
  }
});
