// The external-broker link refused at start (docs/operations.md "TLS", docs/mqtt.md): a wrong hub password
// on a real Mosquitto, and an mqtts broker whose certificate a private CA (made here with openssl) signed,
// which this process does not trust. Both are IO_ERROR naming the broker URL and the hub user; the
// certificate one says how to trust the CA. Before, the start failed with INTERNAL and Node's words only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';
import mqtt from 'mqtt';
import { PRESENCE_SCHEMA, deviceTopic, type AppError } from '@edgefleet/shared';
import { waitFor } from '@edgefleet/examples/fleet';
import { createExternalLink } from './external.js';
import { mosquittoPasswordLine } from './mosquitto-config.js';
import { MemoryDevices, RecordingLogger, RecordingMetrics } from './testing/devices.js';
import { MOSQUITTO, startMosquitto } from './testing/mosquitto.js';

const link = (url: string, password: string, username = 'hub-1', logger = new RecordingLogger()) => createExternalLink({
  url, username, password, clientId: username, shareGroup: 'edgefleet', connectTimeoutMs: 5000,
  devices: new MemoryDevices(), metrics: new RecordingMetrics(), logger, clock: { now: () => new Date() },
});

test('a wrong hub password: IO_ERROR naming the broker and the user', { skip: existsSync(MOSQUITTO) ? false : `${MOSQUITTO} not installed` }, async () => {
  const mosq = await startMosquitto([]);
  try {
    await assert.rejects(link(mosq.url, 'not-the-password', mosq.hub.user).start(), (e: AppError) => {
      assert.equal(e.code, 'IO_ERROR');
      assert.match(e.message, new RegExp(`^cannot connect to the external MQTT broker ${mosq.url.replace(/[.]/g, '\\.')} as hub-1: Connection refused: (Not authorized|Bad username or password)$`));
      return true;
    });
  } finally {
    await mosq.stop();
  }
});

// Mosquitto reloaded with a password file that no longer lets the hub in drops it and refuses it; once the
// file is right again the hub connects by itself. MQTT.js stops reconnecting after a refused CONNACK unless
// told otherwise: the hub stayed deaf to every device, logging nothing more, until restarted.
test('a hub refused mid-run by a reloaded Mosquitto connects again once the password file is right', { skip: existsSync(MOSQUITTO) ? false : `${MOSQUITTO} not installed` }, async (t) => {
  const box = { id: 'box-1', secret: 'box-secret-0123456789' };
  const mosq = await startMosquitto([box]);
  const logger = new RecordingLogger();
  const hub = link(mosq.url, mosq.hub.password, mosq.hub.user, logger);
  const online: string[] = [];
  hub.onConnect((id) => online.push(id));
  t.after(async () => {
    await hub.stop();
    await mosq.stop();
  });
  await hub.start();
  const good = readFileSync(mosq.passwordFile, 'utf8');
  writeFileSync(mosq.passwordFile, `${mosquittoPasswordLine(mosq.hub.user, 'another-password')}\n${mosquittoPasswordLine(box.id, box.secret)}\n`);
  mosq.reload();
  const refusals = () => logger.lines.filter((l) => /Connection refused: (Not authorized|Bad username or password)/.test(String((l.obj as { err?: unknown }).err))).length;
  await waitFor('the hub refused after the reload', () => refusals() >= 1, { timeoutMs: 10_000 });
  await waitFor('the hub asked again', () => refusals() >= 2, { timeoutMs: 10_000 });
  writeFileSync(mosq.passwordFile, good);
  mosq.reload();
  // A device's presence reaches the hub only over a live subscription.
  const dev = await mqtt.connectAsync(mosq.url, { username: box.id, password: box.secret, clientId: box.id, protocolVersion: 4, reconnectPeriod: 0 });
  t.after(() => dev.endAsync());
  await waitFor('the device\'s presence at the hub', async () => {
    await dev.publishAsync(deviceTopic(box.id, 'presence'), JSON.stringify({ schema: PRESENCE_SCHEMA, online: true, at: new Date().toISOString() }), { qos: 1 });
    return online.includes(box.id);
  }, { timeoutMs: 15_000, intervalMs: 500 });
});

test('a broker certificate from a CA this process does not trust: named, with NODE_EXTRA_CA_CERTS', { skip: spawnSync('openssl', ['version']).status === 0 ? false : 'openssl not installed' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-ext-tls-'));
  const ssl = (...args: string[]) => assert.equal(spawnSync('openssl', args, { cwd: dir }).status, 0, `openssl ${args.join(' ')}`);
  let server: Server | undefined;
  try {
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=test CA');
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'b.csr', '-subj', '/CN=broker');
    writeFileSync(join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1\n');
    ssl('x509', '-req', '-in', 'b.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'cert.pem', '-days', '2', '-extfile', 'ext');
    const tls = createServer({ cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) }, (s) => s.destroy());
    server = tls;
    const port = await new Promise<number>((resolve) => tls.listen(0, '127.0.0.1', () => resolve((tls.address() as { port: number }).port)));
    await assert.rejects(link(`mqtts://127.0.0.1:${port}`, 'p').start(), (e: AppError) => {
      assert.equal(e.code, 'IO_ERROR');
      assert.match(e.message, new RegExp(`^cannot connect to the external MQTT broker mqtts://127\\.0\\.0\\.1:${port} as hub-1: unable to verify the first certificate \\(the server's certificate is not signed by a CA this program trusts: for a private CA set NODE_EXTRA_CA_CERTS=`));
      return true;
    });
  } finally {
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
