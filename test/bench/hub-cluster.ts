// Several hub processes for the fleet-scale bench (`--hubs N`, issue 13 §4; docs/hub.md "Several hubs",
// docs/decisions/0041-several-hubs.md): one real Mosquitto (Debian's, started by startMosquitto from
// @edgefleet/hub with one MQTT user per hub and every bench device in its password file), N hub
// processes (hub-proc.ts) in cluster mode on one shared data dir (one SQLite file in WAL mode), the
// first creating the database and the admin token, the others joining it. Mosquitto's per-client
// queue limits are raised (a hub's client receives a share of every device's telemetry at once; the
// defaults, 20 in flight and 1,000 queued, would drop QoS 1 messages under a 10,000-device burst) and
// its CPU time and RSS are read from /proc. Mosquitto needs `ulimit -n` above the device count.
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMosquitto } from '@edgefleet/hub';
import { HubProc, prepareFleet } from './hub-proc.js';

export interface ProcUsage { cpuMs: number; rss: number }

export class HubCluster {
  private constructor(
    readonly hubs: HubProc[], readonly mqtt: string, private readonly mosq: Awaited<ReturnType<typeof startMosquitto>>, private readonly mosqPid: number | null,
  ) {}

  static async start(n: number, hubCount: number): Promise<HubCluster> {
    const { dir, fx, dataDir, devices } = await prepareFleet(n);
    const users = Array.from({ length: hubCount }, (_, i) => ({ user: `hub-${i + 1}`, password: `hub-password-${i + 1}` }));
    const mosq = await startMosquitto(devices, users[0], 256 * 1024 + 65_536, users.slice(1));
    const hubs: HubProc[] = [];
    try {
      // Its log to a file, to count the QoS 1 messages it drops for a client whose queue is full.
      appendFileSync(join(mosq.dir, 'mosquitto.conf'), `max_inflight_messages 1000\nmax_queued_messages 1000000\nlog_dest file ${join(mosq.dir, 'mosquitto.log')}\nlog_type error\nlog_type warning\nlog_type notice\n`);
      mosq.reload();
      for (const [i, u] of users.entries()) {
        const cfg = {
          dataDir, httpPort: 0, mqttPort: 0, trust: fx.trustPath, hubKey: fx.keys.files.hub.keyPath, logLevel: 'silent', maxPayloadBytes: 256 * 1024, blobs: { maxTransfers: 0 },
          externalBroker: { url: mosq.url, username: u.user, password: u.password, passwordFile: mosq.passwordFile },
          cluster: { hubId: u.user },
        };
        hubs.push(await HubProc.fork(cfg, dir, fx, devices, i === 0 ? null : hubs[0]!.token, i === hubCount - 1));
      }
      for (const p of [fx.v1, fx.v2]) await hubs[0]!.api('POST', '/models', new Uint8Array(readFileSync(p)));
    } catch (e) {
      await Promise.allSettled(hubs.map((h) => h.stop()));
      await mosq.stop();
      throw e;
    }
    return new HubCluster(hubs, mosq.url, mosq, findPid(join(mosq.dir, 'mosquitto.conf')));
  }

  /** Mosquitto's CPU time so far and RSS (from /proc; zeros if its process was not found). */
  broker(): ProcUsage {
    if (this.mosqPid === null) return { cpuMs: 0, rss: 0 };
    const stat = readFileSync(`/proc/${this.mosqPid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
    const ticks = Number(f[11]) + Number(f[12]); // utime, stime (fields 14, 15), in 1/100 s
    const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${this.mosqPid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    return { cpuMs: ticks * 10, rss };
  }

  /** Mosquitto's log lines saying it dropped outgoing messages for a client (a full queue), and whether it reloaded the bench's settings. */
  brokerLog(): { drops: string[]; reloaded: boolean } {
    let text = '';
    try {
      text = readFileSync(join(this.mosq.dir, 'mosquitto.log'), 'utf8');
    } catch {
      return { drops: [], reloaded: false };
    }
    return { drops: text.split('\n').filter((l) => /dropped/i.test(l)), reloaded: /reload/i.test(text) };
  }

  /** Hubs first (the last one removes the shared dir), then Mosquitto. */
  async stop(): Promise<void> {
    for (const h of this.hubs) await h.stop();
    await this.mosq.stop();
  }
}

function findPid(conf: string): number | null {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(conf)) return Number(d);
    } catch {
      // gone meanwhile
    }
  }
  return null;
}
