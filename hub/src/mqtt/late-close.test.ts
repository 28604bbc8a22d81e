// A device's old connection closing late (its end read in the same turn as its new connection's CONNECT) on a real
// aedes broker, connections as in-memory streams so the order is exact: aedes 1.2 alone unregisters the new
// connection; with guardLateClose the new one stays registered, counted once, and no disconnect is told.
// Each step waits for what it is about (never a fixed sleep: a busy box is slower), and the broker is closed in
// `finally`, so a failure ends the process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { Aedes, type Client } from 'aedes';
import { waitFor } from '@edgefleet/examples';
import { guardLateClose } from './late-close.js';
import { connectPacket, subscribePacket } from './testing/packets.js';

const connect = (id: string) => connectPacket(id, id);
const subscribe = (id: string) => subscribePacket(`ef/v1/d/${id}/desired`);
const until = (what: string, ok: () => boolean) => waitFor(what, () => ok() || undefined, { timeoutMs: 10_000, intervalMs: 5 });

/** A connection the broker reads from; `send` writes bytes to it, `end` is the peer's FIN. */
function connection(broker: Aedes): { client: Client; send(b: Buffer): void; end(): void } {
  const d = new Duplex({ read() {}, write(_c, _e, cb) { cb(); } });
  const client = broker.handle(d as never) as Client;
  return { client, send: (b) => d.push(b), end: () => d.push(null) };
}

async function setup(guarded: boolean) {
  const broker = await Aedes.createBroker();
  broker.authenticate = (_c, _u, _p, done) => done(null, true);
  const told: string[] = [];
  const late: string[] = [];
  broker.on('clientReady', (c) => told.push(`ready ${c.id}`));
  broker.on('clientDisconnect', (c) => told.push(`disconnect ${c.id}`));
  let subscribed = 0;
  broker.on('subscribe', () => subscribed++);
  if (guarded) guardLateClose(broker, (id) => late.push(id));
  const registry = broker as unknown as { clients: Record<string, Client | undefined>; connectedClients: number };
  const a = connection(broker);
  a.send(connect('box-1'));
  a.send(subscribe('box-1'));
  // Subscribed: a close of a connection with subscriptions ends a turn later (the late close needs that).
  await until('the first connection registered and subscribed', () => registry.clients['box-1'] === a.client && subscribed === 1);
  const b = connection(broker);
  return { broker, a, b, told, late, registry };
}

/** Runs `body` on a fresh setup, closing its broker whatever happens. */
async function withSetup(guarded: boolean, body: (s: Awaited<ReturnType<typeof setup>>) => Promise<void>): Promise<void> {
  const s = await setup(guarded);
  try {
    await body(s);
  } finally {
    s.broker.close();
  }
}

test('aedes 1.2 alone: the old connection closing late unregisters the new one (why the guard exists)', () => withSetup(false, async ({ a, b, told, registry }) => {
  b.send(connect('box-1'));
  a.end();
  // The new connection ready and the old one's close told: aedes has done all it does with the two.
  await until('the new connection ready and the old one told closed', () => b.client.connected && told.includes('disconnect box-1') && told.filter((t) => t === 'ready box-1').length === 2);
  assert.equal(registry.clients['box-1'], undefined, 'if aedes keeps the new connection now, guardLateClose may go');
}));

test('guarded: the new connection stays registered and counted once, and no disconnect is told for the late close', () => withSetup(true, async ({ a, b, told, late, registry }) => {
  b.send(connect('box-1'));
  a.end();
  await until('the new connection ready and the old one closed', () => b.client.connected && a.client.closed && late.length + told.filter((t) => t.startsWith('disconnect')).length > 0);
  assert.equal(registry.clients['box-1'], b.client);
  assert.equal(registry.connectedClients, 1);
  assert.deepEqual(late, ['box-1']);
  assert.deepEqual(told, ['ready box-1', 'ready box-1']);
  // The new connection's own close unregisters it as before.
  b.end();
  await until('the new connection told closed', () => told.length > 2);
  assert.equal(registry.clients['box-1'], undefined);
  assert.equal(registry.connectedClients, 0);
  assert.deepEqual(told.slice(2), ['disconnect box-1']);
}));

test('guarded: a takeover of an open connection and a close in its own time are as before', () => withSetup(true, async ({ broker, a, b, told, late, registry }) => {
  // The old connection ends first, its close done before the new CONNECT is read.
  a.end();
  await until('the first connection told closed', () => told.includes('disconnect box-1'));
  assert.equal(registry.clients['box-1'], undefined);
  b.send(connect('box-1'));
  await until('the second connection registered and ready', () => registry.clients['box-1'] === b.client && b.client.connected);
  // A third connection takes the session of the open second one over.
  const c = connection(broker);
  c.send(connect('box-1'));
  await until('the third connection ready', () => told.length === 5);
  assert.equal(b.client.closed, true);
  assert.equal(registry.clients['box-1'], c.client);
  assert.equal(registry.connectedClients, 1);
  assert.deepEqual(late, []);
  assert.deepEqual(told, ['ready box-1', 'disconnect box-1', 'ready box-1', 'disconnect box-1', 'ready box-1']);
}));
