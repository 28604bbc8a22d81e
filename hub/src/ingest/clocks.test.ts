// Wrong clocks and refused documents on the hub (issue 16 item 2), on a real Store, the embedded aedes
// broker on 127.0.0.1:0 and mqtt.js device clients whose messages carry a device clock we choose
// (a box 400 days ahead; a backlog stamped right, sent by a box whose clock was reset or restored since:
// docs/decisions/0057-windows-placed-by-the-clock-that-recorded-them.md). The hub clock is a ManualClock. Also:
// windows are stored as the device sent them, and a window the hub moves is stored as moved
// (docs/decisions/0048-stored-window-text.md).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { buildMultiBundle, makeKeys, makeTrust, type BundleResult, type Keys } from '@edgefleet/examples';
import { PRESENCE_SCHEMA, deviceTopic, emptyLatency, type TrustBody } from '@edgefleet/shared';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { Registry, bundleVerifier } from '../registry.js';
import { createEmbeddedBroker } from '../mqtt/embedded.js';
import { waitFor } from '@edgefleet/examples';
import { RecordingLogger, RecordingMetrics, collect, connectDevice } from '../mqtt/testing/devices.js';
import { ManualClock } from '../testing/harness.js';
import { makeParts } from '../testing/parts.js';
import { forEachBackend, type Backend } from '../testing/backends.js';

const DAY = 86_400_000;
let root: string;
let keys: Keys;
let trust: TrustBody;
const bundles: BundleResult[] = [];

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'ef-clocks-'));
  keys = makeKeys(join(root, 'keys'));
  trust = makeTrust(root, keys).body;
  bundles.push(await buildMultiBundle({ dir: join(root, 'bundles'), keys, version: '1.0.0' }));
});
after(() => rmSync(root, { recursive: true, force: true }));

async function startHub(t: { after(fn: () => Promise<void>): void }) {
  const store = Store.open(join(root, `hub-${Math.random().toString(36).slice(2)}`), HUB_MIGRATIONS, { database: backend.database() });
  const clock = new ManualClock();
  const registry = new Registry(store, bundleVerifier(() => trust), 'off');
  for (const b of bundles) await registry.push(createReadStream(b.path), { maxBytes: 64 << 20, pushedBy: 'test', at: clock.now() });
  const link = createEmbeddedBroker({
    tcpPort: 0, host: '127.0.0.1', maxPayloadBytes: 256 * 1024, connectRateLimit: { perAddressPerMinute: 10_000 },
    devices: store.devices, metrics: new RecordingMetrics(), logger: new RecordingLogger(), clock,
  });
  await link.start();
  const logger = new RecordingLogger();
  const parts = makeParts({ store, link, hubKey: keys.hub, clock, logger });
  await parts.start();
  const clients: MqttClient[] = [];
  t.after(async () => {
    for (const c of clients) await c.endAsync(true);
    await parts.stop();
    await link.stop();
    store.close();
  });
  const device = async (id: string) => {
    store.devices.create(id, `secret-${id}`, {}, null, clock.now());
    const c = await connectDevice(link.address().mqtt, id, `secret-${id}`);
    clients.push(c);
    const got = collect(c);
    await c.subscribeAsync([deviceTopic(id, 'ack')], { qos: 1 });
    const acks = () => got.filter((m) => m.topic === deviceTopic(id, 'ack')).length;
    const send = async (kind: 'events' | 'telemetry', body: unknown) => {
      const n = acks();
      await c.publishAsync(deviceTopic(id, kind), JSON.stringify(body), { qos: 1 });
      await waitFor(`ack for ${id}`, () => acks() === n + 1 || undefined);
    };
    return { c, send };
  };
  return { store, clock, logger, parts, link, device };
}

/** The database backend of the suite running now (docs/decisions/0040-postgresql.md). */
let backend: Backend;
// The same suite on each database backend.
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
describe('a device that refuses a desired document', () => {
  it('shows refused with the reason on its deployment row, counted apart from active', async (t) => {
    const h = await startHub(t);
    const d = await h.device('r-1');
    const dep = await h.parts.deployments.deploy({ model: 'audio-energy', version: '1.0.0', target: { devices: ['r-1'] }, reason: 'x' }, 'op');
    const seq = h.store.desired.latest('r-1')!.signed.seq;
    const refusal = { seq: 1, at: h.clock.now().toISOString(), kind: 'desired_refused', code: 'DOCUMENT_EXPIRED', message: `desired-state document seq ${seq} is issued in the future`, data: { seq } };
    await d.send('events', { schema: 'edgefleet.events/v1', deviceId: 'r-1', events: [refusal] });
    const row = h.store.deployments.get(dep.id).devices[0]!;
    assert.deepEqual([row.status, row.reason], ['refused', `DOCUMENT_EXPIRED: desired-state document seq ${seq} is issued in the future`]);
    assert.deepEqual([h.store.deployments.get(dep.id).counts.refused, h.store.deployments.get(dep.id).counts.active], [1, 0]);
    // A refusal of a seq the hub never issued (a stolen key's document) changes no deployment.
    await d.send('events', { schema: 'edgefleet.events/v1', deviceId: 'r-1', events: [{ ...refusal, seq: 2, data: { seq: 2 ** 52 } }] });
    assert.equal(h.store.deployments.get(dep.id).devices[0]!.status, 'refused');
  });
});

describe('a device whose clock is 400 days ahead', () => {
  it('has its offset recorded and shown, a warning logged once, and its windows placed by the hub clock', async (t) => {
    const h = await startHub(t);
    const d = await h.device('c-1');
    await h.parts.deployments.deploy({ model: 'audio-energy', version: '1.0.0', target: { devices: ['c-1'] }, reason: 'x' }, 'op');
    assert.equal(h.store.devices.get('c-1').clock, null, 'never measured');
    const deviceNow = () => new Date(h.clock.now().getTime() + 400 * DAY);
    await d.c.publishAsync(deviceTopic('c-1', 'presence'), JSON.stringify({ schema: PRESENCE_SCHEMA, online: true, at: deviceNow().toISOString() }), { qos: 1, retain: true });
    await waitFor('offset recorded', () => h.store.devices.get('c-1').clock !== null || undefined);
    assert.deepEqual(h.store.devices.get('c-1').clock, { offsetMs: 400 * DAY, measuredAt: h.clock.now().toISOString(), shiftedWindows: 0 });
    const warns = () => h.logger.lines.filter((l) => l.level === 'warn' && /device clock is 400 days ahead of the hub's/.test(l.msg ?? ''));
    assert.equal(warns().length, 1);

    // A window the box stamped with its own clock (in 2027) is stored at the hub's time, not refused.
    const latency = emptyLatency();
    latency.counts[3] = 5;
    const start = new Date(Math.floor(deviceNow().getTime() / 60_000) * 60_000 - 60_000).toISOString();
    // As the agent sends it (inputs present, seq last): the fast path, whose window text is not what is stored.
    await d.send('telemetry', { schema: 'edgefleet.telemetry/v1', deviceId: 'c-1', windows: [{ model: 'audio-energy', version: '1.0.0', start, lengthSec: 60, count: 5, errors: {}, latency, features: [], outputs: [], inputs: [], seq: 1 }] });
    const stored = h.store.telemetry.windows({ deviceId: 'c-1' });
    assert.equal(stored.length, 1, JSON.stringify(h.parts.ingest.guard.refusals('c-1')));
    assert.equal(stored[0]!.start, new Date(Date.parse(start) - 400 * DAY).toISOString());
    assert.equal((JSON.parse(storedText(h.store, 'c-1', 1)) as { start: string }).start, stored[0]!.start, 'the stored JSON has the moved start');
    assert.ok(Math.abs(Date.parse(stored[0]!.start) - h.clock.now().getTime()) <= 120_000, 'placed within the last minutes of the hub clock');
    assert.equal(h.store.devices.get('c-1').clock?.shiftedWindows, 1);

    // Still off a little later: no second warning. Fixed: offset back near 0, windows kept as stamped.
    h.clock.advance(60_000);
    await d.c.publishAsync(deviceTopic('c-1', 'presence'), JSON.stringify({ schema: PRESENCE_SCHEMA, online: true, at: deviceNow().toISOString() }), { qos: 1, retain: true });
    await waitFor('second measurement', () => h.store.devices.get('c-1').clock?.measuredAt === h.clock.now().toISOString() || undefined);
    assert.equal(warns().length, 1);
    const fixed = new Date(h.clock.now().getTime() + 1500).toISOString();
    await d.c.publishAsync(deviceTopic('c-1', 'presence'), JSON.stringify({ schema: PRESENCE_SCHEMA, online: true, at: fixed }), { qos: 1, retain: true });
    await waitFor('offset after the clock was fixed', () => h.store.devices.get('c-1').clock?.offsetMs === 1500 || undefined);
    const audit = h.store.audit.query({ target: 'c-1' }).map((e) => e.action);
    assert.deepEqual(audit.filter((x) => x.startsWith('device.clock')), ['device.clock_skewed', 'device.clock_ok'], 'the operator sees both crossings in the audit log');
    const start2 = new Date(Math.floor(h.clock.now().getTime() / 60_000) * 60_000).toISOString();
    await d.send('telemetry', { schema: 'edgefleet.telemetry/v1', deviceId: 'c-1', windows: [{ seq: 2, model: 'audio-energy', version: '1.0.0', start: start2, lengthSec: 60, count: 5, errors: {}, latency, features: [], outputs: [] }] });
    assert.equal(h.store.telemetry.windows({ deviceId: 'c-1' }).find((w) => w.seq === 2)?.start, start2);
  });
});

describe('a backlog recorded on a right clock, sent by a box whose clock went wrong since', () => {
  // docs/decisions/0057-windows-placed-by-the-clock-that-recorded-them.md
  it('a box whose clock reset to 1970 keeps its backlog where it happened (stored, not acked and dropped) and moves what its 1970 clock stamped', async (t) => {
    const h = await startHub(t);
    const d = await h.device('z-1');
    await h.parts.deployments.deploy({ model: 'audio-energy', version: '1.0.0', target: { devices: ['z-1'] }, reason: 'x' }, 'op');
    await presence(h, d.c, 'z-1', new Date('1970-01-01T00:01:10Z'));
    const now = h.clock.now().getTime();
    const backlog = [now - 3600_000, now - 1800_000, now - 120_000].map((ms) => new Date(ms).toISOString());
    const windows = [...backlog, '1970-01-01T00:00:00.000Z'].map((start, i) => minuteWindow(i + 1, start));
    await d.send('telemetry', { schema: 'edgefleet.telemetry/v1', deviceId: 'z-1', windows });
    assert.equal(h.parts.ingest.guard.refusals('z-1'), undefined, 'nothing refused');
    assert.deepEqual(h.store.telemetry.windows({ deviceId: 'z-1' }).map((w) => w.start), [...backlog, new Date(now - 60_000).toISOString()]);
    assert.equal(h.store.devices.get('z-1').clock?.shiftedWindows, 1, 'only the window of the 1970 clock moved');
    const event = { seq: 5, at: backlog[1]!, kind: 'error', message: 'recorded before the reboot' };
    await d.send('events', { schema: 'edgefleet.events/v1', deviceId: 'z-1', events: [event] });
    assert.deepEqual(h.store.telemetry.events({ deviceId: 'z-1' }).map((e) => e.at), [backlog[1]]);
  });

  it('a box off for 3 days that boots with the clock it stopped with (systemd-timesyncd) keeps its backlog where it happened', async (t) => {
    const h = await startHub(t);
    const d = await h.device('w-1');
    await h.parts.deployments.deploy({ model: 'audio-energy', version: '1.0.0', target: { devices: ['w-1'] }, reason: 'x' }, 'op');
    await presence(h, d.c, 'w-1', h.clock.now());
    // Ten minutes later the agent stops (its offline presence stamped by the right clock) and the box powers off.
    h.clock.advance(10 * 60_000);
    const stopped = h.clock.now();
    await presence(h, d.c, 'w-1', stopped, false);
    // Three days later it boots with its clock at `stopped` and connects 5 minutes after (its clock then 3 days behind).
    h.clock.advance(3 * DAY + 5 * 60_000);
    await presence(h, d.c, 'w-1', new Date(stopped.getTime() + 5 * 60_000));
    assert.equal(h.store.devices.get('w-1').clock?.offsetMs, -3 * DAY);
    const at = (min: number) => new Date(stopped.getTime() + min * 60_000).toISOString();
    const windows = [minuteWindow(1, at(-2)), minuteWindow(2, at(-1)), minuteWindow(3, at(2))];
    await d.send('telemetry', { schema: 'edgefleet.telemetry/v1', deviceId: 'w-1', windows });
    const stored = h.store.telemetry.windows({ deviceId: 'w-1' }).map((w) => w.start);
    assert.deepEqual(stored, [at(-2), at(-1), new Date(Date.parse(at(2)) + 3 * DAY).toISOString()], 'recorded before the stop: as stamped; after the boot: moved by 3 days');
    assert.equal(h.store.devices.get('w-1').clock?.shiftedWindows, 1);
  });
});

describe('windows stored as the device sent them', () => {
  it('stores the text of an agent\'s window as serialising it would, and refuses what is not valid', async (t) => {
    const h = await startHub(t);
    const d = await h.device('t-1');
    await h.parts.deployments.deploy({ model: 'audio-energy', version: '1.0.0', target: { devices: ['t-1'] }, reason: 'x' }, 'op');
    const latency = emptyLatency();
    latency.counts[2] = 3;
    const start = new Date(Math.floor(h.clock.now().getTime() / 60_000) * 60_000 - 60_000).toISOString();
    const window = (seq: number) => ({
      model: 'audio-energy', version: '1.0.0', start, lengthSec: 60, count: 3, errors: { TIMEOUT: 1 }, latency,
      features: [{ kind: 'numeric', name: 'rms "quoted" é', moments: { n: 3, mean: 0.25, m2: 0.5, min: 0, max: 1 }, nulls: 0, nans: 0 }],
      outputs: [], inputs: [{ name: 'x', moments: { n: 3, mean: 1e-7, m2: 0, min: null, max: null }, nans: 0 }], seq,
    });
    await d.send('telemetry', { schema: 'edgefleet.telemetry/v1', deviceId: 't-1', windows: [window(1), window(2)] });
    for (const seq of [1, 2]) {
      const { seq: _s, ...expected } = window(seq);
      assert.equal(storedText(h.store, 't-1', seq), JSON.stringify(expected), 'byte for byte what the hub stored before');
    }
    assert.deepEqual(h.store.telemetry.windows({ deviceId: 't-1' }), [1, 2].map((seq) => ({ ...window(seq), deviceId: 't-1' })));
    // A second seq member, whitespace: stored as validated (JSON.parse keeps the last seq).
    const dup = JSON.stringify({ schema: 'edgefleet.telemetry/v1', deviceId: 't-1', windows: [window(3)] }, null, 1).replace('"model"', '"seq": 99, "model"');
    const n = h.store.telemetry.countFor('t-1').windows;
    await d.c.publishAsync(deviceTopic('t-1', 'telemetry'), dup, { qos: 1 });
    await waitFor('window 3 stored', () => h.store.telemetry.countFor('t-1').windows === n + 1 || undefined);
    const { seq: _s3, ...third } = window(3);
    assert.deepEqual(JSON.parse(storedText(h.store, 't-1', 3)), third);
    // Not JSON: dropped and counted as invalid. A window the schema refuses: refused as schema_invalid
    // (and acked, mqtt/salvage.ts). Nothing of either stored.
    await d.c.publishAsync(deviceTopic('t-1', 'telemetry'), '{"schema":"edgefleet.telemetry/v1","windows":[{', { qos: 1 });
    await d.c.publishAsync(deviceTopic('t-1', 'telemetry'), JSON.stringify({ schema: 'edgefleet.telemetry/v1', deviceId: 't-1', windows: [{ ...window(4), count: -1 }] }), { qos: 1 });
    const invalid = () => h.link.invalidCounts().find((c) => c.deviceId === 't-1' && c.kind === 'telemetry')?.count ?? 0;
    await waitFor('the text dropped', () => invalid() === 1 || undefined);
    await waitFor('the window refused', () => h.parts.ingest.guard.refusals('t-1')?.windows['schema_invalid'] === 1 || undefined);
    assert.equal(h.store.telemetry.countFor('t-1').windows, 3);
  });
});
}

/** A one-minute window of five answered requests, stamped `start` by the box. */
function minuteWindow(seq: number, start: string) {
  const latency = emptyLatency();
  latency.counts[3] = 5;
  return { model: 'audio-energy', version: '1.0.0', start, lengthSec: 60, count: 5, errors: {}, latency, features: [], outputs: [], inputs: [], seq };
}

/** Publishes the box's presence stamped `at` by its clock; waits until the hub has taken an online one. */
async function presence(h: { store: Store; clock: ManualClock }, c: MqttClient, id: string, at: Date, online = true): Promise<void> {
  await c.publishAsync(deviceTopic(id, 'presence'), JSON.stringify({ schema: PRESENCE_SCHEMA, online, at: at.toISOString() }), { qos: 1, retain: true });
  // An offline one is taken before the next message of the same connection (MQTT keeps their order).
  const measured = () => h.store.devices.get(id).clock;
  if (online) await waitFor(`clock reading of ${id}`, () => (measured()?.measuredAt === h.clock.now().toISOString() && measured()?.offsetMs === at.getTime() - h.clock.now().getTime()) || undefined);
}

/** The JSON stored for one window, as the database holds it. */
function storedText(store: Store, deviceId: string, seq: number): string {
  return (store.db.prepare('SELECT window FROM device_windows WHERE device_id = ? AND seq = ?').get(deviceId, seq) as { window: string }).window;
}
