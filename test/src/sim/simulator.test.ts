// The simulator speaks the real protocol: against a real aedes broker on port 0
// that checks credentials, its messages validate with the shared schemas, wrong
// credentials are reported, and acks empty the devices' outboxes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { Aedes } from 'aedes';
import { ACK_SCHEMA, Presence, ReportedState, TelemetryBatch, deviceTopic, parseTopic, parseWireJson } from '@edgefleet/shared';
import { FleetSimulator } from './simulator.js';
import { waitFor } from '@edgefleet/examples';

const DEVICES = Array.from({ length: 20 }, (_, i) => ({ id: `sim-${i}`, secret: `s-${i}` }));

async function broker() {
  const secrets = new Map(DEVICES.map((d) => [d.id, d.secret]));
  const b = await Aedes.createBroker({
    authenticate: (client, user, pw, done) => done(null, client.id === user && user !== undefined && secrets.get(user) === pw?.toString()),
  });
  const server = net.createServer(b.handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const got: Array<{ topic: string; payload: Buffer }> = [];
  await new Promise<void>((r) => b.subscribe('ef/v1/d/#', (p, cb) => { got.push({ topic: p.topic, payload: p.payload as Buffer }); cb(); }, r));
  const publish = (topic: string, payload: string) => new Promise<void>((r) => b.publish({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: false, dup: false }, () => r()));
  return {
    url: `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`, got, publish,
    close: async () => { await new Promise<void>((r) => b.close(() => r())); await new Promise((r) => server.close(r)); },
  };
}

describe('fleet simulator', () => {
  it('connects devices with real credentials and publishes valid messages', async () => {
    const br = await broker();
    const sim = new FleetSimulator({ url: br.url, devices: [...DEVICES, { id: 'sim-0x', secret: 'wrong' }], connectConcurrency: 5 });
    try {
      const r = await sim.connectAll();
      assert.equal(r.connected, 20);
      assert.deepEqual(r.failed.map((f) => f.id), ['sim-0x']);
      assert.equal(await sim.publishRound('state'), 20);
      assert.equal(await sim.publishRound('telemetry'), 20);
      const byKind = new Map<string, number>();
      for (const m of br.got) {
        const t = parseTopic(m.topic);
        assert.ok(t && t.kind === 'device', m.topic);
        if (t.topic === 'state') assert.equal(parseWireJson(ReportedState, m.payload, 'state').deviceId, t.deviceId);
        else if (t.topic === 'telemetry') assert.equal(parseWireJson(TelemetryBatch, m.payload, 'telemetry').deviceId, t.deviceId);
        else if (t.topic === 'presence') assert.equal(parseWireJson(Presence, m.payload, 'presence').online, true);
        else assert.fail(`unexpected topic ${m.topic}`);
        byKind.set(t.topic, (byKind.get(t.topic) ?? 0) + 1);
      }
      assert.deepEqual(Object.fromEntries(byKind), { presence: 20, state: 20, telemetry: 20 });
      assert.equal(sim.pending(), 20);
      for (const d of DEVICES) await br.publish(deviceTopic(d.id, 'ack'), JSON.stringify({ schema: ACK_SCHEMA, ranges: [[1, 1]] }));
      await waitFor('every device outbox drained by the acks', () => sim.pending() === 0, { timeoutMs: 10_000, intervalMs: 10 });
    } finally {
      await sim.stop();
      await br.close();
    }
  });
});
