// Acknowledging a firing alert over REST (docs/drift.md "Alerts", docs/decisions/0106-alert-acknowledgement.md),
// on SQLite and PostgreSQL: who, when and why are kept on the alert (GET /alerts), audited and told to
// the live stream once committed; a second ack, a resolved alert, an unknown id, a missing reason and a
// viewer are refused with their codes; the alert that fires again after resolving is a new one, not
// acknowledged; a pending alert is refused too. Nothing is suppressed: the webhook receiver gets the firing and the resolution.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert, WebhookEvent } from '@edgefleet/shared';
import { makeHarness } from '../testing/harness.js';
import { noopLogger } from '../mqtt/ports.js';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { Alerts, DEFAULT_ALERTS_OPTIONS, type AlertEvent } from './service.js';
import { signedReceiver } from './testing.js';

const SECRET = 'whsec-0123456789abcdef';

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
  test('an operator acknowledges a firing alert; it is shown, audited, streamed, and the next firing is a new alert', async () => {
    const h = makeHarness({ database: backend.database() });
    const rx = await signedReceiver(SECRET, 200, (res) => res.writeHead(200).end());
    const alerts = new Alerts({ store: h.store, clock: h.clock, logger: noopLogger, metrics: h.metrics }, DEFAULT_ALERTS_OPTIONS);
    const events: Array<[AlertEvent, Alert]> = [];
    alerts.onChanged((a, e) => events.push([e, a]));
    try {
      h.store.devices.create('dev-1', 'x'.repeat(32), {}, null, h.clock.now());
      h.store.alerts.addRule({ name: 'offline', metric: 'devices_offline', threshold: 1, forSec: 0, windowSec: 3600, severity: 'critical', actions: [{ type: 'webhook', url: rx.url, secret: SECRET }] }, { actor: 't', at: h.clock.now() });
      alerts.evaluate();
      const [firing] = h.store.alerts.alerts({ state: 'firing' });
      assert.ok(firing);
      assert.equal(firing.acknowledged, null);
      const ack = (id: number | string, json: unknown, role: 'operator' | 'viewer' = 'operator') => h.req('POST', `/api/v1/alerts/${id}/ack`, { role, json });
      const refused = async (res: Response, status: number, code: string, text: RegExp) => {
        const body = (await res.json()) as { error: { code: string; message: string } };
        assert.deepEqual([res.status, body.error.code], [status, code], body.error.message);
        assert.match(body.error.message, text);
      };

      await refused(await ack(firing.id, {}), 400, 'SCHEMA_INVALID', /reason/);
      await refused(await ack(firing.id, { reason: '   ' }), 400, 'SCHEMA_INVALID', /reason/);
      await refused(await ack(firing.id, { reason: 'x' }, 'viewer'), 403, 'FORBIDDEN', /operator/);
      await refused(await ack(9999, { reason: 'x' }), 404, 'NOT_FOUND', /no alert 9999/);
      // A pending alert has told nobody yet: nothing to take.
      h.store.alerts.addRule({ name: 'offline later', metric: 'devices_offline', threshold: 1, forSec: 600, windowSec: 3600, severity: 'info', actions: [] }, { actor: 't', at: h.clock.now() });
      alerts.evaluate();
      const [pending] = h.store.alerts.alerts({ state: 'pending' });
      assert.ok(pending);
      await refused(await ack(pending.id, { reason: 'x' }), 409, 'CONFLICT', new RegExp(`alert ${pending.id} is pending: only a firing alert`));

      h.clock.advance(1000);
      const res = await ack(firing.id, { reason: 'on it: rebooting the gateway' });
      assert.equal(res.status, 200);
      const acked = (await res.json()) as Alert;
      assert.ok(acked.acknowledged);
      const by = acked.acknowledged.by;
      assert.deepEqual(acked.acknowledged, { by, at: h.clock.now().toISOString(), reason: 'on it: rebooting the gateway' });
      const listed = (await (await h.req('GET', '/api/v1/alerts?state=firing', { role: 'viewer' })).json()) as { alerts: Alert[] };
      assert.deepEqual(listed.alerts[0]?.acknowledged, acked.acknowledged, 'a second operator sees who took it');
      const audit = (await (await h.req('GET', '/api/v1/audit?action=alert.ack')).json()) as { entries: Array<{ actor: string; target: string; reason: string }> };
      assert.deepEqual(audit.entries.map((e) => [e.actor, e.target, e.reason]), [[by, `alert ${firing.id}`, 'on it: rebooting the gateway']]);
      await Promise.resolve(); // announced after commit (a microtask)
      assert.deepEqual(events.filter(([, a]) => a.id === firing.id).map(([e, a]) => [e, a.acknowledged?.by ?? null]), [['fired', null], ['acknowledged', by]]);

      await refused(await ack(firing.id, { reason: 'me too' }), 409, 'CONFLICT', new RegExp(`already acknowledged by ${by}`));

      // The breach ends: it resolves (still showing who took it) and a resolved alert cannot be taken.
      h.store.db.prepare('UPDATE devices SET online = 1').run();
      h.clock.advance(60_000);
      alerts.evaluate();
      const resolved = h.store.alerts.alert(firing.id);
      assert.equal(resolved.state, 'resolved');
      assert.equal(resolved.acknowledged?.by, by);
      await refused(await ack(firing.id, { reason: 'late' }), 409, 'CONFLICT', new RegExp(`alert ${firing.id} is resolved`));

      // Breached again: a new alert, not acknowledged.
      h.store.db.prepare('UPDATE devices SET online = 0').run();
      h.clock.advance(60_000);
      alerts.evaluate();
      const again = h.store.alerts.alerts({ state: 'firing' }).find((x) => x.rule === 'offline');
      assert.ok(again && again.id !== firing.id);
      assert.equal(again.acknowledged, null);

      // Ack suppresses nothing: the receiver got the first alert's firing and resolution, and the new firing.
      await alerts.sender.tick();
      await alerts.sender.tick();
      // (Two alerts' deliveries go out side by side: sorted.)
      const got = rx.got.map((g) => { const e = JSON.parse(g.body) as WebhookEvent; return [e.type, e.alert.id] as const; }).sort((x, y) => x[1] - y[1] || x[0].localeCompare(y[0]));
      assert.deepEqual(got, [['alert.firing', firing.id], ['alert.resolved', firing.id], ['alert.firing', again.id]]);
      const end = rx.got.map((g) => JSON.parse(g.body) as WebhookEvent).find((e) => e.type === 'alert.resolved');
      assert.equal(end?.alert.acknowledged?.by, by, 'the resolution tells the receiver who took it');
    } finally {
      await alerts.stop(500);
      await rx.close();
      h.close();
    }
  });
}
