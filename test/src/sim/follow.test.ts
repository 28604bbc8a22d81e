// Follow mode against a real aedes broker with a small hub stand-in built from the shared wire
// formats: signed desired documents, blob/get answered with real blob/data frames, events acked.
// Devices report download_started → activated with monotonic seqs and a retained active state;
// a document not signed by the hub key, one for another device and a tampered blob are refused.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { Aedes } from 'aedes';
import {
  ACK_SCHEMA, BlobGet, DESIRED_SCHEMA, EventBatch, ReportedState, createTrustBody, deviceTopic, encodeBlobData, generateKeyPair,
  parseTopic, parseWireJson, signEnvelope, type DesiredBody, type KeyPair,
} from '@edgefleet/shared';
import { FleetSimulator } from './simulator.js';
import { waitFor } from '@edgefleet/examples';

const DEVICES = Array.from({ length: 3 }, (_, i) => ({ id: `fol-${i}`, secret: `s-${i}` }));
const keys = { root: generateKeyPair('root', 'root'), release: generateKeyPair('release', 'release'), hub: generateKeyPair('hub', 'hub') };
const trust = createTrustBody({ version: 1, expires: new Date(Date.now() + 86_400_000), root: [keys.root], release: [keys.release], hub: [keys.hub] });
const BLOB = randomBytes(40_000);
const SHA = createHash('sha256').update(BLOB).digest('hex');

async function standIn(opts: { tamper?: boolean; ackEvents?: () => boolean } = {}) {
  const b = await Aedes.createBroker();
  const server = net.createServer(b.handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const publish = (topic: string, payload: Buffer | string, retain = false) =>
    new Promise<void>((r, j) => b.publish({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain, dup: false }, (err) => (err ? j(err) : r())));
  // The broker side of the test: a failed publish is printed with the test's output.
  const send = (topic: string, payload: Buffer | string) => {
    publish(topic, payload).catch((err: unknown) => console.error(`test broker: publish to ${topic} failed`, err));
  };
  const events: Array<{ id: string; batch: EventBatch }> = [];
  const states = new Map<string, ReportedState>();
  let blockRequests = 0;
  await new Promise<void>((r) => b.subscribe('ef/v1/d/#', (p, cb) => {
    cb();
    const t = parseTopic(p.topic);
    if (!t || t.kind !== 'device') return;
    const payload = p.payload as Buffer;
    if (t.topic === 'blob/get') {
      blockRequests++;
      const req = parseWireJson(BlobGet, payload, 'blob/get');
      for (let i = 0; i < req.count; i++) {
        const off = req.offset + i * req.blockSize;
        if (off >= BLOB.length) break;
        const bytes = Buffer.from(BLOB.subarray(off, Math.min(off + req.blockSize, BLOB.length)));
        if (opts.tamper && off === 0) bytes[0] = (bytes[0] ?? 0) ^ 0xff;
        send(deviceTopic(t.deviceId, 'blob/data'), encodeBlobData({ sha256: SHA, offset: off, length: bytes.length, total: BLOB.length }, bytes));
      }
    } else if (t.topic === 'events') {
      const batch = parseWireJson(EventBatch, payload, 'events');
      events.push({ id: t.deviceId, batch });
      if (opts.ackEvents?.() ?? true) {
        send(deviceTopic(t.deviceId, 'ack'), JSON.stringify({ schema: ACK_SCHEMA, ranges: batch.events.map((e) => [e.seq, e.seq]) }));
      }
    } else if (t.topic === 'state') {
      states.set(t.deviceId, parseWireJson(ReportedState, payload, 'state'));
    }
  }, r));
  return {
    url: `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`, events, states, publish, blockRequests: () => blockRequests,
    close: async () => { await new Promise<void>((r) => b.close(() => r())); await new Promise((r) => server.close(r)); },
  };
}

function desired(deviceId: string, seq: number, key: KeyPair = keys.hub): string {
  const now = new Date();
  const body: DesiredBody = {
    schema: DESIRED_SCHEMA, deviceId, seq, issued: now.toISOString(), expires: new Date(now.getTime() + 3600_000).toISOString(),
    models: [{ name: 'm', version: '1.0.0', manifestSha256: 'a'.repeat(64), bundle: { sha256: SHA, size: BLOB.length } }], config: {},
  };
  return JSON.stringify(signEnvelope(body, [key]));
}

const until = (cond: () => boolean, what: string) => waitFor(what, cond, { timeoutMs: 10_000, intervalMs: 10 });

describe('fleet simulator follow mode', () => {
  it('downloads the blob in windows, reports download_started then activated, and a retained active state', async () => {
    let acking = false;
    const hub = await standIn({ ackEvents: () => acking });
    const sim = new FleetSimulator({ url: hub.url, devices: DEVICES, resendMs: 200 });
    try {
      assert.equal((await sim.connectAll()).connected, 3);
      sim.follow({ trust, blockSize: 4096, window: 4 });
      for (const d of DEVICES) await hub.publish(deviceTopic(d.id, 'desired'), desired(d.id, 1), true);
      await until(() => sim.devicesActive('m', '1.0.0') === 3, 'devices active');
      await until(() => hub.states.size === 3, 'states');
      for (const d of DEVICES) {
        const st = hub.states.get(d.id);
        assert.equal(st?.lastAppliedSeq, 1);
        assert.deepEqual(st?.models.map((m) => [m.name, m.active, m.status]), [['m', '1.0.0', 'active']]);
      }
      // 40,000 bytes in 4 KiB blocks, 4 per window: 3 windows per device.
      assert.equal(sim.followStats().bytesFetched, 3 * BLOB.length);
      assert.ok(hub.blockRequests() >= 9, `block requests ${hub.blockRequests()}`);
      assert.deepEqual(sim.followStats().failures, []);
      // Unacked events are resent (same seq) until acked; then the outbox is empty.
      await until(() => sim.resends > 0, 'a resend');
      acking = true;
      await until(() => sim.pending() === 0, 'outbox drained');
      for (const d of DEVICES) {
        const seen = hub.events.filter((e) => e.id === d.id).flatMap((e) => e.batch.events.map((x) => `${x.seq}:${x.kind}`));
        assert.deepEqual([...new Set(seen)], ['1:download_started', '2:activated']);
      }
      // The same document again (seq not higher) changes nothing.
      const before = hub.events.length;
      const skipped = sim.followStats().skipped;
      await hub.publish(deviceTopic('fol-0', 'desired'), desired('fol-0', 1));
      await until(() => sim.followStats().skipped > skipped, 'the follower skipped the document (seq not higher)');
      assert.equal(hub.events.length, before);
      assert.equal(hub.states.get('fol-0')?.lastAppliedSeq, 1);
    } finally {
      await sim.stop();
      await hub.close();
    }
  });

  it('refuses a document not signed by the hub key, one for another device, and a tampered blob', async () => {
    const hub = await standIn({ tamper: true });
    const sim = new FleetSimulator({ url: hub.url, devices: DEVICES.slice(0, 1), resendMs: 200 });
    try {
      await sim.connectAll();
      sim.follow({ trust, blockSize: 4096, window: 4 });
      await hub.publish(deviceTopic('fol-0', 'desired'), desired('fol-0', 1, keys.release));
      await hub.publish(deviceTopic('fol-0', 'desired'), desired('fol-1', 2));
      await until(() => sim.followStats().failures.length === 2, 'two refusals');
      const [f1, f2] = sim.followStats().failures.map((f) => f.error);
      assert.match(f1 ?? '', /refused desired document: .*hub/i);
      assert.match(f2 ?? '', /for fol-1, expected fol-0/);
      await hub.publish(deviceTopic('fol-0', 'desired'), desired('fol-0', 3));
      await until(() => hub.events.some((e) => e.batch.events.some((x) => x.kind === 'install_failed')), 'install_failed');
      const failed = hub.events.flatMap((e) => e.batch.events).find((x) => x.kind === 'install_failed');
      assert.match(failed?.message ?? '', new RegExp(`differs from the expected ${SHA}`));
      assert.equal(sim.devicesActive('m', '1.0.0'), 0);
    } finally {
      await sim.stop();
      await hub.close();
    }
  });
});
