// A stopped agent does not reach for the broker again (docs/agent.md "Stopping"). MQTT.js ends a client
// whose reconnectPeriod is 0 and then clears its `disconnecting` flag; when the socket of an attempt in
// flight (TCP up, no CONNACK yet) closes after that, the agent's backoff listener used to set the period
// again, and MQTT.js armed a reconnect timer: the stopped client dialled the broker every few seconds for
// as long as the process lived, and its timer kept a process that embeds the agent (a test file of
// agent/src/sync/e2e.test.ts, intermittently) from ever exiting. A real TCP server on port 0 that
// accepts and never answers holds the attempt in flight.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import type { MqttClient } from 'mqtt';
import { CREDENTIALS_SCHEMA } from '@edgefleet/shared';
import { waitFor } from '@edgefleet/examples';
import { createAgent } from '../agent.js';
import { makeKit, testConfig } from '../testing.js';

describe('sync: stop during a connection attempt', () => {
  it('ends the MQTT client for good: no reconnect timer, no new attempt', async () => {
    const kit = makeKit('ef-stop-reconnect-');
    const sockets: Socket[] = [];
    const server = createServer((s) => { sockets.push(s); s.on('error', () => {}); });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const data = join(kit.dir, 'data');
      mkdirSync(data, { recursive: true });
      const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
      writeFileSync(join(data, 'credentials.json'), JSON.stringify({ schema: CREDENTIALS_SCHEMA, deviceId: 'box-s', secret: 's'.repeat(24), brokers: [url] }));
      writeFileSync(join(data, 'trust.json'), JSON.stringify(kit.trust.doc));
      const agent = createAgent(testConfig(data, { sync: { reconnectMs: 20 } }), { logger: pino({ level: 'silent' }), reconcileMs: 0 });
      await agent.start();
      await waitFor('the agent\'s first attempt accepted (TCP up, no CONNACK)', () => sockets.length >= 1, { timeoutMs: 20_000 });
      // The client itself: what it does after stop is the subject (SyncClient keeps it private).
      const client = (agent.sync as unknown as { client: MqttClient | null }).client;
      assert.ok(client && !client.connected, 'an attempt in flight, not connected');
      let closed = false;
      client.on('close', () => { closed = true; });
      const attempts = sockets.length;
      await agent.stop();
      await waitFor('the attempt\'s socket closed', () => closed, { timeoutMs: 10_000 });
      // MQTT.js arms its reconnect timer in its own 'close' listener, which has run by now.
      assert.equal(client.options.reconnectPeriod, 0, 'the stopped client keeps reconnectPeriod 0');
      assert.equal((client as unknown as { reconnectTimer: unknown }).reconnectTimer, null, 'no reconnect timer armed after stop');
      assert.equal(sockets.length, attempts, 'no attempt after the one in flight');
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      kit.cleanup();
    }
  });
});
