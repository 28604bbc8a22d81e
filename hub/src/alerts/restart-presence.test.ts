// A restarted hub does not page "devices offline" for devices that are reconnecting to it (docs/drift.md
// "Alerts"): a real hub on 127.0.0.1, devices over MQTT, a webhook receiver checking the signature.
// Before, the first pass after the start, at once, found every device offline, fired every
// devices_offline rule and resolved it seconds later: a false page at every restart or upgrade.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { makeFixture, waitFor } from '@edgefleet/examples';
import { HubConfig } from '../config.js';
import { Hub } from '../server/hub.js';
import { noopLogger } from '../mqtt/ports.js';
import { systemClock } from '../clock.js';
import { makeHarness } from '../testing/harness.js';
import { Alerts, DEFAULT_ALERTS_OPTIONS, PRESENCE_GRACE_MS } from './service.js';
import { signedReceiver } from './testing.js';

const SECRET = 'whsec-0123456789abcdef';

test('a hub restarted with its devices reconnecting sends no devices_offline webhook; one left offline stays firing', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-restart-presence-'));
  const fx = await makeFixture(join(dir, 'fx'));
  const cfg = HubConfig.parse({
    dataDir: join(dir, 'hub'), httpPort: 0, mqttPort: 0, host: '127.0.0.1', trust: fx.trustPath, hubKey: fx.keys.files.hub.keyPath, logLevel: 'silent',
    alerts: { evaluateEveryMs: 100 },
  });
  const rx = await signedReceiver(SECRET);
  const api = async (http: string, method: string, path: string, body?: unknown) => {
    const token = readFileSync(join(dir, 'hub', 'admin.token'), 'utf8').trim();
    const r = await fetch(`${http}/api/v1${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await r.text();
    assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  const secrets: Record<string, string> = {};
  let clients: MqttClient[] = [];
  const connect = async (http: string, mqttUrl: string, ids: string[]) => {
    clients.push(...ids.map((id) => mqtt.connect(mqttUrl, { protocolVersion: 4, clientId: id, username: id, password: secrets[id], reconnectPeriod: 0 })));
    await waitFor(`${ids.join(', ')} online`, async () => {
      const list = ((await api(http, 'GET', '/devices')) as { devices: Array<{ id: string; online: boolean }> }).devices;
      return ids.every((id) => list.find((d) => d.id === id)?.online) || undefined;
    });
  };
  const disconnect = () => {
    for (const c of clients) c.end(true);
    clients = [];
  };
  const evaluations = (hub: Hub) => Number(/edgefleet_alert_evaluations_total (\d+)/.exec(hub.metrics.render())?.[1] ?? 0);
  let hub = new Hub(cfg, noopLogger, systemClock);
  try {
    let addr = await hub.start();
    for (const id of ['box-1', 'box-2', 'box-3']) secrets[id] = (await api(addr.http, 'POST', '/devices', { deviceId: id }))['secret'] as string;
    await connect(addr.http, addr.mqtt, ['box-1', 'box-2']); // box-3 is down for real
    await api(addr.http, 'POST', '/alert-rules', { name: 'boxes down', metric: 'devices_offline', threshold: 1, actions: [{ type: 'webhook', url: rx.url, secret: SECRET }] });
    // Not breached with box-3 alone down: before, the restart fired it (3 offline) and resolved it.
    await api(addr.http, 'POST', '/alert-rules', { name: 'two boxes down', metric: 'devices_offline', threshold: 2, actions: [{ type: 'webhook', url: rx.url, secret: SECRET }] });
    await waitFor('the alert.firing for box-3', () => rx.got.length === 1 || undefined);
    assert.ok(rx.got[0]?.valid && rx.got[0].body.includes('"alert.firing"'), rx.got[0]?.body);
    // Stopped only once the hub recorded the delivery: a stop while the receiver's answer is on its way leaves
    // it pending, sent again after the start (delivery is at least once, docs/drift.md "Webhooks").
    const firing = ((await api(addr.http, 'GET', '/alerts')) as { alerts: Array<{ id: number }> }).alerts[0]!.id;
    await waitFor('the delivery recorded', async () => {
      const ds = ((await api(addr.http, 'GET', `/alerts/${firing}/deliveries`)) as { deliveries: Array<{ state: string }> }).deliveries;
      return ds.length > 0 && ds.every((d) => d.state === 'delivered') || undefined;
    });
    disconnect();
    await hub.stop();

    hub = new Hub(cfg, noopLogger, systemClock);
    addr = await hub.start();
    await connect(addr.http, addr.mqtt, ['box-1', 'box-2']);
    const after = evaluations(hub);
    await waitFor('five more evaluation passes', () => evaluations(hub) >= after + 5 || undefined, { timeoutMs: 30_000, intervalMs: 50 });
    await new Promise((r) => setTimeout(r, 1000)); // room for a delivery queued by those passes (sent every second)
    const sent = rx.got.map((g) => `${JSON.parse(g.body).type} ${JSON.parse(g.body).alert.rule}`);
    assert.deepEqual(sent, ['alert.firing boxes down'], 'nothing sent after the restart: the alert stays firing, no new one');
    const alerts = ((await api(addr.http, 'GET', '/alerts')) as { alerts: Array<{ state: string }> }).alerts;
    assert.deepEqual(alerts.map((a) => a.state), ['firing'], 'one alert, still firing for box-3');
  } finally {
    disconnect();
    await hub.stop();
    await rx.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('after a start, a device seen before counts as offline once the agents had time to reconnect', { timeout: 60_000 }, async () => {
  const h = makeHarness();
  const alerts = new Alerts({ store: h.store, clock: h.clock, logger: noopLogger, metrics: h.metrics }, DEFAULT_ALERTS_OPTIONS);
  try {
    h.store.devices.create('box-1', 'x'.repeat(32), {}, null, h.clock.now());
    h.store.devices.create('box-2', 'x'.repeat(32), {}, null, h.clock.now());
    h.store.devices.markSeen('box-1', false, h.clock.now()); // seen before, not connected now
    h.store.alerts.addRule({ name: 'r', metric: 'devices_offline', threshold: 2, forSec: 0, windowSec: 3600, severity: 'info', actions: [] }, { actor: 't', at: h.clock.now() });
    const never = h.store.alerts.addRule({ name: 'never seen', metric: 'devices_offline', threshold: 1, forSec: 0, windowSec: 3600, severity: 'info', actions: [] }, { actor: 't', at: h.clock.now() });
    alerts.start();
    h.clock.advance(PRESENCE_GRACE_MS - 1000);
    alerts.evaluate();
    // box-2 never connected: it is not reconnecting, and counts at once.
    assert.deepEqual(h.store.alerts.alerts({}).map((a) => [a.ruleId, a.state]), [[never.id, 'firing']]);
    h.clock.advance(1000);
    alerts.evaluate();
    assert.deepEqual(h.store.alerts.alerts({}).map((a) => [a.ruleId, a.state]).sort(), [[never.id, 'firing'], [never.id - 1, 'firing']].sort());
  } finally {
    await alerts.stop(1000);
    h.close();
  }
});
