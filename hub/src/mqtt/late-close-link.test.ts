// The late close of late-close.test.ts over real TCP to the hub's embedded broker: a box's new CONNECT and its old
// connection's end reach the hub in the same turn (written in one tick on loopback), and what the hub sends the
// device afterwards (an ack, as DeviceSender sends acks, blocks and documents) reaches the new connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@edgefleet/examples';
import { createEmbeddedBroker } from './embedded.js';
import { MemoryDevices, RecordingLogger, RecordingMetrics, deviceTopic } from './testing/devices.js';
import { connectPacket, packetTypes, subscribePacket } from './testing/packets.js';

/** A raw TCP connection to `port` and every byte it received so far. */
async function open(port: number): Promise<{ socket: net.Socket; received: () => Buffer }> {
  const socket = net.connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return { socket, received: () => Buffer.concat(chunks) };
}

/** Waits until `c` received a whole packet of `type` (CONNACK 2, SUBACK 9). */
const answered = (c: { received: () => Buffer }, type: number, what: string) =>
  waitFor(what, () => packetTypes(c.received()).includes(type) || undefined, { timeoutMs: 5000, intervalMs: 5 });

test('a box\'s old connection ending in the same turn as its new CONNECT: the hub\'s messages reach the new connection', async () => {
  const devices = new MemoryDevices();
  devices.add('box-1', 's3cret');
  const metrics = new RecordingMetrics();
  const link = createEmbeddedBroker({
    tcpPort: 0, host: '127.0.0.1', maxPayloadBytes: 16 * 1024, connectRateLimit: { perAddressPerMinute: 1000 },
    devices, metrics, logger: new RecordingLogger(), clock: { now: () => new Date() },
  });
  await link.start();
  const port = Number(new URL(link.address().mqtt).port);
  const ackTopic = deviceTopic('box-1', 'ack');
  const conns: net.Socket[] = [];
  try {
    const a = await open(port);
    conns.push(a.socket);
    a.socket.write(connectPacket('box-1', 's3cret'));
    await answered(a, 2, 'the first connection\'s CONNACK');
    a.socket.write(subscribePacket(ackTopic));
    await answered(a, 9, 'the first connection\'s SUBACK');
    const b = await open(port);
    conns.push(b.socket);
    await sleep(50); // the hub accepts the second connection and waits for its CONNECT
    // One tick: the new CONNECT first, then the old connection's end (a box that reconnected while the hub was busy).
    b.socket.write(connectPacket('box-1', 's3cret'));
    a.socket.end();
    await answered(b, 2, 'the second connection\'s CONNACK');
    b.socket.write(subscribePacket(ackTopic));
    await answered(b, 9, 'the second connection\'s SUBACK');
    // The late close happened in this run (else this test showed nothing), and the guard kept the new connection.
    assert.equal(metrics.counters.get('edgefleet_mqtt_late_closes_total{}'), 1);
    await link.publish('box-1', 'ack', Buffer.from('{"ranges":[]}'));
    await waitFor('the ack on the new connection', () => (packetTypes(b.received()).includes(3) && b.received().includes(Buffer.from(ackTopic))) || undefined, { timeoutMs: 5000, intervalMs: 5 });
    assert.equal(link.connectedCount(), 1);
  } finally {
    for (const c of conns) c.destroy();
    await link.stop();
  }
});
