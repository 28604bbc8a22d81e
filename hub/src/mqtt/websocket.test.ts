// MQTT over WebSocket (optional transport of the embedded broker): a device connects with its
// credentials over ws://, its messages reach the hub and the hub's reach it; the same ACL applies
// (another device's topic is refused), and a wrong secret is refused at CONNECT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deviceTopic } from '@edgefleet/shared';
import { createEmbeddedBroker } from './embedded.js';
import { MemoryDevices, RecordingLogger, RecordingMetrics, connectDevice, stateMsg, tryPublish } from './testing/devices.js';
import { waitFor } from '@edgefleet/examples';

test('MQTT over WebSocket: authenticated, ACL-checked, both directions', async () => {
  const devices = new MemoryDevices();
  devices.add('ws-1', 's'.repeat(32));
  const link = createEmbeddedBroker({
    host: '127.0.0.1', tcpPort: 0, wsPort: 0, maxPayloadBytes: 64 * 1024, connectRateLimit: { perAddressPerMinute: 600 },
    devices, metrics: new RecordingMetrics(), logger: new RecordingLogger(), clock: { now: () => new Date() },
  });
  await link.start();
  try {
    const url = link.address().ws;
    assert.match(url ?? '', /^ws:\/\/127\.0\.0\.1:\d+$/);
    const got: string[] = [];
    link.on('state', (id) => void got.push(id));
    const c = await connectDevice(url as string, 'ws-1', 's'.repeat(32));
    const acks: string[] = [];
    c.on('message', (_t, p) => acks.push(p.toString()));
    await c.subscribeAsync(deviceTopic('ws-1', 'ack'), { qos: 1 });
    await c.publishAsync(deviceTopic('ws-1', 'state'), stateMsg('ws-1'), { qos: 1, retain: true });
    await waitFor('the state report from ws-1', () => got.length > 0, { timeoutMs: 10_000, intervalMs: 20 });
    assert.deepEqual(got, ['ws-1']);
    await link.publish('ws-1', 'ack', JSON.stringify({ schema: 'edgefleet.ack/v1', ranges: [[1, 1]] }));
    await waitFor('the ack at ws-1', () => acks.length > 0, { timeoutMs: 10_000, intervalMs: 20 });
    assert.equal(acks.length, 1);
    assert.equal(await tryPublish(c, deviceTopic('ws-2', 'state'), stateMsg('ws-2')), 'closed', "another device's topic is refused");
    c.end(true); // the broker closed it
    await assert.rejects(connectDevice(url as string, 'ws-1', 'wrong'.repeat(8)), /Not authorized|closed|refused/i);
    const plain = await fetch((url as string).replace('ws:', 'http:'));
    assert.equal(plain.status, 426, 'plain HTTP is told this port speaks MQTT over WebSocket');
    await plain.text();
  } finally {
    await link.stop();
  }
});
