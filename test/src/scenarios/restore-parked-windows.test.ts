// Scenario (docs/operations.md "Backup and restore", docs/decisions/0097-parked-windows.md): a hub restored
// from a backup older than a model's push keeps what the boxes recorded on that model. With real
// processes: a box serves the example model and a second model pushed and deployed after the backup; the
// hub is stopped, the box serves the second model while it is down (its backlog), the backup is restored
// and started on the same ports. The backlog is acked and parked (GET /devices/{id} parkedWindows), not
// dropped; once the second model's bundle is pushed again, every one of those predictions is stored
// exactly once. Before parking, the restored hub acked the backlog as unassigned_version and it was lost.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hubWindows, pushBundle, startAgent, waitFor } from '@edgefleet/examples/fleet';
import type { DeviceInfo } from '@edgefleet/shared';
import { localWindows, outboxWindows } from './helpers.js';
import { OTHER, backupThenOtherModel, restoreBox, restoreOnSamePorts } from './restore-helpers.js';
const ID = 'rp-1';
/** Predictions on the second model while the hub is down. */
const BACKLOG = 6;

describe('a hub restored from a backup older than a model\'s push', () => {
  const box = restoreBox('ef-restore-parked-', ID);
  const recorded = async () => (await localWindows(box.dev.dataDir, OTHER)).reduce((n, w) => n + w.count, 0);
  const device = () => box.s.hub.api<DeviceInfo>('GET', `/devices/${ID}`);

  it('parks the backlog of the model pushed after the backup and stores it exactly once when it is pushed again', async () => {
    const { s, served, dev } = box;
    box.agent = await startAgent({ dataDir: dev.dataDir, config: { sync: { reconnectMs: 300 }, summaries: { windowSec: 1 } } });
    // After the backup: a second model, pushed, deployed and served; the old hub acks all of its windows.
    const { backupDir, other } = await backupThenOtherModel(s, box.dir, served);
    const before = box.answered[OTHER] ?? 0;
    await waitFor('the old hub holding every window', async () => ((await recorded()) === before && (await outboxWindows(dev.dataDir)) === 0 ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });

    // The hub goes down; the box keeps serving the second model and keeps what it records.
    await s.hub.stop();
    for (let i = 0; i < BACKLOG; i++) assert.equal(await served(OTHER), '1.0.0');
    await waitFor('the backlog in closed windows', async () => ((await recorded()) === before + BACKLOG ? true : undefined), { timeoutMs: 30_000, intervalMs: 500 });
    assert.ok((await outboxWindows(dev.dataDir)) > 0, 'the backlog waits in the outbox');

    // The operator restores the older backup and starts the hub on the same ports, nothing else.
    await restoreOnSamePorts(s, box.dir, backupDir, { stopped: true });

    // The backlog is acked (the box's outbox drains) and parked, not stored and not dropped.
    const parked = await waitFor('the backlog parked', async () => {
      const p = (await device()).parkedWindows;
      return p && (await outboxWindows(dev.dataDir)) === 0 ? p : undefined;
    }, { timeoutMs: 90_000, intervalMs: 500 });
    assert.deepEqual(parked.versions.map((v) => `${v.model}@${v.version}`), [`${OTHER}@1.0.0`]);
    assert.deepEqual(await hubWindows(s.hub.api, ID, `model=${OTHER}`), []);

    // The operator pushes the bundle again: the parked windows are stored (the sweep runs every 10 s), each once.
    await pushBundle(s.hub, other.path);
    const stored = await waitFor('the parked windows stored', async () => {
      const ws = await hubWindows(s.hub.api, ID, `model=${OTHER}`);
      return ws.reduce((n, w) => n + w.count, 0) >= BACKLOG && !(await device()).parkedWindows ? ws : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    assert.equal(stored.reduce((n, w) => n + w.count, 0), BACKLOG, 'every prediction of the backlog counted once');
    assert.equal(new Set(stored.map((w) => w.seq)).size, stored.length, 'no seq twice');
    assert.equal(parked.windows, stored.length);
  });
});
