// A delivery given up is reported where an operator looks (docs/drift.md "Webhooks"): counted in
// edgefleet_alert_webhook_deliveries_total{result="failed"} and logged as an error naming the alert and
// the event the receiver did not get; a delivered one counts as delivered. Real receivers on 127.0.0.1
// (one answers 500 every time, one checks the signature and answers 200); the secret is never logged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@edgefleet/examples';
import { makeHarness } from '../testing/harness.js';
import type { LoggerPort } from '../mqtt/ports.js';
import { Alerts, DEFAULT_ALERTS_OPTIONS } from './service.js';
import { signedReceiver } from './testing.js';

const SECRET = 'whsec-given-up-0123456789';

test('a delivery given up is counted and logged as an error naming the alert; a delivered one is counted', { timeout: 60_000 }, async () => {
  const h = makeHarness();
  const lines: Array<{ level: string; obj: object; msg: string | undefined }> = [];
  const log = (level: string) => (obj: object, msg?: string) => { lines.push({ level, obj, msg }); };
  const logger: LoggerPort = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  const down = await signedReceiver(SECRET, 500);
  const up = await signedReceiver(SECRET, 200);
  const alerts = new Alerts({ store: h.store, clock: h.clock, logger, metrics: h.metrics }, {
    ...DEFAULT_ALERTS_OPTIONS, sendEveryMs: 20, webhook: { ...DEFAULT_ALERTS_OPTIONS.webhook, attempts: 2, backoffMs: 1, maxBackoffMs: 1 },
  });
  const count = (result: string) => Number(new RegExp(`edgefleet_alert_webhook_deliveries_total\\{result="${result}"\\} (\\d+)`).exec(h.metrics.render())?.[1] ?? 0);
  try {
    h.store.devices.create('box-1', 'x'.repeat(32), {}, null, h.clock.now()); // never connected: offline
    const rule = (url: string, name: string) => h.store.alerts.addRule({ name, metric: 'devices_offline', threshold: 1, forSec: 0, windowSec: 3600, severity: 'critical', actions: [{ type: 'webhook', url, secret: SECRET }] }, { actor: 't', at: h.clock.now() });
    rule(down.url, 'to a receiver that is down');
    rule(up.url, 'to a receiver that is up');
    alerts.start();
    const ended = () => (h.store.db.prepare("SELECT COUNT(*) AS n FROM alert_deliveries WHERE state != 'pending'").get() as { n: number }).n;
    // The harness's clock is the test's: moved on so the retry comes due.
    await waitFor('both deliveries ended', () => { h.clock.advance(100); return ended() === 2 || undefined; }, { timeoutMs: 30_000, intervalMs: 20 });
    assert.equal(down.got.length, 2, 'two attempts, then given up');
    assert.ok(up.got[0]?.valid, 'the receiver that is up verified the signature');
    assert.equal(count('failed'), 1);
    assert.equal(count('delivered'), 1);
    const downAlert = h.store.alerts.alerts({}).find((a) => a.rule === 'to a receiver that is down');
    const errors = lines.filter((l) => l.level === 'error');
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.match(errors[0]?.msg ?? '', new RegExp(`^alert webhook given up: alert ${downAlert?.id}'s firing was not delivered \\(GET /api/v1/alerts/${downAlert?.id}/deliveries\\)$`));
    assert.deepEqual({ ...errors[0]?.obj, delivery: 0 }, { delivery: 0, alert: downAlert?.id, event: 'firing', url: down.url, attempts: 2, error: 'HTTP 500' });
    assert.ok(!JSON.stringify(lines).includes(SECRET), 'the secret is never logged');
  } finally {
    await alerts.stop(1000);
    await down.close();
    await up.close();
    h.close();
  }
});
