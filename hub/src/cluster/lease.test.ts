// The hub lease on a real SQLite file opened by two connections (as two hub processes open it): one
// holder at a time, a takeover once the holder's lease ran out (term + 1, the jobs start on the new
// holder), the fence refusing a former holder's write, and stop() handing the lease over at once; and
// jobs whose start takes longer than the lease lasts (docs/decisions/0058-lease-renewal-apart-from-job-starts.md).
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@edgefleet/examples';
import { AppError, withDeadline } from '@edgefleet/shared';
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

/** A promise the test resolves: a job start that lasts until it does. */
function gate(): { done: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const done = new Promise<void>((resolve) => { open = resolve; });
  return { done, open };
}

/** Waits for `check` like waitFor, but answers false instead of throwing when it does not come true. */
const cameTrue = (what: string, check: () => boolean, timeoutMs: number): Promise<boolean> =>
  waitFor(what, () => check() || undefined, { timeoutMs, intervalMs: 10 }).then(() => true, () => false);

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

  const lease = (i: number, hubId: string, log: string[], jobs = [recordingJob(log, hubId)], logger = new RecordingLogger()) => {
    const l = new HubLease({ repo: new LeaseRepo((stores[i] as Store).db), hubId, clock, logger, jobs }, { ttlMs: TTL, renewEveryMs: 20 });
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
    await waitFor('hub-b renewing without taking the live lease', () => (log.length === 0 && b.status().lease?.term === 1 ? true : undefined), { timeoutMs: 15_000, intervalMs: 20 });
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

  it('a job whose stop never ends: stop() returns within its deadline, says so, and leaves the lease to expire instead of handing it over', async () => {
    const log: string[] = [];
    const logger = new RecordingLogger();
    const stuck: SingletonJob = { name: 'stuck', start: () => { log.push('hub-a start'); }, stop: () => new Promise<void>(() => { log.push('hub-a stopping'); }) };
    const a = lease(0, 'hub-a', log, [stuck], logger);
    const b = lease(1, 'hub-b', log);
    await a.start();
    await b.start();
    assert.equal(a.isLeader(), true);
    await withDeadline(a.stop(300), 5000, 'HubLease.stop(300) with a job whose stop never ends');
    const msgs = logger.lines.map((l) => l.msg);
    assert.ok(msgs.includes('a singleton job did not stop cleanly'), JSON.stringify(msgs));
    assert.ok(msgs.some((m) => m?.startsWith('a singleton job is still starting or stopping: not releasing the hub lease') === true), JSON.stringify(msgs));
    assert.equal(new LeaseRepo((stores[1] as Store).db).get(HUB_LEASE)?.holder, 'hub-a', 'not released while its job may still run');
    assert.equal(b.isLeader(), false);
    assert.deepEqual(log, ['hub-a start', 'hub-a stopping']);
    // The lease runs out: hub-b takes it then, and runs the jobs.
    clock.advance(TTL + 1);
    await waitFor('hub-b taking the expired lease', () => (b.isLeader() ? true : undefined), { timeoutMs: 5000, intervalMs: 10 });
    assert.deepEqual(log, ['hub-a start', 'hub-a stopping', 'hub-b start']);
  });

  it('a holder renews while a job takes longer than the lease to start: no two hubs run the jobs at once', async () => {
    const running = new Set<string>();
    const overlaps: string[] = [];
    const job = (hub: string, name: string, until?: Promise<void>): SingletonJob => ({
      name,
      start: async () => {
        const others = [...running].filter((r) => !r.startsWith(hub));
        if (others.length) overlaps.push(`${hub} started ${name} while ${others.join(', ')} ran`);
        running.add(`${hub} ${name}`);
        await until; // the first pass of desired-document renewal after downtime, say
      },
      stop: () => { running.delete(`${hub} ${name}`); },
    });
    const slow = gate();
    const a = lease(0, 'hub-a', [], [job('hub-a', 'renewal', slow.done), job('hub-a', 'rollouts')]);
    const b = lease(1, 'hub-b', [], [job('hub-b', 'renewal'), job('hub-b', 'rollouts')]);
    const aStarted = a.start();
    await waitFor('hub-a starting its slow job', () => running.has('hub-a renewal') || undefined, { timeoutMs: 5000, intervalMs: 10 });
    await b.start();
    const repo = new LeaseRepo((stores[1] as Store).db);
    // Three leases' worth of time pass while the start runs, half a lease at a time; hub-b tries every 20 ms.
    let renewals = 0;
    for (let i = 0; i < 6 && overlaps.length === 0; i++) {
      clock.advance(TTL / 2);
      const at = clock.now().toISOString();
      const renewed = () => repo.get(HUB_LEASE)?.holder === 'hub-a' && repo.get(HUB_LEASE)?.renewedAt === at;
      if (await cameTrue('hub-a renewing at the new time (or hub-b running jobs)', () => renewed() || overlaps.length > 0, 3000) && renewed()) renewals++;
    }
    assert.deepEqual(overlaps, [], 'never two holders running jobs at once');
    assert.equal(renewals, 6, 'hub-a renewed after every step, during its slow start');
    slow.open();
    await aStarted;
    assert.deepEqual([...running].sort(), ['hub-a renewal', 'hub-a rollouts']);
    assert.equal(a.isLeader(), true);
    assert.equal(b.isLeader(), false);
  });

  it('a holder that loses the lease during a slow start starts no more jobs, and stops that one once its start returns', async () => {
    const log: string[] = [];
    const slow = gate();
    const logger = new RecordingLogger();
    const jobs: SingletonJob[] = [
      { name: 'slow', start: async () => { log.push('slow start'); await slow.done; log.push('slow started'); }, stop: () => { log.push('slow stop'); } },
      { name: 'next', start: () => { log.push('next start'); }, stop: () => { log.push('next stop'); } },
    ];
    const a = lease(0, 'hub-a', log, jobs, logger);
    const aStarted = a.start();
    await waitFor('hub-a starting its slow job', () => log.includes('slow start') || undefined, { timeoutMs: 5000, intervalMs: 10 });
    // A pause past the lease (no renewal in between): hub-c takes it.
    clock.advance(TTL);
    new LeaseRepo((stores[1] as Store).db).acquire(HUB_LEASE, 'hub-c', clock.now().getTime(), 10 * TTL);
    const lost = await cameTrue('hub-a noticing it lost the lease', () => logger.lines.some((l) => l.msg?.startsWith('lost the hub lease') === true), 3000);
    slow.open();
    await aStarted;
    await waitFor('the slow job stopped', () => log.includes('slow stop') || undefined, { timeoutMs: 5000, intervalMs: 10 });
    assert.deepEqual(log, ['slow start', 'slow started', 'slow stop'], 'the job that lost the lease while starting is stopped; the next one never starts');
    assert.equal(lost, true, 'hub-a noticed the loss while its job was still starting');
    assert.equal(a.isLeader(), false);
  });

  it('a start sequence cut short by a pause past the lease resumes when a later renewal still holds it', async () => {
    const log: string[] = [];
    const jobs: SingletonJob[] = [
      // Holds the event loop past the lease (a big synchronous transaction, say): the sequence finds the lease run out.
      { name: 'long', start: () => { log.push('long start'); clock.advance(TTL); }, stop: () => { log.push('long stop'); } },
      { name: 'next', start: () => { log.push('next start'); }, stop: () => { log.push('next stop'); } },
    ];
    const a = lease(0, 'hub-a', log, jobs);
    await a.start();
    await waitFor('hub-a renewing and starting the rest', () => (log.includes('next start') && a.isLeader()) || undefined, { timeoutMs: 5000, intervalMs: 10 });
    assert.deepEqual(log, ['long start', 'next start'], 'each job started once');
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
