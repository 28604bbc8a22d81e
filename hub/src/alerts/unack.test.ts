// Taking back an alert's acknowledgement over REST and the CLI (docs/drift.md "Alerts"), on SQLite and
// PostgreSQL: the alert reads not taken again, the audit entry says who had taken it, the live stream is
// told once committed; an alert not acknowledged, a resolved one and an unknown id are refused with their codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeHarness } from '../testing/harness.js';
import { noopLogger } from '../mqtt/ports.js';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { cliOver } from '../testing/cli.js';
import { Alerts, DEFAULT_ALERTS_OPTIONS, type AlertEvent } from './service.js';

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
  test('an acknowledgement taken back: not taken again, audited with who had it, streamed; nothing to undo is NOTHING_TO_UNDO', async () => {
    const h = makeHarness({ database: backend.database() });
    const alerts = new Alerts({ store: h.store, clock: h.clock, logger: noopLogger, metrics: h.metrics }, DEFAULT_ALERTS_OPTIONS);
    const events: Array<[AlertEvent, number]> = [];
    alerts.onChanged((a, e) => events.push([e, a.id]));
    const cli = await cliOver(h.app, h.store.tokens.create('ops', 'operator', 'test', h.clock.now()).token, h.dir);
    try {
      h.store.devices.create('dev-1', 'x'.repeat(32), {}, null, h.clock.now());
      h.store.alerts.addRule({ name: 'offline', metric: 'devices_offline', threshold: 1, forSec: 0, windowSec: 3600, severity: 'critical', actions: [] }, { actor: 't', at: h.clock.now() });
      alerts.evaluate();
      const [firing] = h.store.alerts.alerts({ state: 'firing' });
      assert.ok(firing);
      const unack = (id: number, json: unknown, role: 'operator' | 'viewer' = 'operator') => h.req('POST', `/api/v1/alerts/${id}/unack`, { role, json });
      const refused = async (res: Response, status: number, code: string, text: RegExp) => {
        const body = (await res.json()) as { error: { code: string; message: string } };
        assert.deepEqual([res.status, body.error.code], [status, code], body.error.message);
        assert.match(body.error.message, text);
      };

      await refused(await unack(firing.id, { reason: 'x' }), 409, 'NOTHING_TO_UNDO', new RegExp(`alert ${firing.id} is not acknowledged: expected an alert an operator acknowledged`));
      const none = await cli.run('alerts', 'unack', String(firing.id), '--reason', 'x');
      assert.equal(none.code, 1);
      assert.match(none.err, /NOTHING_TO_UNDO\]: .*is not acknowledged/);
      await refused(await unack(9999, { reason: 'x' }), 404, 'NOT_FOUND', /no alert 9999/);

      const acked = await cli.run('alerts', 'ack', String(firing.id), '--reason', 'on it');
      assert.equal(acked.code, 0, acked.err);
      await refused(await unack(firing.id, {}), 400, 'SCHEMA_INVALID', /reason/);
      await refused(await unack(firing.id, { reason: 'x' }, 'viewer'), 403, 'FORBIDDEN', /operator/);
      assert.equal(h.store.alerts.alert(firing.id).acknowledged?.by, 'ops', 'a refused undo changes nothing');

      h.clock.advance(1000);
      const back = await cli.run('alerts', 'unack', String(firing.id), '--reason', 'wrong alert, not mine');
      assert.equal(back.code, 0, back.err);
      assert.equal(back.out, `alert ${firing.id} (offline fleet) is not acknowledged now\n`);
      const now = h.store.alerts.alert(firing.id);
      assert.deepEqual([now.state, now.acknowledged], ['firing', null]);
      const audit = (await (await h.req('GET', '/api/v1/audit?action=alert.unack')).json()) as { entries: Array<{ actor: string; target: string; reason: string; details: { was: { by: string; reason: string } } }> };
      assert.deepEqual(audit.entries.map((e) => [e.actor, e.target, e.reason, e.details.was.by, e.details.was.reason]), [['ops', `alert ${firing.id}`, 'wrong alert, not mine', 'ops', 'on it']]);
      await Promise.resolve(); // announced after commit (a microtask)
      assert.deepEqual(events.filter(([, id]) => id === firing.id).map(([e]) => e), ['fired', 'acknowledged', 'unacknowledged']);
      // Taken again by someone else: an ack works as on an alert never taken.
      assert.equal((await h.req('POST', `/api/v1/alerts/${firing.id}/ack`, { json: { reason: 'mine now' } })).status, 200);

      // Resolved, it keeps who took it: that is history, not taken back.
      h.store.db.prepare('UPDATE devices SET online = 1').run();
      h.clock.advance(60_000);
      alerts.evaluate();
      assert.equal(h.store.alerts.alert(firing.id).state, 'resolved');
      await refused(await unack(firing.id, { reason: 'late' }), 409, 'NOTHING_TO_UNDO', new RegExp(`alert ${firing.id} is resolved: expected a firing alert`));
      assert.ok(h.store.alerts.alert(firing.id).acknowledged);
    } finally {
      cli.close();
      await alerts.stop(500);
      h.close();
    }
  });
}
