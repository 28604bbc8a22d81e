// Marked events through the whole ingest path (docs/decisions/0059-clock-marks.md), on SQLite and PostgreSQL:
// the hub's parts, the embedded aedes broker on 127.0.0.1:0 and an mqtt.js device whose presence and events
// carry the clocks we choose. A box boots at 1970, the hub reads that clock, NTP sets it, and the hub is
// restarted (a new process's parts, broker and database connection) before the box's outbox sends the event
// it recorded at 1970: the hub stores it where it happened. An event without a mark (an older agent) is
// accepted and placed as before. The hub clock is a ManualClock.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { waitFor } from '@edgefleet/examples';
import { EVENTS_SCHEMA, PRESENCE_SCHEMA, deviceTopic } from '@edgefleet/shared';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { createEmbeddedBroker } from '../mqtt/embedded.js';
import { RecordingLogger, RecordingMetrics, collect, connectDevice } from '../mqtt/testing/devices.js';
import { ManualClock, makeKeys } from '../testing/harness.js';
import { makeParts } from '../testing/parts.js';
import { forEachBackend, type Backend } from '../testing/backends.js';

const MIN = 60_000;
const T = Date.parse('2026-03-10T20:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

/** One run of the hub on `dir` / `database`: its store, broker and ingest parts, and a device's connection. */
async function startHub(dir: string, database: string | undefined, clock: ManualClock) {
  const store = Store.open(dir, HUB_MIGRATIONS, { database });
  const link = createEmbeddedBroker({
    tcpPort: 0, host: '127.0.0.1', maxPayloadBytes: 256 * 1024, connectRateLimit: { perAddressPerMinute: 10_000 },
    devices: store.devices, metrics: new RecordingMetrics(), logger: new RecordingLogger(), clock,
  });
  await link.start();
  const parts = makeParts({ store, link, hubKey: makeKeys().hub, clock, logger: new RecordingLogger() });
  await parts.start();
  const clients: MqttClient[] = [];
  return {
    store,
    async device(id: string) {
      const c = await connectDevice(link.address().mqtt, id, `secret-${id}`);
      clients.push(c);
      const got = collect(c);
      await c.subscribeAsync(deviceTopic(id, 'ack'), { qos: 1 });
      return {
        /** A presence stamped `at` by the box's clock `mark`; waits until the hub has read it. */
        async presence(at: number, mark: string) {
          await c.publishAsync(deviceTopic(id, 'presence'), JSON.stringify({ schema: PRESENCE_SCHEMA, online: true, at: iso(at), clock: mark }), { qos: 1, retain: true });
          const read = () => store.devices.get(id).clock;
          await waitFor(`the hub reading ${id}'s clock`, () => (read()?.offsetMs === at - clock.now().getTime() && read()?.measuredAt === clock.now().toISOString()) || undefined);
        },
        /** An outbox batch of events; waits for the hub's ack. */
        async events(events: object[]) {
          const acks = () => got.filter((m) => m.topic === deviceTopic(id, 'ack')).length;
          const n = acks();
          await c.publishAsync(deviceTopic(id, 'events'), JSON.stringify({ schema: EVENTS_SCHEMA, deviceId: id, events }), { qos: 1 });
          await waitFor(`the hub acking ${id}'s events`, () => acks() > n || undefined);
        },
      };
    },
    /** Stops as the hub does (ingest writes what is pending), then closes the database. */
    async stop() {
      for (const c of clients) await c.endAsync(true);
      await parts.stop();
      await link.stop();
      store.close();
    },
  };
}

function suite(): void {
  it('an event recorded at 1970 and sent after NTP set the clock and the hub restarted is stored where it happened; an unmarked one is accepted as before', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'ef-clock-marks-ingest-'));
    const database = backend.database();
    const clock = new ManualClock(new Date(T));
    let hub = await startHub(dir, database, clock);
    t.after(async () => {
      await hub.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    hub.store.devices.create('z-1', 'secret-z-1', {}, null, clock.now());
    let box = await hub.device('z-1');
    const epoch = Date.parse('1970-01-01T00:05:00Z');
    await box.presence(epoch, '0f3a9c1e.0'); // booted at 1970; the agent records an event, not sent yet
    clock.advance(2 * MIN);
    await box.presence(clock.now().getTime(), '0f3a9c1e.1'); // NTP set the clock: a step, the next mark

    await hub.stop(); // the hub restarts: what it read of the 1970 clock is only in its database now
    hub = await startHub(dir, database, clock);
    box = await hub.device('z-1');
    clock.advance(MIN);
    await box.presence(clock.now().getTime(), '0f3a9c1e.1');
    const after = clock.now().getTime() - 30_000;
    await box.events([
      { seq: 1, at: '1970-01-01T00:04:00.000Z', clock: '0f3a9c1e.0', kind: 'error', code: 'X', message: 'recorded at 1970' },
      { seq: 2, at: '1970-01-01T00:04:30.000Z', kind: 'error', message: 'an older agent: no mark' },
      { seq: 3, at: iso(after), clock: '0f3a9c1e.1', kind: 'error', message: 'recorded after NTP' },
    ]);
    const stored = hub.store.telemetry.events({ deviceId: 'z-1' }).sort((a, b) => a.seq - b.seq);
    assert.deepEqual(stored.map((e) => [e.seq, e.at, e.clock]), [
      [1, iso(T - MIN), '0f3a9c1e.0'], // 1970 + (T - 00:05 at 1970): a minute before the hub first read that clock
      [2, '1970-01-01T00:04:30.000Z', undefined], // decision 0057 cannot tell: its own time, as before
      [3, iso(after), '0f3a9c1e.1'],
    ]);
  });
}
