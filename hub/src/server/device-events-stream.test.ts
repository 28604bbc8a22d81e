// The whole hub (real embedded broker on 127.0.0.1:0, real HTTP server, an operator's live stream): one
// enrolled box reconnecting 200 times in a row and sending 200 state reports reaches the stream as a few
// events per second of its own, its last word last (hub/src/events/device-pacer.ts, docs/hub.md "Live
// stream"), while another device's first event comes at once. Before, each connect, disconnect and report
// was an event: 1,768 presence events in 6 s turned the 2,048-event resume ring over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deviceTopic, type DeviceCredentials } from '@edgefleet/shared';
import { makeFixture, waitFor } from '@edgefleet/examples';
import { HubConfig } from '../config.js';
import { Hub } from './hub.js';
import { noopLogger } from '../mqtt/ports.js';
import { systemClock } from '../clock.js';
import { connectDevice, stateMsg } from '../mqtt/testing/devices.js';
import { FACTS } from '../testing/harness.js';

type Ev = { type: string; data: { deviceId: string; online?: boolean; at?: string } };

/** Reads the stream's events into `into` until aborted. */
async function readStream(body: ReadableStream<Uint8Array>, into: Ev[]): Promise<void> {
  const dec = new TextDecoder();
  let buf = '';
  try {
    for await (const chunk of body) {
      buf += dec.decode(chunk, { stream: true });
      for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        const ev = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const type = /^event: (.*)$/m.exec(ev)?.[1];
        const data = /^data: (.*)$/m.exec(ev)?.[1];
        if (type && data) into.push({ type, data: JSON.parse(data) as Ev['data'] });
      }
    }
  } catch { /* aborted */ }
}

test('live stream: a device reconnecting and reporting in a loop is paced per device, its last word last', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-devevents-'));
  const fx = await makeFixture(join(dir, 'fx'));
  const hub = new Hub(
    HubConfig.parse({ dataDir: join(dir, 'hub'), httpPort: 0, mqttPort: 0, trust: fx.trustPath, hubKey: fx.keys.files.hub.keyPath, logLevel: 'silent' }),
    noopLogger,
    systemClock,
  );
  const ac = new AbortController();
  try {
    const addr = await hub.start();
    const token = readFileSync(join(dir, 'hub', 'admin.token'), 'utf8').trim();
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const post = async (path: string, body: unknown) => (await fetch(`${addr.http}${path}`, { method: 'POST', headers, body: JSON.stringify(body) })).json() as Promise<unknown>;
    const enroll = async (deviceId: string) => {
      const et = await post('/api/v1/enrollment-tokens', {}) as { token: string };
      return await post('/api/v1/enroll', { token: et.token, deviceId, facts: FACTS }) as DeviceCredentials;
    };
    const [rogue, other] = [await enroll('rogue'), await enroll('other')];
    const events: Ev[] = [];
    const res = await fetch(`${addr.http}/api/v1/stream`, { headers, signal: ac.signal });
    readStream(res.body!, events).catch(() => {});
    await waitFor('the stream hello', () => events.some((e) => e.type === 'hello') || undefined);

    const t0 = performance.now();
    for (let i = 0; i < 200; i++) (await connectDevice(addr.mqtt, 'rogue', rogue.secret)).end(true);
    const c = await connectDevice(addr.mqtt, 'rogue', rogue.secret);
    for (let i = 0; i < 199; i++) await c.publishAsync(deviceTopic('rogue', 'state'), stateMsg('rogue', 0), { qos: 1 });
    const last = JSON.parse(stateMsg('rogue', 0)) as { at: string };
    await c.publishAsync(deviceTopic('rogue', 'state'), JSON.stringify({ ...last, at: '2030-01-01T00:00:00.000Z' }), { qos: 1 });
    // Another device's first word is not held behind the loop.
    const o = await connectDevice(addr.mqtt, 'other', other.secret);
    await waitFor('the other device online', () => events.some((e) => e.type === 'device.presence' && e.data.deviceId === 'other') || undefined);
    await c.endAsync(true);
    const seconds = (performance.now() - t0) / 1000;
    // Each kind waits at most one interval for its newest word.
    const of = (type: string) => events.filter((e) => e.type === type && e.data.deviceId === 'rogue');
    await waitFor('the rogue box offline, its newest state last', () =>
      (of('device.presence').at(-1)?.data.online === false && of('device.state').at(-1)?.data.at === '2030-01-01T00:00:00.000Z') || undefined, { timeoutMs: 10_000 });
    const bound = Math.ceil(seconds) + 3; // one event an interval, the first of each at once, the last after the loop
    assert.ok(of('device.presence').length <= bound, `${of('device.presence').length} presence events in ${seconds.toFixed(1)} s (401 connects and disconnects): expected at most ${bound}`);
    assert.ok(of('device.state').length <= bound, `${of('device.state').length} state events in ${seconds.toFixed(1)} s (200 reports): expected at most ${bound}`);
    await o.endAsync(true);
  } finally {
    ac.abort();
    await hub.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
