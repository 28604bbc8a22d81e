// The whole hub (hub/src/server/hub.ts wiring of hub/src/mqtt/quota.ts): a device enrolled over REST
// floods QoS 1 publishes past `quotas` from the hub config; the hub disconnects it, and the operator
// sees it in the audit log (`device.quota_exceeded`, actor hub), on GET /devices/{id} and in /metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deviceTopic, type DeviceCredentials } from '@edgefleet/shared';
import { makeFixture, waitFor } from '@edgefleet/examples';
import { HubConfig } from '../config.js';
import { Hub } from './hub.js';
import { noopLogger } from '../mqtt/ports.js';
import { systemClock } from '../clock.js';
import { connectDevice, presenceMsg } from '../mqtt/testing/devices.js';
import { FACTS } from '../testing/harness.js';

test('hub: a device over its MQTT quota is disconnected, audited, shown on the device and counted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-hubquota-'));
  const fx = await makeFixture(join(dir, 'fx'));
  const hub = new Hub(
    HubConfig.parse({
      dataDir: join(dir, 'hub'), httpPort: 0, mqttPort: 0, trust: fx.trustPath, hubKey: fx.keys.files.hub.keyPath, logLevel: 'silent',
      quotas: { messagesPerSec: 20, burst: 10, maxDelayMs: 300 },
    }),
    noopLogger,
    systemClock,
  );
  try {
    const addr = await hub.start();
    const token = readFileSync(join(dir, 'hub', 'admin.token'), 'utf8').trim();
    const api = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(`${addr.http}${path}`, {
        method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await r.text();
      assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
      return text;
    };
    const et = JSON.parse(await api('POST', '/api/v1/enrollment-tokens', {})) as { token: string };
    const creds = JSON.parse(await api('POST', '/api/v1/enroll', { token: et.token, deviceId: 'box-1', facts: FACTS })) as DeviceCredentials;
    const c = await connectDevice(addr.mqtt, 'box-1', creds.secret);
    const closed = { yes: false };
    c.once('close', () => { closed.yes = true; });
    for (let i = 0; i < 500; i++) c.publishAsync(deviceTopic('box-1', 'presence'), presenceMsg(true), { qos: 1 }).catch(() => {});
    await waitFor('the hub closing the connection', () => closed.yes || undefined, { timeoutMs: 20_000 });
    c.end(true);

    const audit = JSON.parse(await api('GET', '/api/v1/audit?action=device.quota_exceeded')) as { entries: Array<{ actor: string; target: string; details: { kind: string; action: string } }> };
    assert.deepEqual(audit.entries.map((e) => [e.actor, e.target, e.details.kind, e.details.action]).sort(), [['hub', 'box-1', 'messages', 'disconnect'], ['hub', 'box-1', 'messages', 'throttle']]);
    const info = JSON.parse(await api('GET', '/api/v1/devices/box-1')) as { mqttQuota?: { disconnected: number; last?: { action: string } } };
    assert.equal(info.mqttQuota?.disconnected, 1);
    assert.equal(info.mqttQuota?.last?.action, 'disconnect');
    const metrics = await api('GET', '/metrics');
    assert.match(metrics, /edgefleet_mqtt_quota_exceeded_total\{kind="messages",action="disconnect"\} 1/);
    assert.match(metrics, /edgefleet_mqtt_quota_exceeded_total\{kind="messages",action="throttle"\} [1-9]/);
  } finally {
    await hub.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
