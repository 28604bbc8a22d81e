// The whole hub (embedded broker): two real MQTT clients with one device's credentials keep taking
// each other over; the operator sees it in the audit log (actor hub), on GET /devices/{id} and in
// /metrics (docs/mqtt.md "Credentials in use twice").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { makeFixture, waitFor } from '@edgefleet/examples';
import { HubConfig } from '../config.js';
import { Hub } from './hub.js';
import { noopLogger } from '../mqtt/ports.js';
import { systemClock } from '../clock.js';

test('credentials in use twice: audit entry, device field and metric', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-twice-'));
  const fx = await makeFixture(join(dir, 'fx'));
  const hub = new Hub(
    HubConfig.parse({ dataDir: join(dir, 'hub'), httpPort: 0, mqttPort: 0, host: '127.0.0.1', trust: fx.trustPath, hubKey: fx.keys.files.hub.keyPath, logLevel: 'silent' }),
    noopLogger,
    systemClock,
  );
  const clients: MqttClient[] = [];
  try {
    const addr = await hub.start();
    const token = readFileSync(join(dir, 'hub', 'admin.token'), 'utf8').trim();
    const api = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(`${addr.http}/api/v1${path}`, {
        method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await r.text();
      assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
      return JSON.parse(text) as Record<string, unknown>;
    };
    const creds = await api('POST', '/devices', { deviceId: 'cloned-1' });
    const secret = creds['secret'] as string;
    assert.equal((await api('GET', '/devices/cloned-1'))['credentialsInUseTwice'], undefined);
    for (let i = 0; i < 2; i++) {
      clients.push(mqtt.connect(addr.mqtt, { protocolVersion: 4, clientId: 'cloned-1', username: 'cloned-1', password: secret, reconnectPeriod: 100 }));
    }
    const entries = await waitFor('the audit entry', async () => {
      const a = (await api('GET', '/audit?action=device.credentials_in_use_twice')) as { entries: Array<{ actor: string; target: string; details: { takeovers: number } }> };
      return a.entries.length > 0 ? a.entries : undefined;
    });
    assert.equal(entries[0]?.actor, 'hub');
    assert.equal(entries[0]?.target, 'cloned-1');
    assert.ok((entries[0]?.details.takeovers ?? 0) >= 3);
    const dev = (await api('GET', '/devices/cloned-1'))['credentialsInUseTwice'] as { at: string; takeovers: number } | undefined;
    assert.deepEqual(dev, entries[0]?.details);
    assert.match(await (await fetch(`${addr.http}/metrics`)).text(), /edgefleet_mqtt_credentials_in_use_twice_total 1/);
  } finally {
    for (const c of clients) c.end(true);
    await hub.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
