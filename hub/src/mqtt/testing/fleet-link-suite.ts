// One test suite run against every FleetLink implementation (STYLE.md practice 6):
// the embedded aedes broker and an external Mosquitto configured by
// mosquitto-config.ts. Where the two enforce a rule differently (MQTT 3.1.1 has
// no negative SUBACK-free way to refuse a publish), the suite checks the outcome
// that matters: nothing reaches anyone it should not.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import { TRUST_TOPIC } from '@edgefleet/shared';
import type { FleetLink, IncomingMessages } from '../ports.js';
import { collect, connectDevice, deviceTopic, presenceMsg, stateMsg, tryPublish, trySubscribe, type MemoryDevices } from './devices.js';
import { waitFor } from '@edgefleet/examples';

export interface LinkHarness {
  link: FleetLink;
  /** The URL devices connect to. */
  url: string;
  devices: MemoryDevices;
  maxPayloadBytes: number;
  caps: {
    /** Refused subscriptions get SUBACK 0x80 (embedded) rather than silently matching nothing. */
    subackRefusals: boolean;
    /** A client id different from the username is refused (Mosquitto replaces it instead). */
    refusesClientIdMismatch: boolean;
    /** link.disconnect() drops a connected device. */
    kicksOnRevoke: boolean;
  };
  /** Revokes a device in the hub's store (and, for an external broker, its password entry). */
  revoke(id: string): Promise<void>;
  close(): Promise<void>;
}

export const SUITE_DEVICES = Array.from({ length: 16 }, (_, i) => ({ id: `dev-${i + 1}`, secret: `secret-${i + 1}-${'x'.repeat(8)}` }));

export function fleetLinkSuite(name: string, makeHarness: (devices: typeof SUITE_DEVICES) => Promise<LinkHarness>): void {
  describe(`FleetLink: ${name}`, () => {
    let h: LinkHarness;
    const clients: MqttClient[] = [];
    const states: Array<{ deviceId: string; msg: IncomingMessages['state'] }> = [];
    const dev = (n: number) => SUITE_DEVICES[n - 1]!;
    async function connect(n: number, extra = {}): Promise<MqttClient> {
      const c = await connectDevice(h.url, dev(n).id, dev(n).secret, extra);
      clients.push(c);
      return c;
    }
    /** Publishes a valid state from device n and waits for the hub to see it: a sentinel after a refused act. */
    async function sentinel(n: number, seq: number): Promise<void> {
      const c = await connect(n);
      await c.publishAsync(deviceTopic(dev(n).id, 'state'), stateMsg(dev(n).id, seq));
      await waitFor(`sentinel state ${seq} from ${dev(n).id}`, () => states.some((s) => s.deviceId === dev(n).id && s.msg.lastAppliedSeq === seq), { intervalMs: 10 });
      c.end(true);
    }

    before(async () => {
      h = await makeHarness(SUITE_DEVICES);
      h.link.on('state', (deviceId, msg) => {
        states.push({ deviceId, msg });
      });
    });
    after(async () => {
      for (const c of clients) c.end(true);
      await h.close();
    });

    it('delivers a valid state to the hub, parsed and validated', async () => {
      const c = await connect(1);
      await c.publishAsync(deviceTopic(dev(1).id, 'state'), stateMsg(dev(1).id, 7), { qos: 1, retain: true });
      await waitFor('state from dev-1', () => states.some((s) => s.deviceId === dev(1).id), { intervalMs: 10 });
      const got = states.find((s) => s.deviceId === dev(1).id)!;
      assert.equal(got.msg.lastAppliedSeq, 7);
      assert.deepEqual(got.msg.capabilities, []);
    });

    it('refuses a wrong secret and an unknown device at CONNECT', async () => {
      await assert.rejects(connectDevice(h.url, dev(2).id, 'wrong-secret'), /not authorized|bad user|closed/i);
      await assert.rejects(connectDevice(h.url, 'nobody', 'whatever'), /not authorized|bad user|closed/i);
    });

    it('a client id other than the username cannot act as that id', async () => {
      if (h.caps.refusesClientIdMismatch) {
        await assert.rejects(connectDevice(h.url, dev(3).id, dev(3).secret, { clientId: dev(4).id }), /identifier rejected|closed/i);
        return;
      }
      // Mosquitto (use_username_as_clientid): the id is replaced, so dev-3 remains dev-3.
      const c = await connect(3, { clientId: dev(4).id });
      await tryPublish(c, deviceTopic(dev(4).id, 'state'), stateMsg(dev(4).id, 99));
      await sentinel(4, 1);
      assert.equal(states.some((s) => s.deviceId === dev(4).id && s.msg.lastAppliedSeq === 99), false);
    });

    it("does not deliver a publish on another device's topic or a hub-owned topic", async () => {
      const b = await connect(6);
      const bGot = collect(b);
      await b.subscribeAsync(deviceTopic(dev(6).id, 'desired'), { qos: 1 });
      const a = await connect(5);
      // Each refused publish may close the connection (aedes), so reconnect between them.
      const attempts: Array<[string, string, boolean]> = [
        [deviceTopic(dev(6).id, 'state'), stateMsg(dev(6).id, 55), false],
        [deviceTopic(dev(6).id, 'desired'), '{"forged":true}', true],
        [deviceTopic(dev(5).id, 'desired'), '{"forged":true}', true],
        ['ef/v1/trust', '{"forged":true}', true],
      ];
      let c = a;
      for (const [topic, payload, retain] of attempts) {
        if (!c.connected) c = await connect(5);
        await tryPublish(c, topic, payload, { retain });
      }
      await sentinel(6, 2);
      assert.equal(states.some((s) => s.deviceId === dev(6).id && s.msg.lastAppliedSeq === 55), false);
      // A later subscriber sees no forged retained message either.
      const late = await connect(7);
      const lateGot = collect(late);
      await late.subscribeAsync(TRUST_TOPIC, { qos: 1 });
      await h.link.publish(dev(7).id, 'ack', '{"sentinel":1}');
      await late.subscribeAsync(deviceTopic(dev(7).id, 'ack'), { qos: 1 });
      await h.link.publish(dev(7).id, 'ack', '{"sentinel":2}');
      await waitFor('ack sentinel', () => lateGot.some((m) => m.payload.includes('"sentinel":2')), { intervalMs: 10 });
      assert.equal(lateGot.some((m) => m.payload.includes('forged')), false);
      assert.equal(bGot.some((m) => m.payload.includes('forged')), false);
    });

    it("a device cannot read another device's retained desired state, even with # or +", async () => {
      await h.link.publish(dev(9).id, 'desired', '{"secret-doc":"for dev-9"}', { retain: true });
      const a = await connect(8);
      const got = collect(a);
      await a.subscribeAsync(deviceTopic(dev(8).id, 'ack'), { qos: 1 });
      for (const filter of ['#', 'ef/v1/d/+/desired', deviceTopic(dev(9).id, 'desired'), 'ef/v1/d/dev-9/#', '$SYS/#', `$share/g/${deviceTopic(dev(9).id, 'desired')}`]) {
        const granted = await trySubscribe(a, filter);
        if (h.caps.subackRefusals) assert.equal(granted, 128, `SUBACK for ${filter}`);
      }
      await h.link.publish(dev(9).id, 'desired', '{"secret-doc":"live"}', { retain: true });
      await h.link.publish(dev(8).id, 'ack', '{"sentinel":true}');
      await waitFor('own ack', () => got.some((m) => m.payload.includes('sentinel')), { intervalMs: 10 });
      assert.deepEqual(got.map((m) => m.topic), [deviceTopic(dev(8).id, 'ack')]);
      // The owner does get its document.
      const b = await connect(9);
      const bGot = collect(b);
      await b.subscribeAsync(deviceTopic(dev(9).id, 'desired'), { qos: 1 });
      await waitFor('dev-9 desired', () => bGot.length > 0, { intervalMs: 10 });
      assert.match(bGot[0]!.payload, /secret-doc/);
    });

    it('delivers the trust document to devices', async () => {
      await h.link.publishTrust({ schema: 'test-trust', version: 3 });
      const c = await connect(10);
      const got = collect(c);
      await c.subscribeAsync(TRUST_TOPIC, { qos: 1 });
      await waitFor('trust', () => got.length > 0, { intervalMs: 10 });
      assert.deepEqual(JSON.parse(got[0]!.payload), { schema: 'test-trust', version: 3 });
    });

    it("refuses a last will on someone else's topic; it never reaches the hub", async () => {
      const will = { topic: deviceTopic(dev(12).id, 'state'), payload: Buffer.from(stateMsg(dev(12).id, 77)), qos: 1 as const, retain: false };
      try {
        const c = await connect(11, { will });
        c.stream.destroy(); // die without DISCONNECT so a will would fire
      } catch (err) {
        assert.match((err as Error).message, /not authorized|closed/i);
      }
      await sentinel(12, 3);
      assert.equal(states.some((s) => s.deviceId === dev(12).id && s.msg.lastAppliedSeq === 77), false);
    });

    it('refuses payloads over the configured size', async () => {
      const c = await connect(13);
      const big = stateMsg(dev(13).id, 88).replace('"capabilities":[]', `"capabilities":["${'y'.repeat(h.maxPayloadBytes)}"]`);
      await tryPublish(c, deviceTopic(dev(13).id, 'state'), big);
      await sentinel(13, 4);
      assert.equal(states.some((s) => s.deviceId === dev(13).id && s.msg.lastAppliedSeq === 88), false);
    });

    it('refuses a QoS 2 publish (held until PUBREL, docs/mqtt.md): the connection closes, the hub never sees it', async () => {
      const c = await connect(16);
      assert.equal(await tryPublish(c, deviceTopic(dev(16).id, 'state'), stateMsg(dev(16).id, 99), { qos: 2 }), 'closed');
      await sentinel(16, 5);
      assert.deepEqual(states.filter((s) => s.deviceId === dev(16).id).map((s) => s.msg.lastAppliedSeq), [5]);
    });

    it('counts and drops invalid messages while valid ones still flow', async () => {
      const c = await connect(14);
      const t = deviceTopic(dev(14).id, 'state');
      await c.publishAsync(t, 'not json');
      await c.publishAsync(t, JSON.stringify({ schema: 'edgefleet.state/v1', deviceId: dev(14).id }));
      await c.publishAsync(t, stateMsg(dev(1).id, 5), { qos: 1 }); // deviceId does not match the topic
      await c.publishAsync(deviceTopic(dev(14).id, 'telemetry'), '{"schema":"edgefleet.telemetry/v9"}');
      await c.publishAsync(t, stateMsg(dev(14).id, 6));
      await waitFor('valid state after invalid ones', () => states.some((s) => s.deviceId === dev(14).id), { intervalMs: 10 });
      assert.deepEqual(states.filter((s) => s.deviceId === dev(14).id).map((s) => s.msg.lastAppliedSeq), [6]);
      const counts = h.link.invalidCounts().filter((x) => x.deviceId === dev(14).id);
      assert.deepEqual(counts.sort((x, y) => x.kind.localeCompare(y.kind)), [
        { deviceId: dev(14).id, kind: 'state', count: 3 },
        { deviceId: dev(14).id, kind: 'telemetry', count: 1 },
      ]);
    });

    it('tracks presence: online on connect, offline when the device dies (last will)', async () => {
      const n = 2;
      const ups: string[] = [];
      const downs: string[] = [];
      const offUp = h.link.onConnect((id) => ups.push(id));
      const offDown = h.link.onDisconnect((id) => downs.push(id));
      const will = { topic: deviceTopic(dev(n).id, 'presence'), payload: Buffer.from(presenceMsg(false)), qos: 1 as const, retain: true };
      const c = await connect(n, { will });
      await c.publishAsync(deviceTopic(dev(n).id, 'presence'), presenceMsg(true), { qos: 1, retain: true });
      await waitFor('onConnect', () => ups.includes(dev(n).id), { intervalMs: 10 });
      await waitFor('markSeen online', () => h.devices.seen.some((s) => s.id === dev(n).id && s.online), { intervalMs: 10 });
      assert.ok(h.link.connectedCount() >= 1);
      c.stream.destroy();
      await waitFor('onDisconnect', () => downs.includes(dev(n).id), { intervalMs: 10 });
      await waitFor('markSeen offline', () => h.devices.seen.some((s) => s.id === dev(n).id && !s.online), { intervalMs: 10 });
      offUp();
      offDown();
    });

    it('revocation takes effect on a connected device', async () => {
      const n = 3;
      const c = await connect(n);
      await h.revoke(dev(n).id);
      if (h.caps.kicksOnRevoke) {
        const gone = new Promise<void>((r) => c.once('close', () => r()));
        assert.equal(await h.link.disconnect(dev(n).id), true);
        await gone;
      } else {
        assert.equal(await h.link.disconnect(dev(n).id), false);
      }
      await assert.rejects(connectDevice(h.url, dev(n).id, dev(n).secret), /not authorized|bad user|closed/i);
    });

    it('publishes at QoS 0 when asked (acks, docs/decisions/0048-stored-window-text.md), at QoS 1 otherwise', async () => {
      const n = 15;
      const c = await connect(n);
      const got: Array<{ payload: string; qos: number }> = [];
      c.on('message', (_t, payload, packet) => got.push({ payload: payload.toString(), qos: packet.qos }));
      await c.subscribeAsync(deviceTopic(dev(n).id, 'ack'), { qos: 1 });
      await h.link.publish(dev(n).id, 'ack', '{"q":0}', { qos: 0 });
      await h.link.publish(dev(n).id, 'ack', '{"q":1}');
      await waitFor('both acks', () => got.length === 2 || undefined, { intervalMs: 10 });
      assert.deepEqual(got.map((m) => [m.payload, m.qos]).sort(), [['{"q":0}', 0], ['{"q":1}', 1]]);
    });
  });
}
