// An external broker that cannot be reached when the hub starts is waited for (externalBroker.waitMs,
// external-connect.ts; docs/mqtt.md "External broker"), on a real Mosquitto: down at start and up 3 s
// later, the link connects and a device's message reaches it; never up, the start fails after the wait
// with the broker named; a wrong password is not waited for; stop() ends the wait, and an attempt a
// silent address holds, at once. Before, a broker down at start failed the start at once (IO_ERROR),
// and a service manager soon gave up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import mqtt from 'mqtt';
import { deviceTopic, type AppError } from '@edgefleet/shared';
import { waitFor } from '@edgefleet/examples/fleet';
import { createExternalLink } from './external.js';
import { MemoryDevices, RecordingLogger, RecordingMetrics, presenceMsg } from './testing/devices.js';
import { MOSQUITTO, startMosquitto } from './testing/mosquitto.js';

const skip = existsSync(MOSQUITTO) ? false : `${MOSQUITTO} not installed`;

const link = (url: string, password: string, waitMs: number, logger = new RecordingLogger()) => createExternalLink({
  url, username: 'hub-1', password, clientId: 'hub-1', shareGroup: 'edgefleet', connectTimeoutMs: 5000, waitMs,
  devices: new MemoryDevices(), metrics: new RecordingMetrics(), logger, clock: { now: () => new Date() },
});
const waitLines = (logger: RecordingLogger) => logger.lines.filter((l) => /cannot be reached yet: waiting up to/.test(l.msg ?? ''));

test('a broker down at start and up 3 s later: the link waits, connects, and a device\'s message reaches it', { skip }, async (t) => {
  const box = { id: 'box-1', secret: 'box-secret-0123456789' };
  const mosq = await startMosquitto([box]);
  t.after(() => mosq.stop());
  await mosq.down();
  const logger = new RecordingLogger();
  const hub = link(mosq.url, mosq.hub.password, 60_000, logger);
  t.after(() => hub.stop());
  const online: string[] = [];
  hub.onConnect((id) => online.push(id));
  const started = hub.start();
  await waitFor('the wait logged', () => waitLines(logger).length > 0, { timeoutMs: 5000 });
  assert.equal(waitLines(logger)[0]?.msg, `broker ${mosq.url} cannot be reached yet: waiting up to 60 s (externalBroker.waitMs)`);
  await new Promise((r) => setTimeout(r, 3000));
  await mosq.up();
  await started;
  assert.equal(waitLines(logger).length, 1, 'logged once, not at every attempt');
  assert.ok(logger.lines.some((l) => l.msg === `broker ${mosq.url} reached: starting`));
  // A device's presence reaches the hub only over a live subscription.
  const dev = await mqtt.connectAsync(mosq.url, { username: box.id, password: box.secret, clientId: box.id, protocolVersion: 4, reconnectPeriod: 0 });
  t.after(() => dev.endAsync());
  await dev.publishAsync(deviceTopic(box.id, 'presence'), presenceMsg(true), { qos: 1 });
  await waitFor('the device\'s presence at the hub', () => online.includes(box.id), { timeoutMs: 10_000 });
});

test('a broker that never comes: the start fails after waitMs with the broker named', { skip }, async () => {
  const mosq = await startMosquitto([]);
  try {
    await mosq.down();
    const logger = new RecordingLogger();
    const t0 = Date.now();
    await assert.rejects(link(mosq.url, mosq.hub.password, 2500, logger).start(), (e: AppError) => {
      assert.equal(e.code, 'IO_ERROR');
      const port = new URL(mosq.url).port;
      assert.match(e.message, new RegExp(`^cannot connect to the external MQTT broker mqtt://127\\.0\\.0\\.1:${port} as hub-1: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}; tried again every second for [12] s \\(externalBroker\\.waitMs 2500\\)$`));
      return true;
    });
    const took = Date.now() - t0;
    assert.ok(took >= 1500 && took < 5000, `failed after ${took} ms`);
    assert.equal(waitLines(logger).length, 1);
  } finally {
    await mosq.stop();
  }
});

test('a broker that refuses the hub\'s password is not waited for', { skip }, async () => {
  const mosq = await startMosquitto([]);
  try {
    const logger = new RecordingLogger();
    const t0 = Date.now();
    await assert.rejects(link(mosq.url, 'not-the-password', 60_000, logger).start(), (e: AppError) => {
      assert.equal(e.code, 'IO_ERROR');
      assert.match(e.message, /as hub-1: Connection refused: (Not authorized|Bad username or password)$/);
      return true;
    });
    assert.ok(Date.now() - t0 < 5000, `refused after ${Date.now() - t0} ms`);
    assert.equal(waitLines(logger).length, 0);
  } finally {
    await mosq.stop();
  }
});

test('stop() during the wait ends it at once', { skip }, async () => {
  const mosq = await startMosquitto([]);
  try {
    await mosq.down();
    const logger = new RecordingLogger();
    const hub = link(mosq.url, mosq.hub.password, 60_000, logger);
    const started = hub.start();
    await waitFor('the wait logged', () => waitLines(logger).length > 0, { timeoutMs: 5000 });
    const t0 = Date.now();
    await hub.stop();
    await assert.rejects(started, (e: AppError) => e.code === 'IO_ERROR' && e.message === `stopped while waiting for the external MQTT broker ${mosq.url}`);
    assert.ok(Date.now() - t0 < 1000, `ended after ${Date.now() - t0} ms`);
  } finally {
    await mosq.stop();
  }
});

test('stop() during an attempt a silent address holds (no CONNACK yet) ends it at once', async () => {
  const sockets: Socket[] = [];
  const silent = createServer((sock) => { sockets.push(sock); sock.resume(); });
  const port = await new Promise<number>((resolve) => silent.listen(0, '127.0.0.1', () => resolve((silent.address() as { port: number }).port)));
  try {
    const hub = link(`mqtt://127.0.0.1:${port}`, 'p', 60_000);
    const started = hub.start();
    await waitFor('the attempt connected', () => sockets.length > 0, { timeoutMs: 5000 });
    const t0 = Date.now();
    await hub.stop();
    await assert.rejects(started, (e: AppError) => e.code === 'IO_ERROR' && e.message.startsWith('stopped while waiting for the external MQTT broker'));
    assert.ok(Date.now() - t0 < 1000, `ended after ${Date.now() - t0} ms (the connect timeout is 5 s)`);
  } finally {
    for (const sock of sockets) sock.destroy();
    silent.close();
  }
});
