// A hub as it ships in a process of its own for the fleet benches that read a hub's CPU and memory
// apart from the simulated devices' (ingest.bench.ts, fleet-scale.bench.ts): a temp data dir with N
// devices created the way enrollment creates them (their own random secrets, hashed by the hub's
// store), the fixture's trust and hub key, models v1 and v2 pushed over the API, and the hub started by
// hub/bench/broker-child.ts (IPC: ready, stats = memory after a GC and CPU time). The per-address
// connect limit is lifted (every simulated device comes from 127.0.0.1). Windows stored are counted
// through a read-only connection to the hub's SQLite file (WAL lets it read while the hub writes).
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { makeFixture, type Fixture } from '@edgefleet/examples';
import { Store } from '../../hub/src/store/index.js';
import { HUB_MIGRATIONS } from '../../hub/src/schema.js';
import { randomSecret } from '../../hub/src/store/secrets.js';
import type { ChildMsg, ParentMsg } from '../../hub/bench/broker-child.js';
import type { HubInternals } from '../../hub/src/server/hub.js';
import type { SimDevice } from '../src/sim/index.js';
import { adminApi } from '../src/sim/tagged-hub.js';

const CHILD = fileURLToPath(new URL('../../hub/bench/broker-child.ts', import.meta.url));
export type HubStats = Extract<ChildMsg, { t: 'stats' }>;

/** A temp dir with a fixture and `n` devices (ids dev-00000...) created in `dir/hub/hub.db` the way enrollment creates them. */
export async function prepareFleet(n: number): Promise<{ dir: string; fx: Fixture; dataDir: string; devices: SimDevice[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'ef-bench-hubproc-'));
  const fx = await makeFixture(join(dir, 'fixture'));
  const dataDir = join(dir, 'hub');
  const devices: SimDevice[] = Array.from({ length: n }, (_, i) => ({ id: `dev-${String(i).padStart(5, '0')}`, secret: randomSecret() }));
  const store = Store.open(dataDir, HUB_MIGRATIONS);
  const at = new Date();
  store.db.transaction(() => devices.forEach((d) => store.devices.create(d.id, d.secret, { group: 'b' }, null, at)))();
  store.close();
  return { dir, fx, dataDir, devices };
}

export class HubProc {
  private db: Database.Database | null = null;

  private constructor(
    readonly dir: string, readonly fx: Fixture, readonly devices: SimDevice[], private readonly proc: ChildProcess,
    readonly mqtt: string, private readonly http: string, readonly token: string, private readonly ownsDir: boolean,
  ) {}

  /**
   * `n` devices (ids dev-00000...), the hub started in its own process, v1 and v2 pushed. HUB_BENCH_CPU_PROF=DIR profiles the hub.
   * `internals`: the hub's bench switches (server/hub.ts HubInternals; {rollups: false} for the rollups-off baseline).
   */
  static async start(n: number, internals: HubInternals = {}): Promise<HubProc> {
    const { dir, fx, dataDir, devices } = await prepareFleet(n);
    const cfg = { dataDir, httpPort: 0, mqttPort: 0, trust: fx.trustPath, hubKey: fx.keys.files.hub.keyPath, logLevel: 'silent', maxPayloadBytes: 256 * 1024, connectsPerAddressPerMinute: 10_000_000, connectsPending: 10_000_000, blobs: { maxTransfers: 0 } };
    const h = await HubProc.fork(cfg, dir, fx, devices, null, true, internals);
    for (const p of [fx.v1, fx.v2]) await h.api('POST', '/models', new Uint8Array(readFileSync(p)));
    return h;
  }

  /**
   * A hub process on `cfg` (its data in `dir`, prepared by prepareFleet). `token`: the admin token of a
   * hub that already created the shared database (several hubs); null: this hub must start fresh and
   * create one. `ownsDir`: stop() removes `dir`.
   */
  static async fork(cfg: Record<string, unknown>, dir: string, fx: Fixture, devices: SimDevice[], token: string | null, ownsDir: boolean, internals: HubInternals = {}): Promise<HubProc> {
    const prof = process.env.HUB_BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.HUB_BENCH_CPU_PROF] : [];
    const v8 = process.env.HUB_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []; // e.g. "--max-semi-space-size=32": the hub process only
    const proc = fork(CHILD, ['hub', JSON.stringify(cfg), JSON.stringify(internals)], { execArgv: ['--conditions=source', '--import', 'tsx', '--expose-gc', ...v8, ...prof] });
    const ready = await new Promise<Extract<ChildMsg, { t: 'ready' }>>((resolve, reject) => {
      proc.once('message', (m: ChildMsg) => (m.t === 'ready' ? resolve(m) : reject(new Error(`hub: unexpected ${m.t}`))));
      proc.once('exit', (code) => reject(new Error(`the hub exited with ${code} before it was ready`)));
    });
    const admin = token ?? ready.adminToken;
    if (!ready.http || !admin) throw new Error('the hub did not start fresh (no admin token)');
    return new HubProc(dir, fx, devices, proc, ready.mqtt, ready.http, admin, ownsDir);
  }

  /** The hub's HTTP base URL (http://127.0.0.1:PORT). */
  get httpUrl(): string {
    return this.http;
  }

  /** Starts the event-loop delay histogram over (stats() reports the delay since). */
  resetLoopDelay(): void {
    this.proc.send({ t: 'loop' } satisfies ParentMsg);
  }

  api<T>(method: string, path: string, body?: unknown): Promise<T> {
    return adminApi(this.http, this.token)<T>(method, path, body);
  }

  /** The hub's Prometheus text (GET /metrics, no token needed). */
  async metrics(): Promise<string> {
    const res = await fetch(`${this.http}/metrics`);
    if (!res.ok) throw new Error(`GET /metrics: HTTP ${res.status}`);
    return res.text();
  }

  /** Memory after a full GC, CPU time so far (ms), event-loop delay. */
  stats(): Promise<HubStats> {
    return new Promise((resolve) => {
      const on = (r: ChildMsg) => {
        if (r.t !== 'stats') return;
        this.proc.off('message', on);
        resolve(r);
      };
      this.proc.on('message', on);
      this.proc.send({ t: 'stats' } satisfies ParentMsg);
    });
  }

  /** Rows in device_windows (committed ones). */
  windowsStored(): number {
    return this.count('device_windows');
  }

  /** Rows in the rollups table (committed ones): none when the hub runs with {rollups: false}. */
  rollupRows(): number {
    return this.count('rollups');
  }

  private count(table: 'device_windows' | 'rollups'): number {
    this.db ??= new Database(join(this.dir, 'hub', 'hub.db'), { readonly: true, fileMustExist: true });
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  }

  /** Graceful stop (10 s deadline, then SIGKILL); removes the temp dir. */
  async stop(): Promise<void> {
    this.db?.close();
    this.db = null;
    if (this.proc.exitCode === null) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.proc.send({ t: 'stop' } satisfies ParentMsg);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      this.proc.kill('SIGKILL');
    }
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }
}
