// Test support for the sync tests (kept out of the agent tarball with the other testing files):
// download progress kept in memory instead of agent.db, and the hub's part played by the test.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { BlobGet, CREDENTIALS_SCHEMA, DESIRED_SCHEMA, deviceTopic, encodeBlobData, sha256File, signEnvelope, type DesiredBody, type DesiredModel, type ReportedState } from '@edgefleet/shared';
import type { SigningKey } from '@edgefleet/shared';
import type { BundleResult } from '@edgefleet/examples';
import { waitFor } from '@edgefleet/examples';
import { mlpBundle, type Kit } from '../testing.js';
import type { Agent } from '../agent.js';
import type { DownloadRecord, DownloadStore } from './downloader.js';

export class MemStore implements DownloadStore {
  m = new Map<string, DownloadRecord>();
  get(s: string) { return this.m.get(s) ?? null; }
  save(r: DownloadRecord) { this.m.set(r.sha256, { ...r }); }
  remove(s: string) { this.m.delete(s); }
}

/**
 * The hub's part in the agent's sync tests (switch.test.ts, removal.test.ts): a real aedes broker on
 * 127.0.0.1:0, a client that keeps the states `deviceId` reports and answers its block requests from
 * the bundle files while `servingBlocks`, counting them, and signs and publishes desired documents.
 */
export interface TestHub {
  url: string;
  states: ReportedState[];
  servingBlocks: boolean;
  /** blob/get requests seen, per bundle sha256. */
  blobGets: Map<string, number>;
  /** Signs `body` (the document's seq, issued and expires filled in by `now`) with `key` and publishes it retained. */
  publish(body: Omit<DesiredBody, 'schema' | 'deviceId' | 'seq' | 'issued' | 'expires' | 'config'>, now: number): Promise<number>;
  /** Writes DATA/credentials.json and DATA/trust.json of an enrolled box on this broker. */
  enroll(dataDir: string, trust: unknown): void;
  close(): Promise<void>;
}

export async function startTestHub(deviceId: string, bundles: () => ReadonlyArray<{ path: string; sha256: string }>, key: SigningKey): Promise<TestHub> {
  const broker = await Aedes.createBroker();
  const server = createServer(broker.handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = await mqtt.connectAsync(url, { protocolVersion: 4, clientId: 'test-hub' });
  let seq = 0;
  const hub: TestHub = {
    url, states: [], servingBlocks: true, blobGets: new Map(),
    publish: async (b, now) => {
      const body: DesiredBody = { schema: DESIRED_SCHEMA, deviceId, seq: ++seq, issued: new Date(now).toISOString(), expires: new Date(now + 86_400_000).toISOString(), config: {}, ...b };
      await client.publishAsync(deviceTopic(deviceId, 'desired'), JSON.stringify(signEnvelope(body, [key])), { qos: 1, retain: true });
      return seq;
    },
    enroll: (dataDir, trust) => {
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(join(dataDir, 'credentials.json'), JSON.stringify({ schema: CREDENTIALS_SCHEMA, deviceId, secret: 's'.repeat(24), brokers: [url] }));
      writeFileSync(join(dataDir, 'trust.json'), JSON.stringify(trust));
    },
    close: async () => {
      await client.endAsync();
      await new Promise<void>((r) => broker.close(() => r()));
      server.close();
    },
  };
  client.on('message', (topic, payload) => {
    if (topic.endsWith('/state')) return void hub.states.push(JSON.parse(payload.toString()) as ReportedState);
    const g = BlobGet.parse(JSON.parse(payload.toString()));
    hub.blobGets.set(g.sha256, (hub.blobGets.get(g.sha256) ?? 0) + 1);
    if (!hub.servingBlocks) return;
    const b = bundles().find((x) => x.sha256 === g.sha256)!;
    const bytes = readFileSync(b.path);
    for (let i = 0; i < g.count && g.offset + i * g.blockSize < bytes.length; i++) {
      const off = g.offset + i * g.blockSize;
      const chunk = bytes.subarray(off, Math.min(bytes.length, off + g.blockSize));
      client.publishAsync(deviceTopic(deviceId, 'blob/data'), encodeBlobData({ sha256: g.sha256, offset: off, length: chunk.length, total: bytes.length }, chunk), { qos: 1 }).catch(() => undefined);
    }
  });
  await client.subscribeAsync([deviceTopic(deviceId, 'state'), deviceTopic(deviceId, 'blob/get')], { qos: 1 });
  return hub;
}

/** Signed bundles of model "mlp" at `versions` (seeded 1, 2, …) with their sha256, as the test hub serves them. */
export type MlpVersions = Record<string, BundleResult & { sha256: string }>;

export async function mlpVersions(kit: Kit, versions: readonly string[]): Promise<MlpVersions> {
  const out: MlpVersions = {};
  for (const [i, v] of versions.entries()) {
    const b = await mlpBundle(kit, v, { seed: i + 1 });
    out[v] = { ...b, sha256: (await sha256File(b.path)).sha256 };
  }
  return out;
}

/**
 * A test hub serving `bundles` and an agent enrolled on it as `id` (in DIR/ID, started by `start`) with
 * `installed` installed on the box itself, once its link is up.
 */
export async function enrolledMlp(kit: Kit, id: string, bundles: MlpVersions, installed: string, start: (data: string) => Promise<Agent>): Promise<{ hub: TestHub; agent: Agent; data: string }> {
  const hub = await startTestHub(id, () => Object.values(bundles), kit.keys.hub);
  const data = join(kit.dir, id);
  hub.enroll(data, kit.trust.doc);
  const agent = await start(data);
  await agent.manager.install(bundles[installed]!.path);
  await waitFor('connected', () => (agent.sync?.isConnected() ? true : undefined), { timeoutMs: 20_000, intervalMs: 20 });
  return { hub, agent, data };
}

/** The desired document's entry for `bundles[v]`. */
export function desiredMlp(bundles: MlpVersions, v: string, maintenance?: DesiredModel['maintenance']): DesiredModel {
  const b = bundles[v]!;
  return { name: 'mlp', version: v, manifestSha256: b.manifestSha256, bundle: { sha256: b.sha256, size: b.size }, ...(maintenance ? { maintenance } : {}) };
}
