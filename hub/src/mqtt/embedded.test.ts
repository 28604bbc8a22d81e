// The embedded aedes broker: the shared FleetLink suite plus what only it does
// (SUBACK refusals, connect rate limit, desiredFor, packet size at the parser).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createEmbeddedBroker, type EmbeddedBrokerOptions } from './embedded.js';
import { fleetLinkSuite } from './testing/fleet-link-suite.js';
import { MemoryDevices, RecordingLogger, RecordingMetrics, collect, connectDevice, deviceTopic } from './testing/devices.js';
import { waitFor } from '@edgefleet/examples';

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


  it('stop() is idempotent', async () => {
    const link = createEmbeddedBroker(options(new MemoryDevices()));
    await link.start();
    await link.stop();
    await link.stop();
    assert.throws(() => link.address(), /not listening/);
  });
});
