// State reports paced per device on a real aedes broker on 127.0.0.1 with mqtt.js devices (state-pacer.ts,
// docs/mqtt.md "State reports"): a device flooding large state reports has a few handled a second, always
// its newest last; one over maxStateBytes is refused and named; another device's report is not held back;
// and a held report is handled before the events that follow it.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@edgefleet/examples';
import { createEmbeddedBroker } from './embedded.js';
import { MemoryDevices, RecordingLogger, RecordingMetrics, connectDevice, deviceTopic } from './testing/devices.js';
import { STATE_BURST_REPORTS } from './state-pacer.js';

const MAX = 8 * 1024;
const RATE = 16 * 1024;

/** A valid state report of about `bytes` (padded with capabilities). */
function state(deviceId: string, seq: number, bytes = MAX - 200): string {
  const base = { schema: 'edgefleet.state/v1', deviceId, at: new Date().toISOString(), agentVersion: '0.1.0', lastAppliedSeq: seq, trustVersion: 1, models: [] };
  const pad = Math.max(0, bytes - JSON.stringify({ ...base, capabilities: [''] }).length);
  return JSON.stringify({ ...base, capabilities: ['x'.repeat(pad)] });
}

it('a device flooding large state reports gets a few handled a second, its newest last; the others are not held back', async () => {
  const devices = new MemoryDevices();
  for (const d of ['flood', 'quiet', 'order']) devices.add(d, 's');
  const metrics = new RecordingMetrics();
  const logger = new RecordingLogger();
  const link = createEmbeddedBroker({
    tcpPort: 0, host: '127.0.0.1', maxPayloadBytes: 64 * 1024, statePacing: { maxStateBytes: MAX, stateBytesPerSec: RATE },
    connectRateLimit: { perAddressPerMinute: 1000, failuresPerIdPerMinute: 10, coolDownMs: 60_000 },
    devices, metrics, logger, clock: { now: () => new Date() },
  });
  const handled: Array<{ id: string; kind: string; seq: number; at: number }> = [];
  link.on('state', (id, m) => { handled.push({ id, kind: 'state', seq: m.lastAppliedSeq, at: performance.now() }); });
  link.on('events', (id) => { handled.push({ id, kind: 'events', seq: -1, at: performance.now() }); });
  await link.start();
  const url = link.address().mqtt;
  const flood = await connectDevice(url, 'flood', 's');
  const quiet = await connectDevice(url, 'quiet', 's');
  const order = await connectDevice(url, 'order', 's');
  try {
    const t0 = performance.now();
    for (let i = 1; i <= 60; i++) await flood.publishAsync(deviceTopic('flood', 'state'), state('flood', i), { qos: 1 });
    await quiet.publishAsync(deviceTopic('quiet', 'state'), state('quiet', 7), { qos: 1 });
    const sent = performance.now();
    await waitFor('the quiet device\'s report', () => handled.some((h) => h.id === 'quiet') || undefined);
    await waitFor('the flood\'s newest report', () => handled.some((h) => h.id === 'flood' && h.seq === 60) || undefined, { timeoutMs: 10_000 });
    // Handled as it came, not behind the flood: before the flood's newest, which the pacing holds back (an order, not a time).
    const quietAt = handled.findIndex((h) => h.id === 'quiet');
    assert.ok(quietAt < handled.findIndex((h) => h.id === 'flood' && h.seq === 60), 'the quiet device is handled before the flood\'s newest');
    const floods = handled.filter((h) => h.id === 'flood');
    const elapsed = (performance.now() - t0) / 1000;
    const refilled = Math.ceil(((sent - t0) / 1000 * RATE) / (MAX - 200));
    assert.equal(floods.at(-1)?.seq, 60, 'the newest is handled last');
    assert.ok(floods.length <= STATE_BURST_REPORTS + Math.ceil((elapsed * RATE) / (MAX - 200)) + 1, `${floods.length} of 60 handled in ${elapsed.toFixed(2)} s`);
    assert.ok(floods.length < 30, `${floods.length} of 60 handled`);
    // Past the burst every report waits, but for those the bucket refilled while the 60 were being sent (a slow box's more).
    const held = metrics.counters.get('edgefleet_mqtt_state_held_total{}') ?? 0;
    assert.ok(held <= 60 - STATE_BURST_REPORTS && held >= 60 - STATE_BURST_REPORTS - refilled, `${held} held; expected ${60 - STATE_BURST_REPORTS - refilled}..${60 - STATE_BURST_REPORTS}`);

    // Over maxStateBytes: refused, counted and named.
    await quiet.publishAsync(deviceTopic('quiet', 'state'), state('quiet', 8, MAX + 100), { qos: 1 });
    await waitFor('the refusal', () => logger.lines.find((l) => (l.obj as { deviceId?: string }).deviceId === 'quiet' && /dropped/.test(l.msg ?? '')));
    const line = logger.lines.find((l) => (l.obj as { deviceId?: string }).deviceId === 'quiet')?.obj as { reason: string };
    assert.match(line.reason, new RegExp(`^state report of ${MAX + 100} bytes: expected at most ${MAX} \\(ingest\\.maxStateBytes\\)$`));
    assert.equal(metrics.counters.get('edgefleet_mqtt_invalid_messages_total{"kind":"state"}'), 1);

    // Past its burst a device's report waits; the events it sends next are handled after it.
    for (let i = 1; i <= STATE_BURST_REPORTS + 1; i++) await order.publishAsync(deviceTopic('order', 'state'), state('order', i), { qos: 1 });
    await order.publishAsync(deviceTopic('order', 'events'), JSON.stringify({ schema: 'edgefleet.events/v1', deviceId: 'order', events: [{ seq: 1, at: new Date().toISOString(), kind: 'download_started', model: 'm', version: '1.0.0', message: 'x' }] }), { qos: 1 });
    await waitFor('the events', () => handled.some((h) => h.id === 'order' && h.kind === 'events') || undefined, { timeoutMs: 10_000 });
    assert.deepEqual(handled.filter((h) => h.id === 'order').map((h) => h.kind === 'events' ? 'events' : h.seq), [1, 2, 3, 4, 5, 'events']);
  } finally {
    for (const c of [flood, quiet, order]) c.end(true);
    await link.stop();
  }
});
