// The whole hub on an external broker: a real Mosquitto (configured from `mosquitto-config` files),
// the hub connected to it as a client (`externalBroker` config). A device enrolled over REST gets the
// Mosquitto URL, its secret lands in the password file, and after a reload it connects to Mosquitto,
// receives its hub-signed desired document for a deployment, and its telemetry is stored and acked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DesiredBody, TELEMETRY_SCHEMA, deviceTopic, verifyEnvelope, type DeviceCredentials } from '@edgefleet/shared';
import { makeFixture, waitFor } from '@edgefleet/examples';
import { HubConfig } from '../config.js';
import { Hub } from './hub.js';
import { noopLogger } from '../mqtt/ports.js';
import { systemClock } from '../clock.js';
import { MOSQUITTO, startMosquitto } from '../mqtt/testing/mosquitto.js';
import { connectDevice } from '../mqtt/testing/devices.js';
import { FACTS } from '../testing/harness.js';

const skip = existsSync(MOSQUITTO) ? false : `${MOSQUITTO} not installed (apt-get install -y mosquitto)`;

test('hub on an external Mosquitto: enroll → password file → connect → desired document → telemetry acked', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-hubext-'));
  const mosq = await startMosquitto([], { user: 'hub-1', password: 'hub-password-1' }, 1024 * 1024 + 65536);
  const fx = await makeFixture(join(dir, 'fx'));
  const hub = new Hub(
    HubConfig.parse({
      dataDir: join(dir, 'hub'), httpPort: 0, mqttPort: 0, trust: fx.trustPath, hubKey: fx.keys.files.hub.keyPath, logLevel: 'silent',
      externalBroker: { url: mosq.url, username: 'hub-1', password: 'hub-password-1', passwordFile: mosq.passwordFile },
    }),
    noopLogger,
    systemClock,
  );
  const device: { client?: Awaited<ReturnType<typeof connectDevice>> } = {};
  try {
    const addr = await hub.start();
    const token = readFileSync(join(dir, 'hub', 'admin.token'), 'utf8').trim();
    const api = async (method: string, path: string, body?: unknown, raw?: Buffer) => {
      const r = await fetch(`${addr.http}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': raw ? 'application/octet-stream' : 'application/json' },
        ...(raw ? { body: raw } : body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await r.text();
      assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
      return JSON.parse(text) as Record<string, unknown>;
    };
    await api('POST', '/models', undefined, readFileSync(fx.v1));
    const et = await api('POST', '/enrollment-tokens', { tags: { ring: 'canary' } });
    const creds = (await api('POST', '/enroll', { token: et['token'], deviceId: 'box-1', facts: FACTS })) as unknown as DeviceCredentials;
    assert.deepEqual(creds.brokers, [mosq.url], 'devices are given the external broker');
    assert.match(readFileSync(mosq.passwordFile, 'utf8'), /^box-1:\$7\$/m, 'the new secret is in the mosquitto password file');
    mosq.reload();

    // The reload (SIGHUP) takes effect asynchronously: retry until mosquitto accepts the new secret.
    const c = await waitFor('mosquitto accepting box-1 after the reload', () => connectDevice(mosq.url, 'box-1', creds.secret).catch(() => undefined), { timeoutMs: 15_000, intervalMs: 50 });
    device.client = c;
    const got: Record<string, Buffer[]> = {};
    c.on('message', (topic, payload) => (got[topic] ??= []).push(payload));
    await c.subscribeAsync([deviceTopic('box-1', 'desired'), deviceTopic('box-1', 'ack')], { qos: 1 });

    const dep = await api('POST', '/deployments', { model: 'vibration-anomaly', version: '1.0.0', target: { tags: { ring: 'canary' } }, reason: 'first rollout' });
    assert.deepEqual((dep['devices'] as Array<{ deviceId: string }>).map((d) => d.deviceId), ['box-1']);
    const desired = await waitFor('the desired document at box-1', () => got[deviceTopic('box-1', 'desired')]?.[0], { timeoutMs: 15_000, intervalMs: 50 });
    const body = verifyEnvelope(JSON.parse(desired.toString()), fx.trust, 'hub', DesiredBody, 'desired');
    assert.equal(body.deviceId, 'box-1');
    assert.equal(body.models[0]?.version, '1.0.0');

    const window = { seq: 1, model: 'vibration-anomaly', version: '1.0.0', start: '2026-11-28T12:00:00.000Z', lengthSec: 60, count: 3, errors: {}, latency: { counts: [3], sumMs: 1 }, features: [], outputs: [], inputs: [] };
    const batch = JSON.stringify({ schema: TELEMETRY_SCHEMA, deviceId: 'box-1', windows: [window] });
    await c.publishAsync(deviceTopic('box-1', 'telemetry'), batch, { qos: 1 });
    await c.publishAsync(deviceTopic('box-1', 'telemetry'), batch, { qos: 1 }); // a resend is a no-op
    const ack = await waitFor('the second ack at box-1', () => got[deviceTopic('box-1', 'ack')]?.[1], { timeoutMs: 15_000, intervalMs: 50 });
    assert.deepEqual(JSON.parse(ack.toString()), { schema: 'edgefleet.ack/v1', ranges: [[1, 1]], known: [[1, 1]], maxSeq: 1 }, 'the resend is named as held already');
    const stored = await api('GET', '/devices/box-1/windows');
    assert.equal((stored['windows'] as unknown[]).length, 1);
  } finally {
    await device.client?.endAsync();
    await hub.stop();
    await mosq.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
