// BlobServer over the real embedded broker: a device asks for blocks on blob/get and gets correct
// blob/data frames; a blob it is not entitled to gives an error frame; the bandwidth and transfer caps
// queue requests (decided on an injected clock, which the test advances) rather than refusing them.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import {
  DESIRED_SCHEMA, decodeBlobData, deviceTopic, generateKeyPair, signEnvelope,
  type BlobDataHeader, type DesiredBody, type DesiredDocument, type KeyPair,
} from '@edgefleet/shared';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { createEmbeddedBroker, type EmbeddedBrokerOptions } from '../mqtt/embedded.js';
import type { FleetLink } from '../mqtt/ports.js';
import { RecordingLogger, RecordingMetrics, connectDevice } from '../mqtt/testing/devices.js';
import { waitFor } from '@edgefleet/examples';
import { BlobServer, type BlobServerOptions } from './blob-server.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('blob-server', () => {
  let root: string;
  let hubKey: KeyPair;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'ef-blobsrv-'));
    hubKey = generateKeyPair('hub', 'hub');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  interface Frame { header: BlobDataHeader; bytes: Buffer }

  interface Env {
    store: Store;
    link: FleetLink;
    server: BlobServer;
    /** The injected clock (ms); tests move it. */
    clock: { t: number };
    clients: MqttClient[];
    addBlob(bytes: Buffer): string;
    entitle(deviceId: string, shas: string[]): void;
    device(id: string): Promise<{ c: MqttClient; frames: Frame[]; get(sha: string, offset: number, blockSize: number, count: number, qos?: 0 | 1): Promise<void> }>;
    close(): Promise<void>;
  }

  let envN = 0;
  async function setup(options: Partial<BlobServerOptions>, linkOptions: Partial<EmbeddedBrokerOptions> = {}): Promise<Env> {
    const dir = join(root, `hub-${++envN}`);
    const store = Store.open(dir, HUB_MIGRATIONS);
    const link = createEmbeddedBroker({
      tcpPort: 0, host: '127.0.0.1', maxPayloadBytes: 256 * 1024, connectRateLimit: { perAddressPerMinute: 10_000 },
      devices: store.devices, metrics: new RecordingMetrics(), logger: new RecordingLogger(), clock: { now: () => new Date() }, ...linkOptions,
    });
    await link.start();
    const clock = { t: Date.parse('2026-03-01T12:00:00Z') };
    const server = new BlobServer({ store, link, logger: new RecordingLogger(), now: () => clock.t }, options);
    await server.start();
    const clients: MqttClient[] = [];
    const seqs = new Map<string, number>();
    return {
      store, link, server, clock, clients,
      addBlob(bytes) {
        const sha = sha256(bytes);
        const temp = store.blobs.tempPath();
        writeFileSync(temp, bytes);
        store.blobs.adopt(temp, sha, bytes.length, new Date());
        return sha;
      },
      entitle(deviceId, shas) {
        if (!store.devices.exists(deviceId)) store.devices.create(deviceId, `s-${deviceId}`, {}, null, new Date());
        const seq = (seqs.get(deviceId) ?? 0) + 1;
        seqs.set(deviceId, seq);
        const body: DesiredBody = {
          schema: DESIRED_SCHEMA, deviceId, seq, issued: new Date().toISOString(), expires: new Date(Date.now() + 86400_000).toISOString(),
          models: shas.map((s, i) => ({ name: `m${i}`, version: '1.0.0', manifestSha256: 'a'.repeat(64), bundle: { sha256: s, size: 1 } })),
          config: {},
        };
        store.desired.put(signEnvelope(body, [hubKey]) as DesiredDocument);
      },
      async device(id) {
        const c = await connectDevice(link.address().mqtt, id, `s-${id}`, { keepalive: 0 });
        clients.push(c);
        const frames: Frame[] = [];
        c.on('message', (topic, payload) => {
          if (topic === deviceTopic(id, 'blob/data')) frames.push(decodeBlobData(payload));
        });
        await c.subscribeAsync(deviceTopic(id, 'blob/data'), { qos: 1 });
        return {
          c, frames,
          async get(sha, offset, blockSize, count, qos = 1) {
            await c.publishAsync(deviceTopic(id, 'blob/get'), JSON.stringify({ schema: 'edgefleet.blob-get/v1', sha256: sha, offset, blockSize, count }), { qos });
          },
        };
      },
      async close() {
        for (const c of clients) await c.endAsync(true);
        await server.stop();
        await link.stop();
        store.close();
      },
    };
  }

  /**
   * Waits until the server's pump has twice more decided to leave a request queued (it re-checks on real
   * timers while the injected clock stands still): after that, a frame that was going to go would have.
   */
  async function deferredAgain(server: { deferrals: number }, what: string): Promise<void> {
    const n = server.deferrals;
    await waitFor(`the pump keeping ${what} queued`, () => server.deferrals >= n + 2, { intervalMs: 10 });
  }

  describe('BlobServer', () => {
    it('serves the requested blocks as correct blob/data frames, the last one short', async () => {
      const env = await setup({ maxTransfers: 0, perDeviceBytesPerSec: 0, totalBytesPerSec: 0 });
      try {
        const blob = randomBytes(10_000);
        const sha = env.addBlob(blob);
        env.entitle('dev-1', [sha]);
        const d = await env.device('dev-1');
        await d.get(sha, 4096, 2048, 64); // asks past the end: served up to the end
        await waitFor('three frames', () => d.frames.length === 3, { intervalMs: 10 });
        assert.deepEqual(d.frames.map((f) => [f.header.offset, f.header.length, f.header.total, f.header.error]), [
          [4096, 2048, 10_000, undefined], [6144, 2048, 10_000, undefined], [8192, 1808, 10_000, undefined],
        ]);
        for (const f of d.frames) {
          assert.equal(f.header.sha256, sha);
          assert.deepEqual(f.bytes, blob.subarray(f.header.offset, f.header.offset + f.header.length));
        }
        assert.equal(env.server.bytesSent, 10_000 - 4096);
      } finally {
        await env.close();
      }
    });

    it('a block request prepares no statement and parses no desired document once the first was served (a fleet downloading asks for thousands); a newer document is read again', async () => {
      const env = await setup({ maxTransfers: 0, perDeviceBytesPerSec: 0, totalBytesPerSec: 0 });
      try {
        const sha = env.addBlob(randomBytes(8 * 1024));
        env.entitle('dev-1', [sha]);
        const d = await env.device('dev-1');
        await d.get(sha, 0, 1024, 1);
        await waitFor('the first block', () => d.frames.length === 1, { intervalMs: 10 });
        const db = env.store.db as { prepare(sql: string): unknown };
        const real = db.prepare.bind(db);
        // The blob server's own statements (the broker's presence writes may prepare theirs meanwhile).
        const prepared: string[] = [];
        db.prepare = (sql: string) => (/\b(blobs|desired_documents)\b/.test(sql) && prepared.push(sql), real(sql));
        const { desired } = env.store;
        const latest = desired.latest.bind(desired);
        let parsed = 0;
        desired.latest = (id) => (parsed++, latest(id));
        for (let i = 1; i < 8; i++) await d.get(sha, i * 1024, 1024, 1);
        await waitFor('the other seven blocks', () => d.frames.length === 8, { intervalMs: 10 });
        assert.deepEqual(prepared, [], 'statements prepared for seven block requests');
        assert.equal(parsed, 0, 'the desired document read once, at the first request');
        // A newer document names another blob: the first is no longer served, the other is.
        const other = env.addBlob(randomBytes(1024));
        env.entitle('dev-1', [other]);
        await d.get(sha, 0, 1024, 1);
        await d.get(other, 0, 1024, 1);
        await waitFor('two more frames', () => d.frames.length === 10, { intervalMs: 10 });
        assert.deepEqual(d.frames.slice(8).map((f) => [f.header.sha256, f.header.error?.code]), [[sha, 'NOT_FOUND'], [other, undefined]]);
        assert.equal(parsed, 1, 'read again once, for the newer document');
      } finally {
        await env.close();
      }
    });

    it('answers with an error frame for a blob not in the device\'s desired document, a missing blob, and an offset past the end', async () => {
      const env = await setup({});
      try {
        const mine = env.addBlob(randomBytes(5000));
        const theirs = env.addBlob(randomBytes(5000));
        const missing = 'b'.repeat(64);
        env.entitle('dev-1', [mine, missing]);
        env.entitle('dev-2', [theirs]);
        const d = await env.device('dev-1');
        await d.get(theirs, 0, 1024, 2);
        await waitFor('error frame', () => d.frames.length === 1, { intervalMs: 10 });
        await d.get(missing, 0, 1024, 1);
        await waitFor('second error frame', () => d.frames.length === 2, { intervalMs: 10 });
        await d.get(mine, 5000, 1024, 1);
        await waitFor('third error frame', () => d.frames.length === 3, { intervalMs: 10 });
        const [f1, f2, f3] = d.frames as [Frame, Frame, Frame];
        assert.equal(f1.header.error?.code, 'NOT_FOUND');
        assert.match(f1.header.error?.message ?? '', new RegExp(`blob ${theirs} is not assigned to device dev-1`));
        assert.deepEqual([f1.header.length, f1.bytes.length], [0, 0]);
        assert.equal(f2.header.error?.code, 'NOT_FOUND');
        assert.equal(f3.header.error?.code, 'BAD_REQUEST');
        assert.match(f3.header.error?.message ?? '', /offset 5000 is past the end of the 5000-byte blob/);
        assert.equal(env.server.bytesSent, 0);
      } finally {
        await env.close();
      }
    });

    it('a blob whose version\'s bundle was dropped (store/bundle-drop.ts) is BUNDLE_DROPPED, saying how to restore it', async () => {
      const env = await setup({});
      try {
        const sha = env.addBlob(randomBytes(2000));
        const at = new Date().toISOString();
        env.store.db.prepare(`INSERT INTO model_versions (name, version, manifest, manifest_sha256, signatures, bundle_sha256, bundle_size, created_at, pushed_by, bundle_dropped_at, bundle_dropped_by)
        VALUES ('m', '1.0.0', '{}', ?, '[]', ?, 2000, ?, 'op', ?, 'admin')`).run('c'.repeat(64), sha, at, at);
        env.store.blobs.removeFile(sha);
        env.entitle('dev-1', [sha]);
        const d = await env.device('dev-1');
        await d.get(sha, 0, 1024, 1);
        await waitFor('error frame', () => d.frames.length === 1, { intervalMs: 10 });
        const f = d.frames[0] as Frame;
        assert.equal(f.header.error?.code, 'BUNDLE_DROPPED');
        assert.match(f.header.error?.message ?? '', /the bundle of m 1\.0\.0 was dropped at .* by admin .*push the same bundle again/);
      } finally {
        await env.close();
      }
    });

    it('paces a device at its bandwidth cap: beyond the bucket requests wait until the (injected) clock refills it', async () => {
      // 4 KiB/s with a 4 KiB burst; 1 KiB blocks.
      const env = await setup({ maxTransfers: 0, perDeviceBytesPerSec: 4096, totalBytesPerSec: 0 });
      try {
        const blob = randomBytes(8192);
        const sha = env.addBlob(blob);
        env.entitle('dev-1', [sha]);
        const d = await env.device('dev-1');
        for (let i = 0; i < 6; i++) await d.get(sha, i * 1024, 1024, 1);
        await waitFor('the burst', () => d.frames.length === 4, { intervalMs: 10 });
        await deferredAgain(env.server, 'the rest (the injected clock has not moved)');
        assert.equal(d.frames.length, 4);
        assert.equal(env.server.bytesSent, 4096);
        env.clock.t += 250; // 1 KiB of tokens
        await waitFor('one more block after 250 ms', () => d.frames.length === 5, { intervalMs: 10 });
        await deferredAgain(env.server, 'the last block');
        assert.equal(d.frames.length, 5);
        env.clock.t += 1000;
        await waitFor('the last block', () => d.frames.length === 6, { intervalMs: 10 });
        assert.deepEqual(d.frames.map((f) => f.header.offset), [0, 1024, 2048, 3072, 4096, 5120]);
      } finally {
        await env.close();
      }
    });

    it('a total bandwidth cap is shared by devices', async () => {
      const env = await setup({ maxTransfers: 0, perDeviceBytesPerSec: 0, totalBytesPerSec: 2048 });
      try {
        const sha = env.addBlob(randomBytes(4096));
        env.entitle('dev-1', [sha]);
        env.entitle('dev-2', [sha]);
        const a = await env.device('dev-1');
        const b = await env.device('dev-2');
        await a.get(sha, 0, 2048, 1);
        await waitFor('dev-1 block', () => a.frames.length === 1, { intervalMs: 10 });
        await b.get(sha, 0, 2048, 1);
        await deferredAgain(env.server, "dev-2's block");
        assert.equal(b.frames.length, 0);
        env.clock.t += 1000;
        await waitFor('dev-2 block after a second', () => b.frames.length === 1, { intervalMs: 10 });
      } finally {
        await env.close();
      }
    });

    it('caps concurrent transfers: a second device waits until the first transfer ends (last block sent) or goes idle', async () => {
      const env = await setup({ maxTransfers: 1, perDeviceBytesPerSec: 0, totalBytesPerSec: 0, idleMs: 10_000 });
      try {
        const sha = env.addBlob(randomBytes(4096));
        env.entitle('dev-1', [sha]);
        env.entitle('dev-2', [sha]);
        env.entitle('dev-3', [sha]);
        const a = await env.device('dev-1');
        const b = await env.device('dev-2');
        const c = await env.device('dev-3');
        await a.get(sha, 0, 1024, 2);
        await waitFor('dev-1 first window', () => a.frames.length === 2, { intervalMs: 10 });
        await b.get(sha, 0, 1024, 2);
        await deferredAgain(env.server, 'dev-2');
        assert.equal(b.frames.length, 0, 'dev-2 is queued while dev-1 is active');
        env.clock.t += 5_000;
        await deferredAgain(env.server, 'dev-2 at +5 s');
        assert.equal(b.frames.length, 0, 'dev-1 is not idle yet (5 s < 10 s)');
        // dev-1 keeps going (its own transfer is active) and takes the last block: the slot frees at once.
        await a.get(sha, 2048, 1024, 2);
        await waitFor('dev-1 last window', () => a.frames.length === 4, { intervalMs: 10 });
        await waitFor('dev-2 served once dev-1 has its last block', () => b.frames.length === 2, { intervalMs: 10 });
        // dev-2 stops half-way: dev-3 waits until dev-2's transfer is idle.
        await c.get(sha, 0, 1024, 4);
        await deferredAgain(env.server, 'dev-3');
        assert.equal(c.frames.length, 0, 'dev-3 is queued while dev-2 is active');
        env.clock.t += 10_001;
        await waitFor('dev-3 served once dev-2 is idle', () => c.frames.length === 4, { intervalMs: 10 });
        assert.deepEqual(c.frames.map((f) => f.header.offset), [0, 1024, 2048, 3072]);
      } finally {
        await env.close();
      }
    });

    it('a device that stops reading holds up only itself: another gets its blob at once, and the stuck send ends at sendTimeoutMs', async () => {
      // The broker would drop the stuck device only after a minute: all the waits below end long before.
      const env = await setup({ maxTransfers: 0, perDeviceBytesPerSec: 0, totalBytesPerSec: 0, sendTimeoutMs: 1000 }, { drainTimeoutMs: 60_000 });
      try {
        const big = env.addBlob(Buffer.alloc(64 * 1024 * 1024, 7)); // more than the kernel's socket buffers take
        const small = randomBytes(4096);
        const sha = env.addBlob(small);
        env.entitle('stuck', [big]);
        env.entitle('well', [sha]);
        const stuck = await env.device('stuck');
        const well = await env.device('well');
        stuck.c.stream.unpipe(); // a frozen box: it reads nothing more
        stuck.c.stream.pause();
        let asked = false;
        env.link.on('blob/get', (id) => { asked ||= id === 'stuck'; });
        await stuck.get(big, 0, 1024 * 1024, 64, 0); // QoS 0: its PUBACK would never be read
        await waitFor('the stuck device\'s request at the hub, ahead of the other one', () => asked, { timeoutMs: 10_000, intervalMs: 10 });
        await well.get(sha, 0, 4096, 1);
        await waitFor('the other device\'s blob', () => well.frames.length === 1, { timeoutMs: 10_000, intervalMs: 10 });
        assert.deepEqual((well.frames[0] as Frame).bytes, small);
        await waitFor('the stuck send ended at its deadline', () => env.server.timeouts === 1, { timeoutMs: 10_000, intervalMs: 10 });
        assert.ok(env.server.bytesSent < 4096 + 64 * 1024 * 1024, 'the stuck device did not get its blob');
        assert.equal(stuck.frames.length, 0);
      } finally {
        await env.close();
      }
    });
  });
});
