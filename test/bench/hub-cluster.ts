// Several hub processes for the fleet-scale bench (`--hubs N`, issue 13 §4; docs/hub.md "Several hubs",
// docs/decisions/0041-several-hubs.md): one real Mosquitto (Debian's, started by startMosquitto from
// @edgefleet/hub with one MQTT user per hub and every bench device in its password file), N hub
// processes (hub-proc.ts) in cluster mode on one shared data dir (one SQLite file in WAL mode), the
// first creating the database and the admin token, the others joining it. Mosquitto runs on the config
// `edgefleet-hub mosquitto-config` generates (its per-client queue bounds hold a 10,000-device burst for
// a hub's client; docs/mqtt.md), plus a log file the bench reads for drops; its CPU time and RSS are
// read from /proc. Mosquitto needs `ulimit -n` above the device count.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMosquitto } from '@edgefleet/hub';
import { HubProc, prepareFleet } from './hub-proc.js';

export interface ProcUsage { cpuMs: number; rss: number }

export class HubCluster {
  private constructor(
    readonly hubs: HubProc[], readonly mqtt: string, private readonly mosq: Awaited<ReturnType<typeof startMosquitto>>, private readonly mosqPid: number | null,
    private readonly log: string,
  ) {}

  static async start(n: number, hubCount: number): Promise<HubCluster> {
    const { dir, fx, dataDir, devices } = await prepareFleet(n);
    const users = Array.from({ length: hubCount }, (_, i) => ({ user: `hub-${i + 1}`, password: `hub-password-${i + 1}` }));
    // Its log to a file, to count the QoS 1 messages it drops for a client whose queue is full.
    const log = join(tmpdir(), `ef-mosquitto-${process.pid}.log`);
    const mosq = await startMosquitto(devices, users[0], 256 * 1024 + 65_536, users.slice(1), [`log_dest file ${log}`, 'log_type error', 'log_type warning', 'log_type notice']);
    const hubs: HubProc[] = [];
    try {
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
      rmSync(log, { force: true });
      throw e;
    }
    return new HubCluster(hubs, mosq.url, mosq, findPid(join(mosq.dir, 'mosquitto.conf')), log);
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

  /** Mosquitto's log lines saying it dropped outgoing messages for a client (a full queue). */
  brokerDrops(): string[] {
    let text = '';
    try {
      text = readFileSync(this.log, 'utf8');
    } catch {
      return [];
    }
    return text.split('\n').filter((l) => /dropped/i.test(l));
  }

  /** Hubs first (the last one removes the shared dir), then Mosquitto. */
  async stop(): Promise<void> {
    for (const h of this.hubs) await h.stop();
    await this.mosq.stop();
    rmSync(this.log, { force: true });
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
