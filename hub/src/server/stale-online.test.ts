// A hub on its embedded broker that was killed (SIGKILL, power cut) left the devices connected then
// marked online; the next start marks them offline, since no device is connected to a broker that has
// just started, and keeps their last-seen times (docs/hub.md, GET /devices).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { makeFixture, waitFor } from '@edgefleet/examples';
import { HubConfig } from '../config.js';
import { Hub } from './hub.js';
import { noopLogger } from '../mqtt/ports.js';
import { systemClock } from '../clock.js';

interface Device { online: boolean; lastSeen: string | null }

test('a restart after a kill: devices the dead hub left online are offline, last seen kept', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-stale-online-'));
  const fx = await makeFixture(join(dir, 'fx'));
  const cfg = HubConfig.parse({ dataDir: join(dir, 'hub'), httpPort: 0, mqttPort: 0, host: '127.0.0.1', trust: fx.trustPath, hubKey: fx.keys.files.hub.keyPath, logLevel: 'silent' });
  const token = () => readFileSync(join(dir, 'hub', 'admin.token'), 'utf8').trim();
  const api = async (http: string, method: string, path: string, body?: unknown) => {
    const r = await fetch(`${http}/api/v1${path}`, { method, headers: { authorization: `Bearer ${token()}`, 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await r.text();
    assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  let hub = new Hub(cfg, noopLogger, systemClock);
  try {
    let addr = await hub.start();
    const secret = (await api(addr.http, 'POST', '/devices', { deviceId: 'box-1' }))['secret'] as string;
    await api(addr.http, 'POST', '/devices', { deviceId: 'box-2' });
    const client = mqtt.connect(addr.mqtt, { protocolVersion: 4, clientId: 'box-1', username: 'box-1', password: secret, reconnectPeriod: 0 });
    const seen = await waitFor('box-1 online', async () => {
      const d = (await api(addr.http, 'GET', '/devices/box-1')) as unknown as Device;
      return d.online ? d.lastSeen : undefined;
    });
    client.end(true);
    await hub.stop();
    // What a killed hub leaves: the row still says online (a clean stop marks it offline).
    const db = new Database(join(dir, 'hub', 'hub.db'));
    assert.equal(db.prepare("UPDATE devices SET online = 1, last_seen = ? WHERE id = 'box-1'").run(seen).changes, 1);
    db.close();

    hub = new Hub(cfg, noopLogger, systemClock);
    addr = await hub.start();
    const after = (await api(addr.http, 'GET', '/devices/box-1')) as unknown as Device;
    assert.equal(after.online, false, 'box-1 is not connected to the new broker');
    assert.equal(after.lastSeen, seen, 'its last seen is the dead hub\'s');
    assert.equal(((await api(addr.http, 'GET', '/devices/box-2')) as unknown as Device).online, false);
    // A device that reconnects is online again.
    const again = mqtt.connect(addr.mqtt, { protocolVersion: 4, clientId: 'box-1', username: 'box-1', password: secret, reconnectPeriod: 0 });
    try {
      await waitFor('box-1 online again', async () => ((await api(addr.http, 'GET', '/devices/box-1')) as unknown as Device).online || undefined);
    } finally {
      again.end(true);
    }
  } finally {
    await hub.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
