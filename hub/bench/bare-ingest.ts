// A bare MQTT ingest server: the least any MQTT + JSON ingest of our telemetry has to do, as a floor
// for the hub's whole path in test/bench/ingest.bench.ts (issue 13; the agent's benches compare with
// a bare server the same way). A plain aedes broker (no authentication, no ACL, no quotas) with one
// in-process subscriber to every device's telemetry topic: JSON.parse of the payload, no validation,
// the windows stored by the hub's own TelemetryRepo one message per transaction (putWindows: INSERT OR
// IGNORE, rollups updated for the model version the windows are about, the hub's SQLite settings),
// then the device's ack published at QoS 0, as the hub acks (docs/decisions/0048-stored-window-text.md).
// What it leaves out is what the hub adds: device identity and ACLs, quotas, the schema and plausibility
// checks, clock offsets, last-seen updates, the stored texts cut from the payload, metrics.
import net from 'node:net';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes, type PublishPacket } from 'aedes';
import { toRanges, type Feature, type Reference, type SeqWindow } from '@edgefleet/shared';
import { Store } from '../src/store/index.js';
import { HUB_MIGRATIONS } from '../src/schema.js';
import { TelemetryRepo } from '../src/store/telemetry-repo.js';
import { registerVersion } from '../src/rollups/testing.js';
import { LISTEN_BACKLOG } from '../src/mqtt/embedded.js';

export interface BareIngestConfig {
  /** The version the windows are about, registered so the repository updates its rollups. */
  model: { name: string; version: string };
  manifest: { features?: Feature[]; reference?: Reference };
  /**
   * How far each message goes (default `store`): `parse` stops after JSON.parse (no insert), `receive`
   * after the broker delivered the payload (no parse: the seqs are read from the payload's bytes, seqsOf).
   * Both still ack, so the devices' outboxes drain: the cost of the wire alone, without the inserts.
   */
  stage?: 'store' | 'parse' | 'receive';
}

export interface BareIngest {
  url: string;
  /** Windows in the messages taken so far (stored, at the `store` stage). */
  windows(): number;
  stop(): Promise<void>;
}

const TOPIC = /^ef\/v1\/d\/([^/]+)\/telemetry$/;

const SEQ = Buffer.from('"seq":');

/**
 * The seqs of a batch without parsing it: the first and the last window's `"seq":N` (the simulators
 * give a batch's windows consecutive seqs and write seq first), two searches from either end.
 */
function seqsOf(payload: Buffer): number[] {
  const at = (i: number) => parseInt(payload.toString('latin1', i + SEQ.length, i + SEQ.length + 20), 10);
  const first = payload.indexOf(SEQ);
  if (first < 0) return [];
  const [a, b] = [at(first), at(payload.lastIndexOf(SEQ))];
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

export async function startBareIngest(cfg: BareIngestConfig): Promise<BareIngest> {
  const dir = mkdtempSync(join(tmpdir(), 'ef-bench-bare-ingest-'));
  const store = Store.open(dir, HUB_MIGRATIONS);
  registerVersion(store.db, cfg.model.name, cfg.model.version, cfg.manifest);
  const repo = new TelemetryRepo(store.db, store.rollups, store.stored);
  const b = await Aedes.createBroker();
  let windows = 0;
  let delivered = 0;
  const stage = cfg.stage ?? 'store';
  const parsed = (deviceId: string, payload: Buffer): number[] => {
    const batch = JSON.parse(payload.toString()) as { windows: SeqWindow[] };
    if (stage === 'store') repo.putWindows(deviceId, batch.windows, new Date());
    return batch.windows.map((w) => w.seq);
  };
  const onTelemetry = (packet: PublishPacket, cb: () => void) => {
    const deviceId = TOPIC.exec(packet.topic)?.[1];
    if (deviceId) {
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      const seqs = stage === 'receive' ? seqsOf(payload) : parsed(deviceId, payload);
      windows += seqs.length;
      const ack = JSON.stringify({ schema: 'edgefleet.ack/v1', ranges: toRanges(seqs) });
      b.publish({ cmd: 'publish', topic: `ef/v1/d/${deviceId}/ack`, payload: Buffer.from(ack), qos: 0, retain: false, dup: false }, () => {});
    }
    // As the hub does (hub/src/mqtt/embedded.ts): a synchronous cb() recurses through aedes' backlog, and a
    // flood of resends overflowed this floor's stack once; every 64th message continues on a fresh stack.
    if (++delivered % 64 === 0) setImmediate(cb);
    else cb();
  };
  await new Promise<void>((r) => b.subscribe('ef/v1/d/+/telemetry', onTelemetry, r));
  const server = net.createServer(b.handle);
  server.listen({ port: 0, host: '127.0.0.1', backlog: LISTEN_BACKLOG });
  await once(server, 'listening');
  return {
    url: `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    windows: () => windows,
    stop: async () => {
      await new Promise<void>((r) => b.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
