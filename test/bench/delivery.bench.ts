// Model delivery throughput over MQTT blocks on loopback, as a ratio to a plain HTTP download of the
// same file in the same run (issue 5, target >= 0.5). Hub side: a real Store, the embedded aedes
// broker and the BlobServer with its caps off. Device side: a real mqtt.js client and the agent's
// BlobDownloader with its durable SyncStore (agent.db), writing into a temp dir and verifying the
// sha256 before the rename. HTTP side: node:http streaming the blob file; the client writes it to
// disk and hashes it. Block sizes 256 KiB and 1 MiB, windows 8 and 16.
// Run: node scripts/bench.mjs delivery   (env DELIVERY_SIZES_MB=10,100 to change sizes)
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, openSync, closeSync, writeSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { DESIRED_SCHEMA, decodeBlobData, deviceTopic, generateKeyPair, signEnvelope, type DesiredDocument } from '@edgefleet/shared';
import { Store } from '../../hub/src/store/index.js';
import { HUB_MIGRATIONS } from '../../hub/src/schema.js';
import { createEmbeddedBroker } from '../../hub/src/mqtt/embedded.js';
import { noopLogger, noopMetrics } from '../../hub/src/mqtt/ports.js';
import { BlobServer } from '../../hub/src/delivery/blob-server.js';
import { AGENT_MIGRATIONS } from '../../agent/src/store/agent-store.js';
import { openDb } from '../../agent/src/store/db.js';
import { BlobDownloader } from '../../agent/src/sync/downloader.js';
import { SyncStore } from '../../agent/src/sync/sync-store.js';

const MB = 1_000_000;
const SIZES_MB = (process.env['DELIVERY_SIZES_MB'] ?? '10,100').split(',').map(Number);
const CONFIGS = [
  { blockSize: 256 * 1024, window: 8 },
  { blockSize: 256 * 1024, window: 16 },
  { blockSize: 1024 * 1024, window: 8 },
  { blockSize: 1024 * 1024, window: 16 },
];
const DEVICE = 'bench-dev';
const SECRET = 'bench-secret';

const root = mkdtempSync(join(tmpdir(), 'ef-delivery-bench-'));

/** Writes `bytes` of random data (in 4 MiB chunks) and returns its sha256. */
function makeBlob(path: string, bytes: number): string {
  const h = createHash('sha256');
  const chunk = Buffer.allocUnsafe(4 * 1024 * 1024);
  const fd = openSync(path, 'w');
  try {
    for (let off = 0; off < bytes; off += chunk.length) {
      const n = Math.min(chunk.length, bytes - off);
      randomFillSync(chunk, 0, n);
      writeSync(fd, chunk, 0, n);
      h.update(chunk.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

async function httpDownload(file: string, sha256: string, dest: string): Promise<number> {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': statSync(file).size });
    createReadStream(file).pipe(res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    const t0 = performance.now();
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => http.get(`http://127.0.0.1:${port}/blob`, resolve).on('error', reject));
    const h = createHash('sha256');
    const out = createWriteStream(dest);
    for await (const chunk of res) {
      h.update(chunk as Buffer);
      if (!out.write(chunk)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    const ms = performance.now() - t0;
    if (h.digest('hex') !== sha256) throw new Error('http download: sha256 mismatch');
    return ms;
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

interface Hub { store: Store; url: string; stop(): Promise<void> }

async function startHub(blobs: Array<{ path: string; sha256: string; size: number }>): Promise<Hub> {
  const store = Store.open(join(root, 'hub'), HUB_MIGRATIONS);
  const now = new Date();
  store.devices.create(DEVICE, SECRET, {}, null, now);
  for (const b of blobs) {
    const temp = store.blobs.tempPath();
    rmSync(temp, { force: true });
    // adopt() renames: give it a hard copy so the HTTP side keeps its file.
    await new Promise<void>((resolve, reject) => createReadStream(b.path).pipe(createWriteStream(temp)).on('finish', resolve).on('error', reject));
    store.blobs.adopt(temp, b.sha256, b.size, now);
  }
  const hubKey = generateKeyPair('hub', 'hub');
  const body = {
    schema: DESIRED_SCHEMA, deviceId: DEVICE, seq: 1, issued: now.toISOString(), expires: new Date(now.getTime() + 86400_000).toISOString(),
    models: blobs.map((b, i) => ({ name: `bench-${i}`, version: '1.0.0', manifestSha256: 'a'.repeat(64), bundle: { sha256: b.sha256, size: b.size } })),
    config: {},
  };
  store.desired.put(signEnvelope(body, [hubKey]) as DesiredDocument);
  const link = createEmbeddedBroker({
    tcpPort: 0, host: '127.0.0.1', maxPayloadBytes: 1024 * 1024 + 8192, connectRateLimit: { perAddressPerMinute: 10_000 },
    devices: store.devices, metrics: noopMetrics, logger: noopLogger, clock: { now: () => new Date() },
  });
  await link.start();
  const server = new BlobServer({ store, link, logger: noopLogger }, { maxTransfers: 0, perDeviceBytesPerSec: 0, totalBytesPerSec: 0 });
  await server.start();
  return {
    store, url: link.address().mqtt,
    async stop() {
      await server.stop();
      await link.stop();
      store.close();
    },
  };
}

async function mqttDownload(url: string, blob: { sha256: string; size: number }, cfg: { blockSize: number; window: number }, dir: string): Promise<number> {
  mkdirSync(dir, { recursive: true });
  const db = openDb(join(dir, 'agent.db'), AGENT_MIGRATIONS);
  const client = await mqtt.connectAsync(url, { protocolVersion: 4, clientId: DEVICE, username: DEVICE, password: SECRET, reconnectPeriod: 0, clean: true });
  try {
    const downloader = new BlobDownloader({
      dir, store: new SyncStore(db), blockSize: cfg.blockSize, window: cfg.window, stallMs: 10_000,
      requester: { request: (req) => void client.publishAsync(deviceTopic(DEVICE, 'blob/get'), JSON.stringify(req), { qos: 1 }).catch(() => undefined) },
    });
    client.on('message', (topic, payload) => {
      if (topic !== deviceTopic(DEVICE, 'blob/data')) return;
      const { header, bytes } = decodeBlobData(payload);
      downloader.deliver(header, bytes);
    });
    await client.subscribeAsync(deviceTopic(DEVICE, 'blob/data'), { qos: 1 });
    const t0 = performance.now();
    await downloader.fetch(blob.sha256, blob.size);
    return performance.now() - t0;
  } finally {
    await client.endAsync(true);
    db.close();
  }
}

const mbps = (bytes: number, ms: number) => bytes / MB / (ms / 1000);
const fmt = (x: number) => x.toFixed(1);
const medianOf = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
/**
 * The machine may be shared: each round runs the HTTP baseline and then every MQTT config, so that a
 * load change hits both sides; each figure is the median over the rounds.
 */
const ROUNDS = Number(process.env['DELIVERY_ROUNDS'] ?? 3);
const label = (cfg: { blockSize: number; window: number }) => `block ${cfg.blockSize / 1024} KiB, window ${cfg.window}`;

async function main(): Promise<void> {
  const blobs = SIZES_MB.map((mb) => {
    const path = join(root, `blob-${mb}MB.bin`);
    return { mb, path, size: mb * MB, sha256: makeBlob(path, mb * MB) };
  });
  const hub = await startHub(blobs);
  const summary: string[] = [];
  let n = 0;
  try {
    for (const b of blobs) {
      const httpMs: number[] = [];
      const mqttMs = CONFIGS.map(() => [] as number[]);
      const failed = new Set<number>();
      for (let round = 0; round < ROUNDS; round++) {
        const dest = join(root, `http-${b.mb}.bin`);
        httpMs.push(await httpDownload(b.path, b.sha256, dest));
        rmSync(dest, { force: true });
        for (const [i, cfg] of CONFIGS.entries()) {
          if (failed.has(i)) continue;
          const dir = join(root, `agent-${++n}`);
          try {
            (mqttMs[i] as number[]).push(await mqttDownload(hub.url, b, cfg, dir));
          } catch (err) {
            failed.add(i);
            console.log(`delivery ${b.mb} MB: mqtt ${label(cfg)}: FAILED: ${err instanceof Error ? err.message : String(err)}`);
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        }
      }
      const httpRate = mbps(b.size, medianOf(httpMs));
      console.log(`delivery ${b.mb} MB: http baseline ${fmt(httpRate)} MB/s (median of ${ROUNDS}: ${httpMs.map((x) => fmt(x)).join(', ')} ms)`);
      let best: { label: string; rate: number } | null = null;
      for (const [i, cfg] of CONFIGS.entries()) {
        const xs = mqttMs[i] as number[];
        if (failed.has(i) || xs.length === 0) continue;
        const rate = mbps(b.size, medianOf(xs));
        console.log(`delivery ${b.mb} MB: mqtt ${label(cfg)}: ${fmt(rate)} MB/s (${xs.map((x) => fmt(x)).join(', ')} ms) = ${(rate / httpRate).toFixed(2)}x http (target >= 0.5)`);
        if (!best || rate > best.rate) best = { label: label(cfg), rate };
      }
      if (best) summary.push(`delivery ${b.mb} MB: best mqtt ${best.label}: ${fmt(best.rate)} MB/s vs http ${fmt(httpRate)} MB/s = ${(best.rate / httpRate).toFixed(2)}x (target >= 0.5)`);
    }
  } finally {
    await hub.stop();
    rmSync(root, { recursive: true, force: true });
  }
  for (const line of summary) console.log(line);
}

main().catch((err: unknown) => {
  console.error(err);
  rmSync(root, { recursive: true, force: true });
  process.exit(1);
});
