// Deployment history retention (history-retention.ts, docs/decisions/0067-deployment-history-retention.md)
// on each backend, in the rollout environment (real Store, registry, aedes on 127.0.0.1:0, manual clock):
// with historyDays 30 the retention run deletes a superseded explicit deployment with its finished rollout
// and a tag deployment a newer one covers, and keeps one still current for a device, one with a `removing`
// row, a tag one a new device would join, one a running rollout owns, a younger one and one whose device
// row changed lately; no device's assignment changes; each transaction deletes at most DELETE_BATCH rows;
// GET /deployments/{id} of a deleted one is 404 and the list is the same less it. The config refuses a
// historyDays below 7.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GateConfig, type DeployTarget } from '@edgefleet/shared';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { appOf, cleanup, prepare, setup, type Env } from '../rollouts/testing.js';
import { RecordingLogger, RecordingMetrics } from '../mqtt/testing/devices.js';
import { WindowRetention } from '../rollups/retention.js';
import { loadConfig } from '../config-load.js';
import { DELETE_BATCH } from '../rollups/expiry.js';
import { HistoryRetention } from './history-retention.js';
import type { RolloutRecord } from '../store/rollouts-repo.js';

const DAY = 86_400_000;
const MODEL = 'audio-energy';
let backend: Backend;
before(prepare);
after(cleanup);

function retention(e: Env, historyDays = 30) {
  const metrics = new RecordingMetrics();
  const logger = new RecordingLogger();
  const history = new HistoryRetention({ store: e.store, logger, metrics, untrusted: () => e.parts.deployments.untrustedTargets() });
  const run = new WindowRetention({ stored: e.store.stored, clock: e.clock, logger, metrics, maxStoredBytesPerDevice: 1 << 30, history }, { historyDays });
  return { run, history, metrics, logger };
}

/** A rollout row owning `deploymentId` in `state`, with `devices` in it. */
function rollout(e: Env, id: string, deploymentId: number | null, state: RolloutRecord['state'], devices: readonly string[]): void {
  const at = e.clock.now().toISOString();
  e.store.rollouts.create({
    id, model: MODEL, version: '1.0.0', fromVersion: null, target: { devices: [...devices] }, waves: [{ name: 'all', percent: 100, bakeSec: 60 }], gates: GateConfig.parse({}),
    window: null, advance: 'auto', onFailure: 'pause', state, currentWave: 0, progress: [], deploymentId, reason: 'r', stateReason: null, createdBy: 'op', createdAt: at, updatedAt: at,
  });
  for (const [i, d] of devices.entries()) e.store.rollouts.addDevice(id, { deviceId: d, place: i, previous: null, notifiedAt: at });
}

/** Deploys 1.0.0, 2.0.0 and 3.0.0 to `target` in turn; returns the three ids. */
async function chain(e: Env, target: DeployTarget): Promise<[number, number, number]> {
  const ids: number[] = [];
  for (const version of ['1.0.0', '2.0.0', '3.0.0']) ids.push((await e.parts.deployments.deploy({ model: MODEL, version, target, reason: version }, 'op')).id);
  return ids as [number, number, number];
}

const exists = (e: Env, id: number) => e.store.deployments.list({ limit: 1000 }).deployments.some((d) => d.id === id);
const assignments = (e: Env) => Object.fromEntries(e.store.devices.list().map((d) => [d.id, e.store.deployments.effectiveFor(d.id)]));

async function rest(e: Env, path: string): Promise<{ status: number; body: { deployments?: Array<{ id: number }>; error?: { code: string } } }> {
  const token = e.store.tokens.create(`viewer-${Math.random().toString(16).slice(2)}`, 'viewer', 'test', e.clock.now()).token;
  const res = await appOf(e).request(`/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as { deployments?: Array<{ id: number }>; error?: { code: string } } };
}

forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
describe('deployment history retention', () => {
  it('deletes only deployments nothing can still read, with their finished rollouts; no assignment changes; 404 over REST', async () => {
    const e = await setup(0, {}, backend.database());
    try {
      const t0 = e.clock.now();
      for (const [id, tags] of [['a', {}], ['b1', {}], ['b2', {}], ['c', {}], ['dx', { site: 'x' }], ['ey', { site: 'y' }], ['f', {}], ['g', {}], ['h', {}]] as const) e.store.devices.create(id, `secret-${id}`, tags, null, t0);
      const [a1, a2, a3] = await chain(e, { devices: ['a'] });
      rollout(e, 'r-done', a1, 'completed', ['a']);
      const b1 = (await e.parts.deployments.deploy({ model: MODEL, version: '1.0.0', target: { devices: ['b1', 'b2'] }, reason: 'b' }, 'op')).id;
      for (const version of ['2.0.0', '3.0.0']) await e.parts.deployments.deploy({ model: MODEL, version, target: { devices: ['b1'] }, reason: 'b1' }, 'op');
      const [c1] = await chain(e, { devices: ['c'] });
      e.store.removals.mark(c1, 'c', 'removing', 'a removal not delivered yet', t0);
      const d1 = (await e.parts.deployments.deploy({ model: MODEL, version: '1.0.0', target: { tags: { site: 'x' } }, reason: 'x' }, 'op')).id;
      for (const version of ['2.0.0', '3.0.0']) await e.parts.deployments.deploy({ model: MODEL, version, target: { devices: ['dx'] }, reason: 'dx' }, 'op');
      const [e1] = await chain(e, { tags: { site: 'y' } });
      const [f1] = await chain(e, { devices: ['f'] });
      rollout(e, 'r-running', f1, 'running', ['f']);
      const h1 = (await e.parts.deployments.deploy({ model: MODEL, version: '1.0.0', target: { devices: ['h'] }, reason: 'h' }, 'op')).id;
      e.clock.advance(20 * DAY);
      const [g1] = await chain(e, { devices: ['g'] });
      // h1 is 31 days old at the run, but superseding touched its row 11 days before.
      for (const version of ['2.0.0', '3.0.0']) await e.parts.deployments.deploy({ model: MODEL, version, target: { devices: ['h'] }, reason: 'h' }, 'op');
      e.clock.advance(11 * DAY);

      const listed = (await rest(e, '/deployments?limit=100')).body.deployments?.map((d) => d.id) ?? [];
      const before = assignments(e);
      const seen = (device: string, version: string) => e.store.db.prepare('SELECT 1 FROM device_versions_seen WHERE device_id = ? AND name = ? AND version = ?').get(device, MODEL, version) !== undefined;
      assert.equal(seen('a', '1.0.0'), false, 'a never reported 1.0.0: only a1 lets its windows of 1.0.0 in');
      const { run, metrics, logger } = retention(e);
      const n = await run.deleteHistory();
      assert.equal(seen('a', '1.0.0'), true, "a1's row went, and its version joined what a may report: a box offline since may still send windows of it");
      assert.deepEqual(n, { deployments: 2, rollouts: 1, deployment: 4, rollout: 2 }, 'a1 and e1 with a row each; r-done with its row');
      assert.equal(exists(e, a1), false, 'superseded, not the previous version, owned by a finished rollout');
      assert.equal(exists(e, e1), false, 'a tag deployment a newer one of the same tags covers');
      assert.throws(() => e.store.rollouts.get('r-done'), /no rollout "r-done"/);
      for (const [id, why] of [[a2, 'previous of a'], [a3, 'current of a'], [b1, 'current of b2'], [c1, 'removing row'], [d1, 'a new site=x device joins it'], [f1, 'running rollout'], [g1, 'younger than 30 days'], [h1, 'a device row changed within 30 days']] as const) {
        assert.equal(exists(e, id), true, why);
      }
      assert.equal(e.store.rollouts.get('r-running').deploymentId, f1);
      assert.deepEqual(assignments(e), before, 'every device is assigned what it was, with the same previous version');
      assert.equal(metrics.counters.get('edgefleet_history_deleted_total{"kind":"deployment"}'), 4);
      assert.equal(metrics.counters.get('edgefleet_history_deleted_total{"kind":"rollout"}'), 2);
      assert.ok(logger.lines.some((l) => l.level === 'info' && /retention\.historyDays/.test(l.msg ?? '')));

      // Over REST: the deleted one is the existing 404; the list is what it was less the deleted ones.
      const gone = await rest(e, `/deployments/${a1}`);
      assert.deepEqual([gone.status, gone.body.error?.code], [404, 'NOT_FOUND']);
      assert.equal((await rest(e, `/deployments/${b1}`)).status, 200);
      assert.deepEqual((await rest(e, '/deployments?limit=100')).body.deployments?.map((d) => d.id), listed.filter((id) => id !== a1 && id !== e1));

      // A device enrolled with site=x still joins the kept tag deployment.
      e.store.devices.create('dx2', 'secret-dx2', { site: 'x' }, null, e.clock.now());
      e.parts.deployments.joinDeployments('dx2');
      assert.deepEqual(e.store.deployments.effectiveFor('dx2').map((m) => [m.deploymentId, m.version]), [[d1, '1.0.0']]);
      assert.equal(e.store.deployments.get(d1).devices.some((d) => d.deviceId === 'dx2'), true);

      // Nothing more goes until the younger chain is 30 days old.
      assert.deepEqual(await run.deleteHistory(), { deployments: 0, rollouts: 0, deployment: 0, rollout: 0 });
      e.clock.advance(20 * DAY);
      assert.equal((await run.deleteHistory()).deployments, 2);
      assert.equal(exists(e, g1), false);
      assert.equal(exists(e, h1), false);
    } finally {
      await e.close();
    }
  });

  it('deletes finished rollouts that own no deployment (configuration rollouts, ones stopped before a wave) once they are old, in bounded transactions', async () => {
    const e = await setup(0, {}, backend.database());
    try {
      const ids = Array.from({ length: 2500 }, (_, i) => `k-${String(i).padStart(4, '0')}`);
      e.store.db.transaction(() => { for (const id of ids) e.store.devices.create(id, 's', {}, null, e.clock.now()); })();
      rollout(e, 'r-config-done', null, 'completed', ids);
      rollout(e, 'r-aborted', null, 'aborted', []);
      rollout(e, 'r-config-running', null, 'running', ids.slice(0, 3));
      rollout(e, 'r-shadowed', null, 'aborted', ids.slice(0, 1));
      e.store.shadows.put({ deviceId: ids[0]!, model: MODEL, version: '2.0.0', sampleRate: 0.1, tolerance: 0.01, threshold: null, rolloutId: 'r-shadowed' });
      e.clock.advance(25 * DAY);
      rollout(e, 'r-young', null, 'rolled_back', ids.slice(0, 2));
      e.clock.advance(6 * DAY);
      const rows = () => Number((e.store.db.prepare('SELECT COUNT(*) AS n FROM rollout_devices').get() as { n: number }).n)
        + Number((e.store.db.prepare('SELECT COUNT(*) AS n FROM rollouts').get() as { n: number }).n);
      const seen = [rows()];
      const { history, metrics } = retention(e);
      const n = await history.run(new Date(e.clock.now().getTime() - 30 * DAY), async () => { seen.push(rows()); return true; });
      seen.push(rows());
      assert.deepEqual(n, { deployments: 0, rollouts: 2, deployment: 0, rollout: 2502 }, 'r-config-done with its 2,500 rows, r-aborted with none');
      const each = seen.slice(1).map((r, i) => seen[i]! - r).filter((d) => d > 0);
      assert.ok(each.length >= 2 && each.every((d) => d <= DELETE_BATCH), `rows per transaction: ${each.join(', ')}`);
      for (const gone of ['r-config-done', 'r-aborted']) assert.throws(() => e.store.rollouts.get(gone), new RegExp(`no rollout "${gone}"`));
      for (const [kept, why] of [['r-config-running', 'running'], ['r-shadowed', 'shadow candidates left'], ['r-young', 'finished within 30 days']] as const) {
        assert.equal(e.store.rollouts.get(kept).id, kept, why);
      }
      assert.equal(metrics.counters.get('edgefleet_history_deleted_total{"kind":"rollout"}'), 2502);
    } finally {
      await e.close();
    }
  });

  it(`deletes at most ${DELETE_BATCH} rows per transaction`, async () => {
    const e = await setup(0, {}, backend.database());
    try {
      const ids = Array.from({ length: 2500 }, (_, i) => `m-${String(i).padStart(4, '0')}`);
      e.store.db.transaction(() => { for (const id of ids) e.store.devices.create(id, 's', {}, null, e.clock.now()); })();
      const deps = ['1.0.0', '2.0.0', '3.0.0'].map((version) => {
        const id = e.store.deployments.create({ model: MODEL, version, target: { devices: ids }, reason: version, createdBy: 'op', at: e.clock.now() });
        e.store.deployments.addDevices(id, MODEL, ids, e.clock.now());
        return id;
      });
      rollout(e, 'r-big', deps[0]!, 'completed', ids);
      e.clock.advance(31 * DAY);
      const rows = () => ['deployments', 'deployment_devices', 'rollouts', 'rollout_devices']
        .reduce((s, t) => s + Number((e.store.db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n), 0);
      const seen: number[] = [];
      const { history } = retention(e);
      const n = await history.run(new Date(e.clock.now().getTime() - 30 * DAY), async () => { seen.push(rows()); return true; });
      seen.push(rows());
      const each = seen.slice(1).map((r, i) => seen[i]! - r);
      assert.deepEqual(n, { deployments: 1, rollouts: 1, deployment: 2501, rollout: 2501 });
      assert.ok(each.every((d) => d <= DELETE_BATCH), `rows per transaction: ${each.join(', ')}`);
      assert.equal(each.filter((d) => d > 0).length, 3, `5,002 rows take three transactions: ${each.join(', ')}`);
      assert.equal(exists(e, deps[0]!), false);
      assert.equal(e.store.deployments.get(deps[2]!).devices.length, 2500);
    } finally {
      await e.close();
    }
  });
});
}

it('the config takes retention.historyDays of 7 days or more and refuses 3 naming what it expects', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-cfg-'));
  try {
    const file = join(dir, 'hub.json');
    writeFileSync(file, JSON.stringify({ dataDir: 'data', retention: { historyDays: 7 } }));
    assert.equal(loadConfig({ config: file }, dir).retention?.historyDays, 7);
    for (const bad of [3, 7.5, '30']) {
      writeFileSync(file, JSON.stringify({ dataDir: 'data', retention: { historyDays: bad } }));
      assert.throws(() => loadConfig({ config: file }, dir), (err: Error & { code?: string }) => err.code === 'CONFIG_INVALID'
        && /retention\.historyDays/.test(err.message) && err.message.includes('expected whole days, at least 7'), String(bad));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
