// The start check of one hub per database (claim.ts, docs/decisions/0074-one-hub-per-database.md) on a
// real SQLite file opened by two connections, as two hub processes open it: a live holder in the way is
// waited for up to the TTL, then refused with CONFLICT naming it; a holder on this host whose process is
// gone is ended at once; a cluster hub is refused only by a hub without cluster.
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@edgefleet/examples';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { ManualClock } from '../testing/harness.js';
import { RecordingLogger } from '../mqtt/testing/devices.js';
import { LeaseRepo } from './lease-repo.js';
import { HUB_LEASE } from './lease.js';
import { claimAtStart, hostTag, type ClaimKeeper } from './claim.js';

const TTL = 400;

describe('claiming the hub lease at start', () => {
  let dir: string;
  let stores: Store[];
  let keepers: ClaimKeeper[];
  const clock = new ManualClock();

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ef-claim-'));
    stores = [Store.open(dir, HUB_MIGRATIONS, { shared: true }), Store.open(dir, HUB_MIGRATIONS, { shared: true })];
    keepers = [];
  });
  afterEach(() => {
    for (const k of keepers) k.stop();
    for (const s of stores) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const repo = (i: number) => new LeaseRepo((stores[i] as Store).db);
  const claim = async (hubId: string, sole: boolean, logger = new RecordingLogger()) => {
    const k = await claimAtStart({ repo: repo(1), hubId, sole, clock, logger, ttlMs: TTL, renewEveryMs: 100 });
    keepers.push(k);
    return k;
  };

  it('a hub without cluster waits for a live holder up to the TTL, then is refused naming it; the holder keeps the lease', async () => {
    repo(0).acquire(HUB_LEASE, 'far-host-42', clock.now().getTime(), 60_000, true);
    const logger = new RecordingLogger();
    const t0 = Date.now();
    await assert.rejects(claim('here-7', true, logger), (e: Error & { code?: string }) => e.code === 'CONFLICT'
      && /hub far-host-42 \(without cluster\) holds the hub lease, last renewed at 2026-03-01T12:00:00.000Z/.test(e.message)
      && /expected no other hub on it/.test(e.message) && /docs\/hub\.md "Several hubs"/.test(e.message));
    assert.ok(Date.now() - t0 >= TTL, 'waited for the lease to end first');
    assert.equal(logger.lines.filter((l) => /waiting for it to end/.test(l.msg ?? '')).length, 1, 'logged once');
    assert.equal(repo(0).get(HUB_LEASE)?.holder, 'far-host-42');
  });

  it('the refusal says how long it waited: the TTL and one renewal more (it said the TTL: "waited 15 s" after 20)', async () => {
    repo(0).acquire(HUB_LEASE, 'far-host-43', clock.now().getTime(), 60_000, true);
    const t0 = Date.now();
    const err = await claimAtStart({ repo: repo(1), hubId: 'here-8', sole: true, clock, logger: new RecordingLogger(), ttlMs: 1000, renewEveryMs: 1000 })
      .then(() => null, (e: Error) => e);
    const waited = Number(/waited (\d+) s for it to end/.exec(err?.message ?? '')?.[1]);
    assert.equal(waited, Math.round((Date.now() - t0) / 1000), err?.message);
    assert.equal(waited, 2);
  });

  it('a cluster hub is refused by a hub without cluster only; a hub without cluster by a cluster hub too', async () => {
    repo(0).acquire(HUB_LEASE, 'hub-1', clock.now().getTime(), 60_000);
    await claim('hub-2', false); // another cluster hub: no wait
    await assert.rejects(claim('here-7', true), /hub hub-1 \(in cluster mode\) holds the hub lease/);
    repo(0).release(HUB_LEASE, 'hub-1', clock.now().getTime());
    repo(0).acquire(HUB_LEASE, 'far-host-42', clock.now().getTime(), 60_000, true);
    await assert.rejects(claim('hub-2', false), /\(without cluster\) holds the hub lease.*expected only cluster hubs on it/);
  });

  it('a holder on this host whose process is gone is ended at once and the lease taken with the next term', async () => {
    const gone = spawnSync(process.execPath, ['-e', '']).pid as number;
    repo(0).acquire(HUB_LEASE, `${hostTag()}-${gone}`, clock.now().getTime(), 60_000, true);
    const t0 = Date.now();
    await claim('here-7', true);
    assert.ok(Date.now() - t0 < TTL, `took it without waiting (${Date.now() - t0} ms)`);
    const row = repo(0).get(HUB_LEASE);
    assert.deepEqual([row?.holder, row?.term, row?.sole], ['here-7', 2, true]);
    // A live one on this host (this process) is not ended.
    repo(1).release(HUB_LEASE, 'here-7', clock.now().getTime());
    repo(0).acquire(HUB_LEASE, `${hostTag()}-${process.ppid}`, clock.now().getTime(), 60_000, true);
    await assert.rejects(claim('here-8', true), /CONFLICT|holds the hub lease/);
  });

  it('a holder with this host name but another boot or PID namespace (another machine or container) is waited for, not ended', async () => {
    assert.match(hostTag(), /-[0-9a-f]{6}$/, 'the host part carries the boot and PID-namespace tag on Linux');
    const gone = spawnSync(process.execPath, ['-e', '']).pid as number;
    const twin = `${hostTag().replace(/-[0-9a-f]{6}$/, '')}-000000-${gone}`;
    repo(0).acquire(HUB_LEASE, twin, clock.now().getTime(), 60_000, true);
    await assert.rejects(claim('here-7', true), new RegExp(`hub ${twin} \\(without cluster\\) holds the hub lease`));
    assert.equal(repo(0).get(HUB_LEASE)?.holder, twin);
  });

  it('a released or expired lease is taken at once; the keeper renews it until stopped, release ends it', async () => {
    repo(0).acquire(HUB_LEASE, 'far-host-42', clock.now().getTime() - 60_000, 1000, true);
    const k = await claim('here-7', true);
    const first = repo(0).get(HUB_LEASE)?.renewedAt;
    clock.advance(1000);
    await waitFor('the keeper to renew the lease', () => repo(0).get(HUB_LEASE)?.renewedAt !== first || undefined, { timeoutMs: 10_000 });
    assert.notEqual(repo(0).get(HUB_LEASE)?.renewedAt, first, 'renewed by the keeper');
    k.release();
    assert.ok(!repo(0).holds(HUB_LEASE, 'here-7', clock.now().getTime()));
  });
});
