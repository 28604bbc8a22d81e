// What a hostile client makes the embedded broker hold or write (refusals.ts, connect-hooks.ts), on a
// real aedes broker on 127.0.0.1 with mqtt.js clients (MQTT 3.1.1): a username that is no device id is
// refused without being tracked as one, and refusals are counted every time but logged once a minute
// per reason and device, with what the client chose clipped.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { waitFor } from '@edgefleet/examples';
import { createEmbeddedBroker } from './embedded.js';
import { CLIPPED_CHARS } from './refusals.js';
import { MemoryDevices, RecordingLogger, RecordingMetrics, connectDevice, deviceTopic, trySubscribe } from './testing/devices.js';

function setup(limits: { pendingPerAddress?: number; pendingTotal?: number } = {}) {
  const devices = new MemoryDevices();
  devices.add('dev-a', 's');
  let now = Date.parse('2026-01-01T00:00:00Z');
  const metrics = new RecordingMetrics();
  const logger = new RecordingLogger();
  const link = createEmbeddedBroker({
    tcpPort: 0, host: '127.0.0.1', maxPayloadBytes: 16 * 1024,
    connectRateLimit: { perAddressPerMinute: 1000, failuresPerIdPerMinute: 10, coolDownMs: 60_000, ...limits },
    devices, metrics, logger, clock: { now: () => new Date(now) },
  });
  const refusals = (reason: string) => logger.lines.filter((l) => l.msg === `mqtt refused: ${reason}`).map((l) => l.obj as Record<string, unknown>);
  const counted = (reason: string) => metrics.counters.get(`edgefleet_mqtt_refused_total{"reason":"${reason}"}`) ?? 0;
  return { link, refusals, counted, advance: (ms: number) => { now += ms; } };
}

/** A logged string a client chose: at most CLIPPED_CHARS of it, and its length. */
function assertClipped(v: unknown, length: number): void {
  assert.equal(typeof v, 'string');
  assert.ok((v as string).length < CLIPPED_CHARS + 40, `logged ${(v as string).length} characters`);
  assert.match(v as string, new RegExp(`… \\(${length} characters\\)$`));
}

describe('embedded broker: what a hostile client makes it hold or write', () => {
  it('a username that is no device id: CONNACK 4 every time, never tracked or locked as an id, logged once a minute clipped', async () => {
    const s = setup();
    await s.link.start();
    try {
      const url = s.link.address().mqtt;
      const results: string[] = [];
      // 30,000 characters (client id and username within the packet limit). Tracked as an id, it was
      // locked after 10 failures (CONNACK 3), and 100,000 such ids of 65,000 characters held 6 GB.
      const id = `0-${'u'.repeat(30_000)}`;
      for (let i = 0; i < 12; i++) {
        await connectDevice(url, id, 'guess').then(
          (c) => { c.end(true); results.push('connected'); },
          (err: Error) => results.push(/server unavailable/i.test(err.message) ? 'locked' : /bad user/i.test(err.message) ? 'bad' : err.message),
        );
      }
      // One character over a device id's 128.
      await connectDevice(url, 'x'.repeat(129), 'guess').then((c) => { c.end(true); results.push('connected'); }, (err: Error) => results.push(/bad user/i.test(err.message) ? 'bad' : err.message));
      assert.deepEqual(results, Array(13).fill('bad'));
      assert.equal(s.counted('bad_username'), 13);
      const lines = s.refusals('bad_username');
      assert.equal(lines.length, 1, 'one line a minute for one address');
      assertClipped(lines[0]?.['username'], 30_002);
      assert.equal(lines[0]?.['address'], '127.0.0.1');
      // A real device on the same address still connects.
      (await connectDevice(url, 'dev-a', 's')).end(true);
    } finally {
      await s.link.stop();
    }
  });

  it('refused subscriptions are counted each, logged once a minute per device with how many were not, the filter clipped', async () => {
    const s = setup();
    await s.link.start();
    try {
      const c = await connectDevice(s.link.address().mqtt, 'dev-a', 's');
      const filter = (i: number) => `ef/v1/d/dev-b/${i}${'z'.repeat(20_000)}`;
      for (let i = 0; i < 50; i++) assert.equal(await trySubscribe(c, filter(i)), 128);
      assert.equal(s.counted('subscribe_refused'), 50);
      let lines = s.refusals('subscribe_refused');
      assert.equal(lines.length, 1, 'one line within the minute');
      assert.equal(lines[0]?.['deviceId'], 'dev-a');
      assert.equal(lines[0]?.['unloggedBefore'], 0);
      assertClipped(lines[0]?.['why'], `subscription ${filter(0)} refused: a device may subscribe only to ef/v1/d/dev-a/{desired,ack,blob/data,capture/ack} and ef/v1/trust`.length);
      // Its own topics are still granted, and a minute later the next refusal is logged with the count.
      assert.equal(await trySubscribe(c, deviceTopic('dev-a', 'ack')), 1);
      s.advance(60_000);
      assert.equal(await trySubscribe(c, '#'), 128);
      lines = s.refusals('subscribe_refused');
      assert.equal(lines.length, 2);
      assert.equal(lines[1]?.['unloggedBefore'], 49);
      assert.equal(lines[1]?.['why'], 'subscription # refused: wildcards, $SYS and $share are not allowed for devices');
      c.end(true);
    } finally {
      await s.link.stop();
    }
  });

  it('sockets that never send CONNECT: one address holds at most pendingPerAddress, the next is closed on accept; answered ones give their place back', async () => {
    const s = setup({ pendingPerAddress: 3 });
    await s.link.start();
    const idle: net.Socket[] = [];
    try {
      const url = s.link.address().mqtt;
      const port = Number(new URL(url).port);
      // A CONNACK, refused or not, gives the place back: more connects than places, one after another.
      for (let i = 0; i < 5; i++) await assert.rejects(connectDevice(url, 'dev-a', 'wrong'), /bad user/i);
      const devices = [];
      for (let i = 0; i < 5; i++) devices.push(await connectDevice(url, 'dev-a', 's'));
      for (const c of devices) c.end(true);
      // Three sockets that send nothing hold the address's places (for aedes' connectTimeout, 10 s) ...
      for (let i = 0; i < 3; i++) {
        const sock = net.connect(port, '127.0.0.1');
        sock.on('error', () => undefined);
        await once(sock, 'connect');
        idle.push(sock);
      }
      // ... and a fourth is closed at once, counted (before the cap it was held like the others).
      const fourth = net.connect(port, '127.0.0.1');
      fourth.on('error', () => undefined);
      await once(fourth, 'close');
      assert.equal(s.counted('pending_connects'), 1);
      const line = s.refusals('pending_connects')[0];
      assert.deepEqual([line?.['address'], line?.['limit']], ['127.0.0.1', 3]);
      // Closed, they give their places back: a device on the same address connects.
      for (const sock of idle) sock.destroy();
      const c = await waitFor('a device connects once the idle sockets are closed', () => connectDevice(url, 'dev-a', 's').catch(() => undefined));
      c.end(true);
    } finally {
      for (const sock of idle) sock.destroy();
      await s.link.stop();
    }
  });

  it('sockets that never send CONNECT: all addresses together hold at most pendingTotal, the address\'s own share aside', async () => {
    const s = setup({ pendingPerAddress: 10, pendingTotal: 2 });
    await s.link.start();
    const idle: net.Socket[] = [];
    try {
      const port = Number(new URL(s.link.address().mqtt).port);
      for (let i = 0; i < 2; i++) {
        const sock = net.connect(port, '127.0.0.1');
        sock.on('error', () => undefined);
        await once(sock, 'connect');
        idle.push(sock);
      }
      // The address holds 2 of its 10, but all addresses together hold the total: the third is closed at once.
      const third = net.connect(port, '127.0.0.1');
      third.on('error', () => undefined);
      await once(third, 'close');
      assert.equal(s.counted('pending_connects'), 1);
      const line = s.refusals('pending_connects')[0];
      assert.deepEqual([line?.['address'], line?.['limit'], line?.['scope']], ['127.0.0.1', 2, 'all addresses']);
      for (const sock of idle) sock.destroy();
      const c = await waitFor('a device connects once the idle sockets are closed', () => connectDevice(s.link.address().mqtt, 'dev-a', 's').catch(() => undefined));
      c.end(true);
    } finally {
      for (const sock of idle) sock.destroy();
      await s.link.stop();
    }
  });
});
