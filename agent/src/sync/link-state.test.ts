// The hub link as `edgefleet-agent status` shows it (docs/agent.md "CLI"): an agent in-process
// enrolled with an unreachable broker but told another one by its config (a real aedes on port 0).
// Status read without that config names the broker actually used and the link up; the broker's
// sockets are cut -> "hub link down" once, the link down in status; the broker back on the same
// port -> "hub link up" once; after the agent stops the record says so and turns stale with time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Aedes } from 'aedes';
import { pino } from 'pino';
import { CREDENTIALS_SCHEMA } from '@edgefleet/shared';
import { waitFor } from '@edgefleet/examples/fleet';
import { createAgent } from '../agent.js';
import { openStore } from '../store/agent-store.js';
import { agentStatus, formatStatus, type AgentStatus } from '../cli/status.js';
import { makeKit, testConfig } from '../testing.js';
import { LINK_HEARTBEAT_MS } from './link-state.js';

async function listen(broker: Aedes, port: number): Promise<{ server: Server; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    broker.handle(s);
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return { server, sockets };
}

test('status shows the broker in use and the link state; a drop and a recovery are logged once each', async (t) => {
  const kit = makeKit('ef-link-');
  const data = join(kit.dir, 'data');
  mkdirSync(data, { recursive: true });
  const broker = await Aedes.createBroker();
  let net = await listen(broker, 0);
  const port = (net.server.address() as AddressInfo).port;
  const used = `mqtt://127.0.0.1:${port}`;
  const enrolled = 'mqtt://127.0.0.1:1';
  writeFileSync(join(data, 'credentials.json'), JSON.stringify({ schema: CREDENTIALS_SCHEMA, deviceId: 'box-l', secret: 's'.repeat(24), brokers: [enrolled] }));
  writeFileSync(join(data, 'trust.json'), JSON.stringify(kit.trust.doc));
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write(chunk: Buffer, _e, cb) { lines.push(chunk.toString()); cb(); } }));
  const agent = createAgent(testConfig(data, { sync: { brokerUrl: used, reconnectMs: 100 } }), { logger, reconcileMs: 0 });
  t.after(async () => {
    await agent.stop();
    net.server.close();
    await new Promise<void>((r) => broker.close(() => r()));
    kit.cleanup();
  });
  // What the status command sees: the data dir's store and a config without the daemon's override.
  const status = (now = Date.now()): AgentStatus => {
    const s = openStore(data, false);
    try {
      return agentStatus(s, testConfig(data), now);
    } finally {
      s.db.close();
    }
  };
  const link = (now?: number) => {
    const h = status(now).hub;
    assert.ok(h.enrolled);
    return h;
  };
  const count = (msg: string) => lines.filter((l) => l.includes(`"msg":"${msg}"`)).length;

  await agent.start();
  await waitFor('the link up in status', () => link().link.state === 'up', { timeoutMs: 20_000 });
  assert.equal(link().broker, used, 'the broker the daemon uses, not the enrolled one');
  assert.match(formatStatus(status()), new RegExp(`via ${used.replace(/\./g, '\\.')}\\nhub link     up since `));

  // The link drops: the broker goes away with every connection.
  net.server.close();
  for (const s of net.sockets) s.destroy();
  await waitFor('the link down in status', () => link().link.state === 'down', { timeoutMs: 20_000 });
  await waitFor('hub link down logged', () => count('hub link down') === 1, { timeoutMs: 5000 });
  assert.equal(count('hub link up'), 0);

  net = await listen(broker, port);
  await waitFor('the link up again', () => link().link.state === 'up' && count('hub link up') === 1, { timeoutMs: 20_000 });
  assert.equal(count('hub link down'), 1, 'the reconnect attempts while down log no second drop');

  await agent.stop();
  const after = link();
  assert.deepEqual([after.link.state, after.link.reason, after.link.stale], ['down', 'agent stopped', false]);
  const later = link(Date.parse(after.link.at!) + 3 * LINK_HEARTBEAT_MS + 1000);
  assert.equal(later.link.stale, true, 'no daemon refreshed it');
  assert.equal(later.broker, enrolled, 'a stale record does not name the broker');
  assert.match(formatStatus(status(Date.parse(after.link.at!) + 3 * LINK_HEARTBEAT_MS + 1000)), /hub link {5}unknown: no running agent \(last recorded down since .* \(agent stopped\), at /);
});
