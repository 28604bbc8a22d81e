// What a webhook receiver (a pager, a chat channel, a training pipeline) sees over an alert's life,
// with a real HTTP receiver on 127.0.0.1 and a manual clock: an alert whose rule is deleted tells the
// receiver it resolved, and the live stream (the console) too, once committed; a resolution never overtakes its firing while that is being retried; a URL
// with credentials in it is refused, and one stored by an older hub fails without writing them out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StreamEvent, WebhookEvent } from '@edgefleet/shared';
import { makeHarness } from '../testing/harness.js';
import { EventBus } from '../events/bus.js';
import { connectEventSources } from '../events/sources.js';
import { noopLogger, type LoggerPort } from '../mqtt/ports.js';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { Alerts, DEFAULT_ALERTS_OPTIONS } from './service.js';
import { signedReceiver } from './testing.js';

const SECRET = 'whsec-0123456789abcdef';

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

/** A hub with one offline device, so a devices_offline rule with threshold 1 is breached. */
async function setup(answer?: (n: number) => number) {
  const h = makeHarness({ database: backend.database() });
  let n = 0;
  const rx = await signedReceiver(SECRET, 200, (res) => res.writeHead(answer ? answer(++n) : 200).end());
  const logged: unknown[] = [];
  const logger: LoggerPort = { ...noopLogger, warn: (o: unknown) => { logged.push(o); }, error: (o: unknown) => { logged.push(o); } };
  const alerts = new Alerts({ store: h.store, clock: h.clock, logger, metrics: h.metrics }, { ...DEFAULT_ALERTS_OPTIONS, webhook: { ...DEFAULT_ALERTS_OPTIONS.webhook, backoffMs: 2000 } });
  h.store.devices.create('dev-1', 'x'.repeat(32), {}, null, h.clock.now());
  const types = () => rx.got.map((g) => (JSON.parse(g.body) as WebhookEvent).type);
  const close = async () => {
    await alerts.stop(500);
    await rx.close();
    h.close();
  };
  return { h, rx, alerts, types, logged, close };
}

function suite(): void {
  test('deleting a rule tells its receivers that its firing alert resolved; a pending one is dropped', async () => {
    const { h, rx, alerts, types, close } = await setup();
    try {
      const fire = h.store.alerts.addRule({ name: 'offline', metric: 'devices_offline', threshold: 1, forSec: 0, windowSec: 3600, severity: 'critical', actions: [{ type: 'webhook', url: rx.url, secret: SECRET }] }, { actor: 't', at: h.clock.now() });
      const wait = h.store.alerts.addRule({ name: 'offline later', metric: 'devices_offline', threshold: 1, forSec: 600, windowSec: 3600, severity: 'info', actions: [{ type: 'webhook', url: rx.url, secret: SECRET }] }, { actor: 't', at: h.clock.now() });
      alerts.evaluate();
      await alerts.sender.tick();
      assert.deepEqual(types(), ['alert.firing']);

      h.clock.advance(60_000);
      for (const r of [fire, wait]) assert.equal((await h.req('DELETE', `/api/v1/alert-rules/${r.id}?reason=replaced`, { role: 'operator' })).status, 200);
      await alerts.sender.tick();
      assert.deepEqual(types(), ['alert.firing', 'alert.resolved'], 'the receiver is told the incident is over');
      assert.ok(rx.got.every((g) => g.valid));
      const resolved = JSON.parse(rx.got[1]?.body ?? '{}') as WebhookEvent;
      assert.deepEqual([resolved.alert.state, resolved.alert.resolvedAt, resolved.alert.rule], ['resolved', h.clock.now().toISOString(), 'offline']);
      assert.deepEqual(h.store.alerts.alerts({}).map((a) => [a.rule, a.state]), [['offline', 'resolved']], 'the pending alert never fired: dropped');
    } finally {
      await close();
    }
  });

  test('deleting a rule publishes the resolution of its firing alert on the live stream, after commit', async () => {
    const { h, rx, alerts, close } = await setup();
    const bus = new EventBus();
    const got: StreamEvent[] = [];
    bus.subscribe((e) => got.push(e));
    const noop = () => () => true;
    const off = connectEventSources({ bus, clock: h.clock, fleet: { on: noop, onConnect: noop, onDisconnect: noop } as never, audit: h.store.audit, deployments: h.store.deployments, alerts });
    const alertEvents = () => got.filter((e) => e.type === 'alert').map((e) => e.data as { event: string; alert: { id: number; state: string; rule: string } });
    try {
      const fire = h.store.alerts.addRule({ name: 'offline', metric: 'devices_offline', threshold: 1, forSec: 0, windowSec: 3600, severity: 'critical', actions: [{ type: 'webhook', url: rx.url, secret: SECRET }] }, { actor: 't', at: h.clock.now() });
      const wait = h.store.alerts.addRule({ name: 'offline later', metric: 'devices_offline', threshold: 1, forSec: 600, windowSec: 3600, severity: 'info', actions: [] }, { actor: 't', at: h.clock.now() });
      alerts.evaluate();
      assert.deepEqual(alertEvents().map((d) => [d.event, d.alert.rule]), [['fired', 'offline']]);
      const firing = alertEvents()[0]?.alert;

      // A delete that rolls back (here: its transaction throws after the removal) publishes nothing.
      assert.throws(() => h.store.db.transaction(() => {
        h.store.alerts.removeRule(fire.id, h.clock.now());
        throw new Error('rolled back');
      })(), /rolled back/);
      await new Promise((r) => setImmediate(r));
      assert.equal(alertEvents().length, 1, 'a rolled-back removal is not announced');

      h.clock.advance(60_000);
      for (const r of [fire, wait]) assert.equal((await h.req('DELETE', `/api/v1/alert-rules/${r.id}?reason=replaced`, { role: 'operator' })).status, 200);
      await new Promise((r) => setImmediate(r));
      const events = alertEvents();
      assert.deepEqual(events.map((d) => [d.event, d.alert.rule, d.alert.state]), [['fired', 'offline', 'firing'], ['resolved', 'offline', 'resolved']], 'the console is told the alert resolved; the pending one never fired');
      assert.equal(events[1]?.alert.id, firing?.id);
      assert.deepEqual(events[1]?.alert, h.store.alerts.alert(firing?.id ?? 0), 'the alert as stored');
    } finally {
      off();
      await close();
    }
  });

  test('a resolution waits for its firing delivery that is being retried', async () => {
    // The receiver is down for its first answer: the firing delivery is retried 2 s later.
    const { h, rx, alerts, types, close } = await setup((n) => (n === 1 ? 503 : 200));
    try {
      h.store.alerts.addRule({ name: 'offline', metric: 'devices_offline', threshold: 1, forSec: 0, windowSec: 3600, severity: 'critical', actions: [{ type: 'webhook', url: rx.url, secret: SECRET }] }, { actor: 't', at: h.clock.now() });
      alerts.evaluate();
      await alerts.sender.tick();
      assert.deepEqual(types(), ['alert.firing']);
      // The device comes back before the retry: the alert resolves.
      h.clock.advance(1000);
      h.store.devices.markSeen('dev-1', true, h.clock.now());
      alerts.evaluate();
      await alerts.sender.tick();
      assert.deepEqual(types(), ['alert.firing'], 'nothing overtakes the firing delivery');
      h.clock.advance(1500);
      await alerts.sender.tick();
      await alerts.sender.tick();
      assert.deepEqual(types(), ['alert.firing', 'alert.firing', 'alert.resolved'], 'the receiver ends on resolved');
      const [a] = h.store.alerts.alerts({});
      assert.deepEqual(h.store.alerts.deliveries(a?.id ?? 0).map((d) => [d.event, d.state, d.attempts.map((x) => x.status)]), [['firing', 'delivered', [503, 200]], ['resolved', 'delivered', [200]]]);
    } finally {
      await close();
    }
  });

  test('a webhook URL with a password in it is refused; one stored before is never sent and never written out', async () => {
    const { h, alerts, logged, close } = await setup();
    try {
      const url = 'http://hook:s3cr3t-pass@127.0.0.1:9/hook';
      const add = await h.req('POST', '/api/v1/alert-rules', { role: 'operator', json: { name: 'offline', metric: 'devices_offline', threshold: 1, actions: [{ type: 'webhook', url, secret: SECRET }] } });
      const text = await add.text();
      assert.equal(add.status, 400, text);
      const e = (JSON.parse(text) as { error: { code: string; message: string } }).error;
      assert.equal(e.code, 'BAD_REQUEST');
      assert.match(e.message, /^alert rule "offline": the URL of action 1 carries a user name or password \(user:password@\): expected a URL without them/);
      assert.doesNotMatch(text, /s3cr3t/);

      // A rule stored by an older hub, which took such URLs.
      const rule = { name: 'old', metric: 'devices_offline', threshold: 1, forSec: 0, windowSec: 3600, severity: 'warning', actions: [{ type: 'webhook', url, secret: SECRET }] };
      h.store.db.prepare('INSERT INTO alert_rules (name, rule, created_at, created_by) VALUES (?, ?, ?, ?)').run('old', JSON.stringify(rule), h.clock.now().toISOString(), 't');
      alerts.evaluate();
      await alerts.sender.tick();
      const [a] = h.store.alerts.alerts({});
      const [d] = h.store.alerts.deliveries(a?.id ?? 0);
      assert.deepEqual([d?.state, d?.attempts.length], ['failed', 1], 'no retries for what cannot succeed');
      assert.match(d?.attempts[0]?.error ?? '', /carries a user name or password/);
      const shown = JSON.stringify([d, logged, await (await h.req('GET', '/api/v1/alert-rules', { role: 'viewer' })).text()]);
      assert.doesNotMatch(shown, /s3cr3t/, shown);
    } finally {
      await close();
    }
  });
}
