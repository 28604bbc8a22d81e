// End to end on PostgreSQL (docs/decisions/0040-postgresql.md): the hub run with its tables in a
// real PostgreSQL database (the config file's `database`, as `--database` sets it), an agent enrolls,
// a deployment reaches it, and the telemetry windows it uploads are stored in PostgreSQL — not in a
// hub.db, which the data dir never gets (blobs stay there). PostgreSQL stopped and started again under
// the running hub: it goes on by itself and every window the agent sent is stored. PostgreSQL frozen
// (SIGSTOP: connections open, nothing answers) with a request waiting on it: SIGTERM still stops the hub
// within 10 s with exit 0 (docs/hub.md "Stopping"), and every window the agent no longer holds (acked) is stored.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { enrollAgents, startAgent, trafficLoop, vibrationRows, waitFor, type AgentHandle } from '@edgefleet/examples/fleet';
import { startPostgres, type PgCluster } from '@edgefleet/hub/testing/postgres';
import { MODEL, fixtureAndHub, getJson, withAgentDb, type HubSetup, type HubWindow } from './helpers.js';

describe('a hub on PostgreSQL', () => {
  let dir: string;
  let pg: PgCluster;
  let url: string;
  let s: HubSetup | undefined;
  let agent: AgentHandle | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-pg-hub-'));
    pg = await startPostgres();
    url = pg.createDatabase();
  });
  after(async () => {
    await agent?.stop();
    await s?.hub.stop();
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('enrolls an agent, deploys to it and stores its telemetry windows in PostgreSQL', async () => {
    s = await fixtureAndHub(dir, { config: { database: url } });
    const hub = s.hub;
    const [dev] = await enrollAgents(hub, 1, { dataRoot: join(dir, 'agents'), id: () => 'pg-1' });
    // Unacked items resent after 3 s, not the default 15 s: the outage test waits for them.
    agent = await startAgent({ dataDir: dev!.dataDir, config: { summaries: { windowSec: 1 }, sync: { outbox: { resendAfterMs: 3000 } } } });
    const dep = await hub.api<{ id: number }>('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { all: true }, reason: 'postgres e2e' });
    await waitFor('v1 ready on the agent', async () => (await getJson(`${agent!.url}/v2/models/${MODEL}/ready`))?.json?.ready === true, { timeoutMs: 90_000 });
    const traffic = trafficLoop([agent], vibrationRows({ rowsPerRequest: 3 }), 4);
    let windows: HubWindow[] = [];
    try {
      windows = await waitFor('windows stored at the hub', async () => {
        const r = await hub.api<{ windows: HubWindow[] }>('GET', `/devices/pg-1/windows?model=${MODEL}`);
        return r.windows.length >= 2 ? r.windows : undefined;
      }, { timeoutMs: 60_000 });
    } finally {
      await traffic.stop();
    }
    assert.ok(windows.every((w) => w.version === '1.0.0' && w.count > 0));
    await waitFor('the deployment active on the device', async () => {
      const d = await hub.api<{ devices: Array<{ deviceId: string; status: string }> }>('GET', `/deployments/${dep.id}`);
      return d.devices.find((x) => x.deviceId === 'pg-1')?.status === 'active' || undefined;
    }, { timeoutMs: 30_000 });
    // The rows are in PostgreSQL; the data dir holds blobs and keys but no hub.db.
    const { PgDb } = await import('@edgefleet/hub/testing/postgres');
    const db = new PgDb(url);
    try {
      const n = db.prepare('SELECT COUNT(*) FROM device_windows WHERE device_id = ?').pluck().get('pg-1') as number;
      assert.ok(n >= windows.length, `PostgreSQL holds ${n} windows of pg-1, the API showed ${windows.length}`);
      assert.equal(db.prepare('SELECT COUNT(*) FROM devices').pluck().get(), 1);
    } finally {
      db.close();
    }
    assert.equal(existsSync(join(hub.dataDir, 'hub.db')), false, 'no hub.db in the data dir');
  });

  it('goes on by itself after PostgreSQL was stopped and started again under it, losing no window', async () => {
    assert.ok(s && agent, 'the test above set up the hub and the agent');
    const { PgDb } = await import('@edgefleet/hub/testing/postgres');
    /** Every outbox seq of pg-1 the hub stored (windows and events share the agent's numbering). */
    const seqs = (): number[] => {
      const db = new PgDb(url);
      try {
        return db.prepare('SELECT seq FROM device_windows WHERE device_id = ? UNION SELECT seq FROM device_events WHERE device_id = ? ORDER BY 1')
          .pluck().all('pg-1', 'pg-1') as number[];
      } finally {
        db.close();
      }
    };
    const traffic = trafficLoop([agent], vibrationRows({ rowsPerRequest: 3 }), 4);
    try {
      const before = Math.max(...seqs());
      await pg.down();
      await sleep(4000); // windows of 1 s keep coming on the agent; the hub cannot store or ack them
      await pg.up();
      // What the hub could not store was not acked: the agent sends it again (resendAfterMs, 3 s here).
      const gaps = (all: number[]): number[] => Array.from({ length: all.at(-1) ?? 0 }, (_, i) => i + 1).filter((n) => !all.includes(n));
      const all = await waitFor('windows stored after the restart, none missing', () => {
        const now = seqs();
        return Math.max(...now) >= before + 8 && gaps(now).length === 0 ? now : undefined;
      }, { timeoutMs: 90_000, intervalMs: 1000 });
      assert.deepEqual(gaps(all), [], 'every window and event the agent sent is stored, also those of the outage');
    } finally {
      await traffic.stop();
    }
  });

  it('stops within 10 s of SIGTERM while PostgreSQL is frozen under a request, and stored everything it acked', async () => {
    assert.ok(s && agent, 'the tests above set up the hub and the agent');
    const hub = s.hub;
    const traffic = trafficLoop([agent], vibrationRows({ rowsPerRequest: 3 }), 4);
    try {
      await sleep(1500); // windows in flight to the hub
      pg.freeze();
      // A request whose statement waits on the frozen server: the hub's event loop (signals included) waits with it.
      const waiting = hub.api('GET', '/devices').then(() => 'answered', (e: Error) => e.message);
      await sleep(300);
      const signalled = Date.now();
      hub.process.child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const stopped = await Promise.race([hub.process.exited, new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), 10_000); })]);
      clearTimeout(timer);
      const out = hub.process.output();
      if (stopped === 'late') assert.fail(`the hub was still running 10 s after SIGTERM; last output:\n${(out.stdout + out.stderr).slice(-3000)}`);
      assert.equal(stopped.code, 0, `exit code; last output:\n${(out.stdout + out.stderr).slice(-3000)}`);
      assert.match(out.stdout, /"msg":"hub stopped"/);
      assert.match(await waiting, /\[DATABASE_UNAVAILABLE\].*PostgreSQL did not answer a new connection/, 'the request held up by the frozen server failed');
      console.log(`# the hub exited ${Date.now() - signalled} ms after SIGTERM`);
    } finally {
      if (hub.process.child.exitCode === null) hub.process.kill();
      await traffic.stop();
      await agent.stop();
      pg.thaw();
    }
    // Acked = gone from the agent's outbox: each such seq is in PostgreSQL (nothing acked was left unwritten).
    const { PgDb } = await import('@edgefleet/hub/testing/postgres');
    const db = new PgDb(url);
    try {
      const stored = new Set(db.prepare('SELECT seq FROM device_windows WHERE device_id = ? UNION SELECT seq FROM device_events WHERE device_id = ?')
        .pluck().all('pg-1', 'pg-1') as number[]);
      const { top, held } = withAgentDb(agent.dataDir, (a) => ({
        top: Number(a.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").pluck().get() ?? 0),
        held: new Set(a.prepare('SELECT seq FROM outbox').pluck().all() as number[]),
      }));
      const ackedNotStored = Array.from({ length: top }, (_, i) => i + 1).filter((n) => !held.has(n) && !stored.has(n));
      assert.ok(top > 0);
      assert.deepEqual(ackedNotStored, [], `seqs the agent dropped as acked but PostgreSQL lacks (of 1..${top}, ${held.size} still held)`);
    } finally {
      db.close();
    }
  });
});
