// A stop closes the link within its deadline even when a publish of the link is never acked (docs/agent.md
// "Stopping"). When the offline presence is acked, the close is graceful (MQTT.js end(false)), and MQTT.js
// waits for the PUBACK of every publish still in flight before it sends DISCONNECT: a telemetry message the
// hub holds (a quota throttle, a hub that is behind) kept the stopped agent's connection open. The close's
// fallback after its 0.5 s, end(true), is ignored by MQTT.js while an end is under way, so the connection
// stayed up, pinging, with the stopped agent's message handler on it, until that PUBACK came. A real aedes
// broker that reads the telemetry and the presence in one batch and holds the telemetry's PUBACK.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { Aedes, type AuthorizePublishHandler } from 'aedes';
import type { MqttClient } from 'mqtt';
import { waitFor } from '@edgefleet/examples';
import { agentOnBroker, makeKit } from '../testing.js';
import { addWindow } from './outbox-testing.js';
import { readLink } from './link-state.js';

describe('sync: stop with a publish the broker never acks', () => {
  it('closes the connection by force after its deadline', async (t) => {
    const held: Array<() => void> = [];
    const authorizePublish: AuthorizePublishHandler = (_client, packet, done) => {
      if (packet.topic.endsWith('/telemetry')) held.push(() => done(null)); // its PUBACK waits
      else done(null);
    };
    const broker = await Aedes.createBroker({ authorizePublish });
    const server = createServer(broker.handle);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // Stopped, then the server, the broker and the kit, after the test.
    const agent = agentOnBroker(t, { kit: makeKit('ef-stop-force-'), deviceId: 'box-f', url, broker, server });
    try {
      await agent.start();
      const sync = agent.sync!;
      // Up: subscribed, presence and state sent, the outbox sending (readLink: the link state recorded in agent.db).
      await waitFor('the link up', () => readLink(agent.db)?.state === 'up' || undefined, { timeoutMs: 20_000, intervalMs: 10 });
      // The client itself: whether it is closed after stop is the subject (SyncClient keeps it private).
      const client = (sync as unknown as { client: MqttClient }).client;
      let closed = false;
      client.on('close', () => { closed = true; });
      // The stop begins as the telemetry leaves: its offline presence follows in the same turn, so the broker
      // reads both at once, acks the presence and holds the telemetry.
      let stopping: Promise<void> | undefined;
      client.on('packetsend', (p) => {
        if (p.cmd === 'publish' && p.topic.endsWith('/telemetry')) stopping ??= sync.stop();
      });
      addWindow(agent.db);
      sync.outboxChanged();
      await waitFor('the stop begun with the telemetry on its way', () => (stopping ? true : undefined), { timeoutMs: 10_000, intervalMs: 5 });
      const t0 = Date.now();
      await stopping;
      assert.ok(held.length >= 1, 'the broker holds the telemetry\'s PUBACK');
      await waitFor('the stopped agent\'s connection closed', () => closed || undefined, { timeoutMs: 3000, intervalMs: 10 });
      assert.ok(Date.now() - t0 < 3000, 'closed within the stop\'s budget');
      assert.equal(client.connected, false);
    } finally {
      for (const release of held.splice(0)) release();
    }
  });
});
