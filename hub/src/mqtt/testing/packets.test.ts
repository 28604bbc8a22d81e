// The test helpers' MQTT packets: lengths as MQTT 3.1.1 frames them, types read back, a body too long refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectPacket, packetTypes, subscribePacket } from './packets.js';

test('packets are framed as MQTT 3.1.1 frames them, and packetTypes reads whole ones back', () => {
  const c = connectPacket('box-1', 's');
  assert.equal(c[0], 0x10);
  assert.equal(c[1], c.length - 2);
  const s = subscribePacket('ef/v1/d/box-1/ack');
  assert.equal(s[0], 0x82);
  // A PUBLISH with a two-byte remaining length (200 bytes), then a SUBACK, then half of a CONNACK.
  const publish = Buffer.concat([Buffer.from([0x30, 0xc8, 0x01]), Buffer.alloc(200)]);
  assert.deepEqual(packetTypes(Buffer.concat([c, s, publish, Buffer.from([0x90, 3, 0, 1, 1]), Buffer.from([0x20, 2, 0])])), [1, 8, 3, 9]);
});

test('a packet body of 128 bytes or more is refused, naming its size', () => {
  assert.throws(() => subscribePacket('t'.repeat(130)), /a 135-byte packet body: these helpers write bodies under 128 bytes/);
});
