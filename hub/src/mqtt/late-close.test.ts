// A device's old connection closing late (its end read in the same turn as its new connection's CONNECT) on a real
// aedes broker, connections as in-memory streams so the order is exact: aedes 1.2 alone unregisters the new
// connection; with guardLateClose the new one stays registered, counted once, and no disconnect is told.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Aedes, type Client } from 'aedes';
import { guardLateClose } from './late-close.js';
import { connectPacket, subscribePacket } from './testing/packets.js';

const connect = (id: string) => connectPacket(id, id);
const subscribe = (id: string) => subscribePacket(`ef/v1/d/${id}/desired`);

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
  if (guarded) guardLateClose(broker, (id) => late.push(id));
  const a = connection(broker);
  a.send(connect('box-1'));
  a.send(subscribe('box-1'));
  await sleep(30);
  assert.equal((broker as unknown as { clients: Record<string, Client> }).clients['box-1'], a.client);
  const b = connection(broker);
  await sleep(10);
  return { broker, a, b, told, late, registry: broker as unknown as { clients: Record<string, Client | undefined>; connectedClients: number } };
}

test('aedes 1.2 alone: the old connection closing late unregisters the new one (why the guard exists)', async () => {
  const { broker, a, b, registry } = await setup(false);
  b.send(connect('box-1'));
  a.end();
  await sleep(50);
  assert.equal(b.client.connected, true);
  assert.equal(registry.clients['box-1'], undefined, 'if aedes keeps the new connection now, guardLateClose may go');
  broker.close();
});

test('guarded: the new connection stays registered and counted once, and no disconnect is told for the late close', async () => {
  const { broker, a, b, told, late, registry } = await setup(true);
  b.send(connect('box-1'));
  a.end();
  await sleep(50);
  assert.equal(b.client.connected, true);
  assert.equal(registry.clients['box-1'], b.client);
  assert.equal(registry.connectedClients, 1);
  assert.deepEqual(late, ['box-1']);
  assert.deepEqual(told, ['ready box-1', 'ready box-1']);
  // The new connection's own close unregisters it as before.
  b.end();
  await sleep(50);
  assert.equal(registry.clients['box-1'], undefined);
  assert.equal(registry.connectedClients, 0);
  assert.deepEqual(told.slice(2), ['disconnect box-1']);
  broker.close();
});

test('guarded: a takeover of an open connection and a close in its own time are as before', async () => {
  const { broker, a, b, told, late, registry } = await setup(true);
  // The old connection ends first, its close done before the new CONNECT is read.
  a.end();
  await sleep(30);
  assert.equal(registry.clients['box-1'], undefined);
  b.send(connect('box-1'));
  await sleep(30);
  assert.equal(registry.clients['box-1'], b.client);
  // A third connection takes the session of the open second one over.
  const c = connection(broker);
  c.send(connect('box-1'));
  await sleep(50);
  assert.equal(b.client.closed, true);
  assert.equal(registry.clients['box-1'], c.client);
  assert.equal(registry.connectedClients, 1);
  assert.deepEqual(late, []);
  assert.deepEqual(told, ['ready box-1', 'disconnect box-1', 'ready box-1', 'disconnect box-1', 'ready box-1']);
  broker.close();
});
