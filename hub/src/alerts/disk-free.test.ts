// The disk_free alert (docs/drift.md "Alerts"), on each database backend: one alert per device whose
// last reported state says less than the threshold's share of its data dir's disk is free, scoped by
// tags, resolved when the device reports room again or is revoked; the threshold must be a share.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STATE_SCHEMA, type Alert, type ReportedState } from '@edgefleet/shared';
import { makeHarness } from '../testing/harness.js';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { noopLogger } from '../mqtt/ports.js';
import { Alerts, DEFAULT_ALERTS_OPTIONS } from './service.js';

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
  test('one alert per device under the threshold, in scope; it resolves with room again or a revoke', async () => {
    const h = makeHarness({ database: backend.database() });
    const alerts = new Alerts({ store: h.store, clock: h.clock, logger: noopLogger, metrics: h.metrics }, { ...DEFAULT_ALERTS_OPTIONS, evaluateEveryMs: 60_000 });
    try {
      for (const [id, site] of [['full', 'north'], ['roomy', 'north'], ['silent', 'north'], ['south', 'south']] as const) {
        h.store.devices.create(id, 'x'.repeat(32), { site }, null, h.clock.now());
      }
      const report = (id: string, free: number, total = 1000) => {
        h.clock.advance(1000);
        const st: ReportedState = { schema: STATE_SCHEMA, deviceId: id, at: h.clock.now().toISOString(), agentVersion: '0.1.0', lastAppliedSeq: 0, trustVersion: 1, models: [], capabilities: [], disk: { free, total } };
        h.store.devices.setReported(id, st);
      };
      report('full', 30); // 3% free
      report('roomy', 500);
      report('south', 10); // out of the rule's scope
      // 'silent' is an older agent: no disk in its state, no reading.
      const add = await h.req('POST', '/api/v1/alert-rules', { role: 'operator', json: { name: 'disk', metric: 'disk_free', threshold: 0.05, scope: { tags: { site: 'north' } } } });
      assert.equal(add.status, 201, await add.clone().text());
      const id = ((await add.json()) as { id: number }).id;
      const open = () => h.store.alerts.alerts({ rule: id }).filter((a) => a.state === 'firing').map((a: Alert) => [a.key, a.value]);

      alerts.evaluate();
      assert.deepEqual(open(), [['full', 0.03]]);
      report('roomy', 40); // 4% now
      alerts.evaluate();
      assert.deepEqual(open().sort(), [['full', 0.03], ['roomy', 0.04]]);
      report('full', 400); // room again
      h.store.devices.revoke('roomy', h.clock.now());
      alerts.evaluate();
      assert.deepEqual(open(), []);
      assert.deepEqual(h.store.alerts.alerts({ rule: id }).map((a) => [a.key, a.state]).sort(), [['full', 'resolved'], ['roomy', 'resolved']]);
    } finally {
      await alerts.stop(500);
      h.close();
    }
  });

  test('the threshold of disk_free is a share of the disk, and the rule needs no model', async () => {
    const h = makeHarness({ database: backend.database() });
    try {
      for (const threshold of [0, 1.5, -0.1, 50]) {
        const r = await h.req('POST', '/api/v1/alert-rules', { role: 'operator', json: { name: 'd', metric: 'disk_free', threshold } });
        const text = await r.text();
        assert.equal(r.status, 400, text);
        assert.equal((JSON.parse(text) as { error: { message: string } }).error.message, 'invalid alert rule: threshold: expected a share of the disk from 0 to 1 for metric disk_free (0.1: less than 10% free)');
      }
      assert.equal((await h.req('POST', '/api/v1/alert-rules', { role: 'operator', json: { name: 'd', metric: 'disk_free', threshold: 1 } })).status, 201);
      const message = async (json: Record<string, unknown>) => {
        const r = await h.req('POST', '/api/v1/alert-rules', { role: 'operator', json: { name: 'r', ...json } });
        const text = await r.text();
        assert.equal(r.status, 400, text);
        return (JSON.parse(text) as { error: { message: string } }).error.message;
      };
      // A rule about devices names no model (it would be ignored); a rate or accuracy is a share (5 for 5 % never fires).
      assert.equal(await message({ metric: 'devices_offline', threshold: 1, model: 'press' }), 'invalid alert rule: model: metric devices_offline is about devices, not a model: expected no model (scope it by tags)');
      assert.equal(await message({ metric: 'disk_free', threshold: 0.1, version: '1.0.0' }), 'invalid alert rule: version: metric disk_free is about devices, not a model: expected no version (scope it by tags)');
      assert.equal(await message({ metric: 'model_error_rate', model: 'press', threshold: 5 }), 'invalid alert rule: threshold: expected a share from 0 to 1 for metric model_error_rate (0.05: fires at 5% of requests failing in the model)');
      assert.match(await message({ metric: 'invalid_input_rate', model: 'press', threshold: 0 }), /threshold: expected a share from 0 to 1 for metric invalid_input_rate/);
      assert.match(await message({ metric: 'accuracy', model: 'press', threshold: 90 }), /threshold: expected a share from 0 to 1 for metric accuracy \(0\.9: fires below 90% correct\)/);
    } finally {
      h.close();
    }
  });
}
