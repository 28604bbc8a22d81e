// The hub lease on a real SQLite file opened by two connections (as two hub processes open it): one
// holder at a time, a takeover once the holder's lease ran out (term + 1, the jobs start on the new
// holder), the fence refusing a former holder's write, and stop() handing the lease over at once.
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@edgefleet/examples';
import { AppError } from '@edgefleet/shared';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { ManualClock } from '../testing/harness.js';
import { RecordingLogger } from '../mqtt/testing/devices.js';
import { HubConfig } from '../config.js';
import { LeaseRepo } from './lease-repo.js';
import { HUB_LEASE, HubLease, type SingletonJob } from './lease.js';

const TTL = 10_000;

function recordingJob(log: string[], hub: string): SingletonJob {
  return { name: `job of ${hub}`, start: () => { log.push(`${hub} start`); }, stop: () => { log.push(`${hub} stop`); } };
}

describe('hub lease', () => {
  let dir: string;
  let stores: Store[];
  let leases: HubLease[];
  const clock = new ManualClock();

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ef-lease-'));
    stores = [Store.open(dir, HUB_MIGRATIONS, { shared: true }), Store.open(dir, HUB_MIGRATIONS, { shared: true })];
    leases = [];
  });
  afterEach(async () => {
    for (const l of leases) await l.stop(500);
    for (const s of stores) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const lease = (i: number, hubId: string, log: string[]) => {
    const l = new HubLease({ repo: new LeaseRepo((stores[i] as Store).db), hubId, clock, logger: new RecordingLogger(), jobs: [recordingJob(log, hubId)] }, { ttlMs: TTL, renewEveryMs: 20 });
    leases.push(l);
    return l;
  };

  it('one holder; the other takes over when the holder stops renewing, with the next term', async () => {
    const log: string[] = [];
    // hub-a took the lease and was then killed: its row stays until it expires.
    new LeaseRepo((stores[0] as Store).db).acquire(HUB_LEASE, 'hub-a', clock.now().getTime(), TTL);
    const b = lease(1, 'hub-b', log);
    await b.start();
    assert.equal(b.isLeader(), false);
    assert.equal(b.status().lease?.holder, 'hub-a');
    await waitFor('hub-b renewing without taking the live lease', () => (log.length === 0 && b.status().lease?.term === 1 ? true : undefined), { timeoutMs: 2000, intervalMs: 20 });
    clock.advance(TTL);
    await waitFor('hub-b holding the expired lease', () => (b.isLeader() ? true : undefined), { timeoutMs: 5000, intervalMs: 10 });
    assert.deepEqual(log, ['hub-b start']);
    assert.equal(b.status().lease?.holder, 'hub-b');
    assert.equal(b.status().lease?.term, 2, 'a new holder is a new term');
    b.fence(); // holds: no throw
  });

  it('a holder whose lease another hub took stops its jobs, and its fenced writes are refused', async () => {
    const log: string[] = [];
    const a = lease(0, 'hub-a', log);
    await a.start();
    assert.equal(a.isLeader(), true);
    assert.deepEqual(log, ['hub-a start']);
    // hub-a's renewals stall (a long pause): its lease runs out and hub-c takes it directly.
    clock.advance(TTL);
    const repo = new LeaseRepo((stores[1] as Store).db);
    const row = repo.acquire(HUB_LEASE, 'hub-c', clock.now().getTime(), 10 * TTL);
    assert.equal(row.holder, 'hub-c');
    assert.throws(() => a.fence(), (err: unknown) => err instanceof AppError && err.code === 'CONFLICT' && /hub-a no longer holds/.test(err.message));
    await waitFor('hub-a stopping its jobs', () => (log.includes('hub-a stop') ? true : undefined), { timeoutMs: 5000, intervalMs: 10 });
    assert.equal(a.isLeader(), false);
    assert.equal(repo.get(HUB_LEASE)?.holder, 'hub-c', 'hub-a did not take it back while hub-c holds it');
  });

  it('stop() stops the jobs and releases: the other hub takes the lease without waiting for it to expire', async () => {
    const log: string[] = [];
    const a = lease(0, 'hub-a', log);
    const b = lease(1, 'hub-b', log);
    await a.start();
    await b.start();
    assert.equal(a.isLeader(), true);
    assert.equal(b.isLeader(), false);
    await a.stop(500);
    assert.deepEqual(log, ['hub-a start', 'hub-a stop']);
    await waitFor('hub-b taking the released lease (the clock did not move)', () => (b.isLeader() ? true : undefined), { timeoutMs: 5000, intervalMs: 10 });
    assert.deepEqual(log, ['hub-a start', 'hub-a stop', 'hub-b start']);
  });

  it('the cluster config needs an external broker and renewals inside the lease', () => {
    assert.throws(() => HubConfig.parse({ dataDir: dir, cluster: { enabled: true } }), /cluster mode needs externalBroker/);
    const externalBroker = { url: 'mqtt://127.0.0.1:1883', username: 'hub', password: 'pw' };
    assert.throws(() => HubConfig.parse({ dataDir: dir, externalBroker, cluster: { leaseTtlMs: 3000, renewEveryMs: 3000 } }), /expected less than cluster.leaseTtlMs/);
    assert.throws(() => HubConfig.parse({ dataDir: dir, externalBroker, cluster: { hubId: 'a b' } }), /expected 1-64 letters/);
    assert.throws(() => HubConfig.parse({ dataDir: dir, externalBroker: { ...externalBroker, shareGroup: '' }, cluster: {} }), /needs a \$share group name/);
    assert.equal(HubConfig.parse({ dataDir: dir, externalBroker, cluster: { hubId: 'hub-1' } }).cluster?.enabled, true);
  });
});
