// One hub per database (docs/hub.md "Several hubs", docs/decisions/0074-one-hub-per-database.md): hub
// processes without `cluster` on one SQLite data dir (one-hub-sqlite.test.ts) or one PostgreSQL database
// (one-hub-postgres.test.ts). A second hub is refused with CONFLICT naming the first, which keeps its
// device online; so is a cluster hub. A hub stopped with SIGTERM, then one killed with SIGKILL, is
// followed at once by the next (the killed one's lease is ended since its pid is gone on this host).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceCredentials, DeviceInfo } from '@edgefleet/shared';
import { makeFixture, type Fixture } from '@edgefleet/examples';
import { createEnrollToken, startHub, waitFor, type HubHandle, type StartHubOptions } from '@edgefleet/examples/fleet';
import { startPostgres, type PgCluster } from '@edgefleet/hub/testing/postgres';
import { FleetSimulator } from '../sim/index.js';
import { clusterDatabase } from './cluster-db.js';

const FACTS = { os: 'linux', arch: 'x64', cpus: 2, memoryMb: 1024, agentVersion: '0.1.0' };
/** The running hubs' lease: long, so a successor that starts at once did not wait for it to run out. */
const LONG = { enabled: false, leaseTtlMs: 60_000 };
/** The refused hubs wait this long for the holder's lease to end. */
const SHORT_MS = 2000;

interface Health { lease?: { holder: string; sole: boolean } | null }

export function oneHubScenario(backend: 'sqlite' | 'postgres'): void {
describe(`one hub per ${backend === 'sqlite' ? 'SQLite data dir' : 'PostgreSQL database'}`, () => {
  let pg: PgCluster | null = null;
  let dir: string;
  let fx: Fixture;
  const hubs: HubHandle[] = [];
  let sim: FleetSimulator | null = null;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-one-hub-'));
    fx = await makeFixture(join(dir, 'fx'));
    if (backend === 'postgres') pg = await startPostgres();
  });
  after(async () => {
    await sim?.stop();
    await Promise.allSettled(hubs.map((h) => h.stop()));
    await pg?.stop();
    if (!process.env.EF_KEEP) rmSync(dir, { recursive: true, force: true });
  });

  it('a second hub is refused naming the first, whose device stays online; successors of a stopped and a killed hub start at once', async () => {
    const db = clusterDatabase(dir, pg?.createDatabase());
    // On PostgreSQL the second hub has a data dir of its own: only the database is shared.
    const dataDir = (i: number) => (backend === 'sqlite' ? db.dataDir(i) : join(dir, `hub-${i}`));
    const hub = (i: number, config: Record<string, unknown>, o: Partial<StartHubOptions> = {}) => startHub({
      dataDir: dataDir(i), trustPath: fx.trustPath, hubKeyPath: fx.keys.files.hub.keyPath, logFile: join(dir, `hub-${i}.log`), config: { ...db.config, ...config }, ...o,
    });
    const first = await hub(0, { cluster: LONG });
    hubs.push(first);
    const firstId = `-${first.process.child.pid}`;

    // A device online on the first hub's embedded broker.
    const token = await createEnrollToken(first);
    const creds = await first.api<DeviceCredentials>('POST', '/enroll', { token: token.token, deviceId: 'box-1', facts: FACTS });
    sim = new FleetSimulator({ url: first.mqtt, devices: [{ id: 'box-1', secret: creds.secret }] });
    assert.deepEqual((await sim.connectAll()).failed, []);
    await waitFor('box-1 online', async () => (await first.api<DeviceInfo>('GET', '/devices/box-1')).online, { timeoutMs: 15_000, intervalMs: 100 });
    const health = (await (await fetch(`${first.http}/api/v1/health`)).json()) as Health;
    assert.ok(health.lease?.holder.endsWith(firstId) && health.lease.sole, `GET /health shows the first hub's lease: ${JSON.stringify(health)}`);

    // A second hub without cluster, then a cluster hub: each waits SHORT_MS for the lease to end, then is refused.
    const refusals = [
      { config: { cluster: { enabled: false, leaseTtlMs: SHORT_MS } }, expected: /expected no other hub on it/ },
      { config: { cluster: { hubId: 'hub-c', leaseTtlMs: SHORT_MS }, externalBroker: { url: 'mqtt://127.0.0.1:9', username: 'hub-c', password: 'unused', shareGroup: 'g' } }, expected: /expected only cluster hubs on it/ },
    ];
    for (const [i, r] of refusals.entries()) {
      const t0 = Date.now();
      const err = await hub(1, r.config, { readyTimeoutMs: 30_000 }).then((h) => { hubs.push(h); return null; }, (e: unknown) => e as Error);
      assert.ok(err, `hub ${i + 1} started beside the first`);
      assert.match(err.message, /CONFLICT/);
      assert.match(err.message, new RegExp(`hub \\S+${firstId} \\(without cluster\\) holds the hub lease, last renewed at 20`));
      assert.match(err.message, r.expected);
      assert.match(err.message, /docs\/hub\.md "Several hubs"/);
      assert.ok(Date.now() - t0 >= SHORT_MS, `refused after waiting for the lease (${Date.now() - t0} ms)`);
    }
    assert.equal((await first.api<DeviceInfo>('GET', '/devices/box-1')).online, true, 'the first hub\'s device is still online');
    await sim.stop();
    sim = null;

    // SIGTERM releases the lease: the next hub starts without waiting. SIGKILL leaves it 60 s to run, but
    // the holder's pid is gone on this host: the next hub ends it and starts without waiting either.
    await first.stop();
    const second = await hub(0, { cluster: LONG });
    hubs.push(second);
    await second.process.stop('SIGKILL');
    const third = await hub(0, { cluster: LONG });
    hubs.push(third);
    for (const h of [second, third]) assert.doesNotMatch(h.process.output().stdout + h.process.output().stderr, /waiting for it to end/);
    assert.match(third.process.output().stdout, /is not running on this host \(killed\): ending its lease/);
    const lease = ((await (await fetch(`${third.http}/api/v1/health`)).json()) as Health).lease;
    assert.ok(lease?.holder.endsWith(`-${third.process.child.pid}`), `the third hub holds the lease: ${JSON.stringify(lease)}`);
  });
});
}
