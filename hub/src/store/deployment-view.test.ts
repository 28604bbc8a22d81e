// GET /deployments/{id}?devices=N as the repository answers it (DeploymentsRepo.get, docs/hub.md), on each
// database backend: at most N devices, those needing attention first (failed before active, whatever their
// ids), the counts and devicesTotal covering every device; without N every device by id, as before.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeploymentDeviceStatus } from '@edgefleet/shared';
import { Store } from './index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { forEachBackend, type Backend } from '../testing/backends.js';

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
  it('lists the first N devices needing attention first, with counts and devicesTotal over all of them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ef-deploy-view-'));
    const store = Store.open(dir, HUB_MIGRATIONS, { database: backend.database() });
    try {
      const at = new Date('2026-12-05T10:00:00Z');
      // 40 devices: most active, a few in every other status, ids chosen so id order is not attention order.
      const ids = Array.from({ length: 40 }, (_, i) => `dev-${String(i).padStart(2, '0')}`);
      for (const id of ids) store.devices.create(id, `secret-${id}`, {}, null, at);
      const id = store.deployments.create({ model: 'm', version: '1.0.0', target: { all: true }, reason: 'view', createdBy: 'op', at });
      store.deployments.addDevices(id, 'm', ids, at);
      const statuses = DeploymentDeviceStatus.options;
      const wanted = new Map<string, DeploymentDeviceStatus>(ids.map((d, i) => [d, i >= 40 - statuses.length ? statuses[39 - i] as DeploymentDeviceStatus : 'active']));
      for (const [d, s] of wanted) store.deployments.setStatus(d, 'm', '1.0.0', s, at);

      const all = store.deployments.get(id);
      assert.equal(all.devices.length, 40);
      assert.deepEqual(all.devices.map((d) => d.deviceId), ids, 'without a limit: every device by id');
      assert.equal(all.devicesTotal, undefined);

      const some = store.deployments.get(id, 5);
      assert.deepEqual(some.devices.map((d) => d.status), ['failed', 'refused', 'rolled_back', 'waiting_for_disk', 'deferred']);
      assert.equal(some.devicesTotal, 40);
      assert.deepEqual(some.counts, all.counts, 'the counts cover every device');
      assert.equal(some.counts.active, 40 - statuses.length + 1);

      // Every status has its place in the order: the whole list by attention ends with the settled ones.
      const ordered = store.deployments.get(id, 40);
      assert.equal(ordered.devicesTotal, undefined, 'all listed: no total');
      assert.deepEqual(ordered.devices.slice(-3).map((d) => d.status), ['active', 'superseded', 'removed']);
      assert.deepEqual(new Set(ordered.devices.map((d) => d.status)), new Set(statuses));
      const actives = ordered.devices.filter((d) => d.status === 'active').map((d) => d.deviceId);
      assert.deepEqual(actives, [...actives].sort(), 'by id within a status');
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
