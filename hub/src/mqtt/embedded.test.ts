// The embedded aedes broker: the shared FleetLink suite plus what only it does
// (SUBACK refusals, connect rate limit, desiredFor, packet size at the parser).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import { DeadlineError, withDeadline } from '@edgefleet/shared';
import { createEmbeddedBroker, type EmbeddedBrokerOptions } from './embedded.js';
import { DEVICE_BACKLOG_BYTES } from './device-sender.js';
import type { FleetLink, OutgoingKind } from './ports.js';
import { fleetLinkSuite } from './testing/fleet-link-suite.js';
import { MemoryDevices, RecordingLogger, RecordingMetrics, collect, connectDevice, deviceTopic } from './testing/devices.js';
import { waitFor } from '@edgefleet/examples';

/** Connects device 'stuck' (secret 's') to the topics of `kinds`, then stops reading its socket (a frozen box). */
async function connectStuck(link: FleetLink, kinds: OutgoingKind[]): Promise<MqttClient> {
  const c = await connectDevice(link.address().mqtt, 'stuck', 's', { keepalive: 0 });
  await c.subscribeAsync(kinds.map((k) => deviceTopic('stuck', k)), { qos: 1 });
  c.stream.unpipe();
  c.stream.pause();
  return c;
}

/** Sends 1 MiB blocks one at a time, as the blob server does, until one is not written out within 0.5 s: the socket is full. */
async function fillUntilStuck(link: FleetLink, deviceId: string): Promise<void> {
  for (let i = 0; i < 64; i++) {
    try {
      await withDeadline(link.publish(deviceId, 'blob/data', Buffer.alloc(1024 * 1024)), 500, `block ${i}`);
    } catch (err) {
      if (err instanceof DeadlineError) return;
      throw err;
    }
  }
  throw new Error(`64 MiB went out to ${deviceId}: it is still reading`);
}

function options(devices: MemoryDevices, extra: Partial<EmbeddedBrokerOptions> = {}): EmbeddedBrokerOptions {
  return {
    tcpPort: 0, host: '127.0.0.1', maxPayloadBytes: 16 * 1024, connectRateLimit: { perAddressPerMinute: 1000 },
    devices, metrics: new RecordingMetrics(), logger: new RecordingLogger(), clock: { now: () => new Date() }, ...extra,
  };
}

fleetLinkSuite('embedded aedes', async (list) => {
  const devices = new MemoryDevices();
  for (const d of list) devices.add(d.id, d.secret);
  const link = createEmbeddedBroker(options(devices));
  await link.start();
  return {
    link, url: link.address().mqtt, devices, maxPayloadBytes: 16 * 1024,
    caps: { subackRefusals: true, refusesClientIdMismatch: true, kicksOnRevoke: true },
    revoke: (id) => { devices.revoked.add(id); return Promise.resolve(); },
    close: () => link.stop(),
  };
});

describe('embedded broker only', () => {
  it('rate-limits connection attempts per address', async () => {
    const devices = new MemoryDevices();
    devices.add('rl-1', 's');
    let now = Date.parse('2026-01-01T00:00:00Z');
    const metrics = new RecordingMetrics();
    const link = createEmbeddedBroker(options(devices, { connectRateLimit: { perAddressPerMinute: 2 }, clock: { now: () => new Date(now) }, metrics }));
    await link.start();
    try {
      const url = link.address().mqtt;
      (await connectDevice(url, 'rl-1', 's')).end(true);
      await assert.rejects(connectDevice(url, 'rl-1', 'wrong'), /bad user|not authorized/i);
      await assert.rejects(connectDevice(url, 'rl-1', 's'), /closed before CONNACK/);
      assert.equal(metrics.counters.get('edgefleet_mqtt_refused_total{"reason":"rate_limited"}'), 1);
      now += 60_000; // next window
      (await connectDevice(url, 'rl-1', 's')).end(true);
    } finally {
      await link.stop();
    }
  });

  it('delivers the desired document from desiredFor on subscribe, not from retained messages', async () => {
    const devices = new MemoryDevices();
    devices.add('dd-1', 's');
    const asked: string[] = [];
    const link = createEmbeddedBroker(options(devices, { desiredFor: (id) => { asked.push(id); return Buffer.from(`{"doc":"${id}"}`); } }));
    await link.start();
    try {
      await link.publish('dd-1', 'desired', '{"doc":"old"}', { retain: true }); // not retained with desiredFor
      const c = await connectDevice(link.address().mqtt, 'dd-1', 's');
      const got = collect(c);
      await c.subscribeAsync(deviceTopic('dd-1', 'desired'), { qos: 1 });
      await waitFor('desired', () => got.length > 0, { intervalMs: 10 });
      await link.publish('dd-1', 'desired', '{"doc":"new"}');
      await waitFor('live desired', () => got.length > 1, { intervalMs: 10 });
      assert.deepEqual(got.map((m) => m.payload), ['{"doc":"dd-1"}', '{"doc":"new"}']);
      assert.deepEqual(asked, ['dd-1']);
      c.end(true);
    } finally {
      await link.stop();
    }
  });


  it('a device that stops reading holds up only its own messages; what piles up for it past its backlog is dropped', async () => {
    const devices = new MemoryDevices();
    devices.add('stuck', 's');
    devices.add('well', 's');
    const metrics = new RecordingMetrics();
    // A drain timeout far beyond the waits below: the stuck device stays connected throughout.
    const link = createEmbeddedBroker(options(devices, { metrics, drainTimeoutMs: 60_000 }));
    await link.start();
    try {
      const well = await connectDevice(link.address().mqtt, 'well', 's');
      const got = collect(well);
      await well.subscribeAsync(deviceTopic('well', 'ack'), { qos: 1 });
      const stuck = await connectStuck(link, ['blob/data', 'ack', 'desired']);
      await fillUntilStuck(link, 'stuck');
      // More blocks, then more acks than aedes has delivery slots (100): in aedes' shared queue each
      // waited for the stuck socket in a slot, and every device's messages waited for the drain timeout.
      const block = Buffer.alloc(1024 * 1024);
      for (let i = 0; i < 8; i++) void link.publish('stuck', 'blob/data', block).catch(() => {});
      for (let i = 0; i < 150; i++) void link.publish('stuck', 'ack', `{"n":${i}}`, { qos: 0 }).catch(() => {});
      void link.publish('well', 'ack', '{"n":0}', { qos: 0 }).catch(() => {});
      await waitFor('the ack to the device that reads', () => got.length === 1, { timeoutMs: 10_000, intervalMs: 10 });
      // Past the backlog bound (the stuck block and at most the next ones up to it), the rest was dropped.
      const dropped = (kind: string) => metrics.counters.get(`edgefleet_mqtt_messages_dropped_total{"kind":"${kind}"}`) ?? 0;
      assert.ok(dropped('blob/data') >= 8 - Math.ceil(DEVICE_BACKLOG_BYTES / block.length), `${dropped('blob/data')} blocks dropped`);
      assert.equal(dropped('ack'), 150);
      // A desired document is never dropped, and its publish does not wait for the stuck socket.
      await withDeadline(link.publish('stuck', 'desired', '{"doc":1}'), 5_000, 'a desired document to the stuck device');
      assert.equal(dropped('desired'), 0);
      stuck.end(true);
      well.end(true);
    } finally {
      await link.stop();
    }
  });

  it('disconnects a device whose socket stays full for drainTimeoutMs', async () => {
    const devices = new MemoryDevices();
    devices.add('stuck', 's');
    const link = createEmbeddedBroker(options(devices, { drainTimeoutMs: 200 }));
    await link.start();
    try {
      let gone = false;
      link.onDisconnect((id) => { gone ||= id === 'stuck'; });
      const stuck = await connectStuck(link, ['blob/data']);
      // One block at a time, as the blob server sends, until the socket is full and the device dropped.
      const block = Buffer.alloc(1024 * 1024);
      for (let i = 0; i < 64 && !gone; i++) await withDeadline(link.publish('stuck', 'blob/data', block), 10_000, `block ${i} to the stuck device`);
      await waitFor('the stuck device disconnected', () => gone, { timeoutMs: 10_000, intervalMs: 10 });
      stuck.end(true);
    } finally {
      await link.stop();
    }
  });

  it('stop() is idempotent', async () => {
    const link = createEmbeddedBroker(options(new MemoryDevices()));
    await link.start();
    await link.stop();
    await link.stop();
    assert.throws(() => link.address(), /not listening/);
  });
});
