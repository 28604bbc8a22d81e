// Several hubs on one Mosquitto (docs/hub.md "Several hubs"): two external links (MQTT 3.1.1 clients,
// a hub user each: Mosquitto takes the username as the client id) in one `$share` group. Each device message reaches exactly one
// of them, both get some, and presence (not shared) reaches both. Real Mosquitto, configured from the
// files `mosquitto-config` generates; skipped when it is not installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { TELEMETRY_SCHEMA, deviceTopic } from '@edgefleet/shared';
import { waitFor } from '@edgefleet/examples';
import { createExternalLink } from './external.js';
import type { FleetLink } from './ports.js';
import { MemoryDevices, RecordingLogger, RecordingMetrics, connectDevice } from './testing/devices.js';
import { MOSQUITTO, startMosquitto } from './testing/mosquitto.js';

const skip = existsSync(MOSQUITTO) ? false : `${MOSQUITTO} not installed (apt-get install -y mosquitto)`;
const MESSAGES = 60;

test('$share on Mosquitto with MQTT 3.1.1 hub clients: each device message reaches one hub, presence reaches every hub', { skip }, async () => {
  const list = [{ id: 'box-1', secret: 'box-1-secret-0123456789' }];
  const hubs = [{ user: 'hub-1', password: 'hub-password-1' }, { user: 'hub-2', password: 'hub-password-2' }];
  const mosq = await startMosquitto(list, hubs[0], 16 * 1024, hubs.slice(1));
  const links: FleetLink[] = [];
  const got: Array<number[]> = [[], []];
  const online: Array<string[]> = [[], []];
  const device: { c?: Awaited<ReturnType<typeof connectDevice>> } = {};
  try {
    for (const i of [0, 1]) {
      const devices = new MemoryDevices();
      const link = createExternalLink({
        url: mosq.url, username: hubs[i]?.user as string, password: hubs[i]?.password as string, clientId: hubs[i]?.user as string, shareGroup: 'edgefleet',
        devices, metrics: new RecordingMetrics(), logger: new RecordingLogger(), clock: { now: () => new Date() },
      });
      link.on('telemetry', (_id, m) => { for (const w of m.windows) got[i]?.push(w.seq); });
      link.onConnect((id) => online[i]?.push(id));
      await link.start();
      links.push(link);
    }
    const c = await connectDevice(mosq.url, 'box-1', list[0]?.secret as string);
    device.c = c;
    await c.publishAsync(deviceTopic('box-1', 'presence'), JSON.stringify({ schema: 'edgefleet.presence/v1', online: true, at: new Date().toISOString() }), { qos: 1, retain: true });
    const window = { model: 'm', version: '1.0.0', start: '2026-11-28T12:00:00.000Z', lengthSec: 60, count: 3, errors: {}, latency: { counts: [3], sumMs: 1 }, features: [], outputs: [], inputs: [] };
    for (let seq = 1; seq <= MESSAGES; seq++) {
      await c.publishAsync(deviceTopic('box-1', 'telemetry'), JSON.stringify({ schema: TELEMETRY_SCHEMA, deviceId: 'box-1', windows: [{ seq, ...window }] }), { qos: 1 });
    }
    await waitFor('every message at one of the hubs', () => ((got[0]?.length ?? 0) + (got[1]?.length ?? 0) >= MESSAGES ? true : undefined), { timeoutMs: 10_000, intervalMs: 20 });
    await waitFor('presence at both hubs', () => (online.every((o) => o.includes('box-1')) ? true : undefined), { timeoutMs: 10_000, intervalMs: 20 });
    const all = [...(got[0] ?? []), ...(got[1] ?? [])].sort((a, b) => a - b);
    assert.deepEqual(all, Array.from({ length: MESSAGES }, (_, i) => i + 1), 'each message delivered once, to one hub');
    assert.ok((got[0]?.length ?? 0) > 0 && (got[1]?.length ?? 0) > 0, `both hubs got a share: ${got[0]?.length} and ${got[1]?.length}`);
  } finally {
    await device.c?.endAsync();
    for (const l of links) await l.stop();
    await mosq.stop();
  }
});
