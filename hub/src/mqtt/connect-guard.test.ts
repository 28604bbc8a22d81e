// The connection limits and the credentials-in-use-twice report on a real aedes broker on
// 127.0.0.1 with real mqtt.js clients (MQTT 3.1.1); rate-limit.test.ts covers the logic.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import mqtt, { type MqttClient } from 'mqtt';
import { waitFor } from '@edgefleet/examples';
import { createEmbeddedBroker, type EmbeddedBrokerOptions } from './embedded.js';
import { MemoryDevices, RecordingLogger, RecordingMetrics, closed, connectDevice } from './testing/devices.js';
import type { CredentialsInUseTwice } from './takeovers.js';

function options(devices: MemoryDevices, extra: Partial<EmbeddedBrokerOptions> = {}): EmbeddedBrokerOptions {
  return {
    tcpPort: 0, host: '127.0.0.1', maxPayloadBytes: 16 * 1024, connectRateLimit: { perAddressPerMinute: 1000 },
    devices, metrics: new RecordingMetrics(), logger: new RecordingLogger(), clock: { now: () => new Date() }, ...extra,
  };
}

describe('embedded broker: failed authentications per device id', () => {
  it('locks the id that guesses, not an honest neighbour on the same address; the right secret works after the cool-down', async () => {
    const devices = new MemoryDevices();
    devices.add('nat-a', 'secret-a');
    devices.add('nat-b', 'secret-b');
    let now = Date.parse('2026-01-01T00:00:00Z');
    const metrics = new RecordingMetrics();
    const logger = new RecordingLogger();
    const link = createEmbeddedBroker(options(devices, {
      connectRateLimit: { perAddressPerMinute: 1000, failuresPerIdPerMinute: 10, coolDownMs: 60_000 },
      clock: { now: () => new Date(now) }, metrics, logger,
    }));
    await link.start();
    try {
      const url = link.address().mqtt;
      const results: string[] = [];
      for (let i = 0; i < 150; i++) {
        await connectDevice(url, 'nat-a', `guess-${i}`).then(
          (c) => { c.end(true); results.push('connected'); },
          (err: Error) => results.push(/server unavailable/i.test(err.message) ? 'locked' : /bad user/i.test(err.message) ? 'bad' : err.message),
        );
      }
      assert.equal(results.filter((r) => r === 'bad').length, 10);
      assert.equal(results.filter((r) => r === 'locked').length, 140);
      assert.equal(metrics.counters.get('edgefleet_mqtt_refused_total{"reason":"id_locked"}'), 140);
      assert.equal(metrics.counters.get('edgefleet_mqtt_locked_total{"scope":"device"}'), 1);
      assert.ok(logger.lines.some((l) => l.level === 'warn' && l.msg?.includes('device id locked') && (l.obj as { deviceId?: string }).deviceId === 'nat-a'));
      // The honest neighbour behind the same address connects.
      const b = await connectDevice(url, 'nat-b', 'secret-b');
      b.end(true);
      // During the cool-down even the right secret is refused (the secret is not checked).
      await assert.rejects(connectDevice(url, 'nat-a', 'secret-a'), /server unavailable/i);
      now += 60_000;
      const a = await connectDevice(url, 'nat-a', 'secret-a');
      a.end(true);
    } finally {
      await link.stop();
    }
  });
});

describe('embedded broker: credentials in use twice', () => {
  function setup() {
    const devices = new MemoryDevices();
    devices.add('twin', 's3cret');
    const metrics = new RecordingMetrics();
    const reports: Array<{ id: string; info: CredentialsInUseTwice }> = [];
    const link = createEmbeddedBroker(options(devices, { metrics, onCredentialsInUseTwice: (id, info) => reports.push({ id, info }) }));
    return { link, metrics, reports };
  }

  it('two clients with one device\'s credentials taking each other over raise the report', async () => {
    const { link, metrics, reports } = setup();
    await link.start();
    const clients: MqttClient[] = [];
    try {
      const url = link.address().mqtt;
      for (let i = 0; i < 2; i++) {
        // Like an agent: reconnect when the connection drops.
        clients.push(mqtt.connect(url, { protocolVersion: 4, clientId: 'twin', username: 'twin', password: 's3cret', reconnectPeriod: 100, clean: true }));
      }
      await waitFor('a credentials-in-use-twice report', () => reports.length > 0);
      assert.equal(reports[0]?.id, 'twin');
      assert.ok((reports[0]?.info.takeovers ?? 0) >= 3);
      assert.equal(metrics.counters.get('edgefleet_mqtt_credentials_in_use_twice_total{}'), 1);
      assert.deepEqual(link.credentialsInUseTwice?.('twin'), reports[0]?.info);
    } finally {
      for (const c of clients) c.end(true);
      await link.stop();
    }
  });

  it('one honest reconnect (a single takeover) raises nothing', async () => {
    const { link, metrics, reports } = setup();
    await link.start();
    try {
      const url = link.address().mqtt;
      const old = await connectDevice(url, 'twin', 's3cret'); // its link went half-open: it does not reconnect
      const oldClosed = closed(old);
      const fresh = await connectDevice(url, 'twin', 's3cret');
      await oldClosed; // the takeover happened
      await waitFor('the new connection registered', () => link.connectedCount() === 1 && fresh.connected);
      assert.equal(reports.length, 0);
      assert.equal(metrics.counters.get('edgefleet_mqtt_credentials_in_use_twice_total{}'), undefined);
      assert.equal(link.credentialsInUseTwice?.('twin'), null);
      fresh.end(true);
    } finally {
      await link.stop();
    }
  });
});
