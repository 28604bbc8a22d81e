// A broker that refuses the agent's CONNECT (CONNACK "Not authorized") is asked again with the
// backoff (docs/agent.md `sync.reconnectMs`): with an external Mosquitto a device enrolls before the
// operator reloads the broker (docs/mqtt.md "External broker"), so its first attempts are refused.
// MQTT.js stops reconnecting after a refused CONNACK unless told otherwise; the agent then stayed
// down until restarted. A real aedes on port 0 refuses the first attempts, then accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Aedes, type AuthenticateError } from 'aedes';
import { pino } from 'pino';
import { waitFor } from '@edgefleet/examples/fleet';
import { agentOnBroker, makeKit } from '../testing.js';

test('an agent refused by the broker (Not authorized) connects once the broker accepts it', async (t) => {
  let accept = false;
  let refused = 0;
  const broker = await Aedes.createBroker({
    authenticate: (_client, _user, _password, done) => {
      if (accept) return done(null, true);
      refused += 1;
      done(Object.assign(new Error('not yet'), { returnCode: 5 }) as AuthenticateError, false);
    },
  });
  const server = createServer((s) => broker.handle(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write(chunk: Buffer, _e, cb) { lines.push(chunk.toString()); cb(); } }));
  const agent = agentOnBroker(t, {
    kit: makeKit('ef-connack-'), deviceId: 'box-r', url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`, broker, server,
    over: { sync: { reconnectMs: 100 } }, logger,
  });
  await agent.start();
  await waitFor('two refused attempts', () => refused >= 2, { timeoutMs: 20_000 });
  assert.ok(lines.some((l) => l.includes('Connection refused: Not authorized')), 'the refusal is logged');
  accept = true; // the operator reloaded the broker with the device's entry
  await waitFor('the agent connected after the refusals', () => lines.some((l) => l.includes('"msg":"connected to hub"')), { timeoutMs: 20_000 });
});
