// Due deliveries are taken in turns across actions (deliveries.ts dueDeliveries; docs/drift.md "Webhooks"):
// a receiver that never answers, with a backlog of 20 deliveries of a flapping rule, holds at most the
// slots of one turn; another rule's page, queued after them all, goes out in the first pass instead of
// waiting behind every timeout. Real receivers on 127.0.0.1, SQLite and PostgreSQL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@edgefleet/examples';
import { makeHarness } from '../testing/harness.js';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { noopLogger } from '../mqtt/ports.js';
import { Alerts, DEFAULT_ALERTS_OPTIONS } from './service.js';
import { signedReceiver } from './testing.js';

const SECRET = 'whsec-turns-0123456789';

let backend: Backend;
forEachBackend((b) => { backend = b; }, () => {
  test('a receiver that never answers holds one turn of the slots: another rule\'s delivery queued after its backlog goes out first', { timeout: 90_000 }, async () => {
    const h = makeHarness({ database: backend.database() });
    const down = await signedReceiver(SECRET, 200, () => { /* never answers */ });
    const up = await signedReceiver(SECRET, 200);
    const opts = DEFAULT_ALERTS_OPTIONS;
    // A timeout long enough that no slot of the receiver that is down frees before the page went out.
    const alerts = new Alerts({ store: h.store, clock: h.clock, logger: noopLogger, metrics: h.metrics }, { ...opts, sendEveryMs: 20, webhook: { ...opts.webhook, timeoutMs: 3000, concurrency: 4 } });
    try {
      const rule = (url: string, name: string) => h.store.alerts.addRule({ name, metric: 'devices_offline', threshold: 1, forSec: 0, windowSec: 3600, severity: 'critical', actions: [{ type: 'webhook', url, secret: SECRET }] }, { actor: 't', at: h.clock.now() });
      const flapping = rule(down.url, 'flapping, receiver down');
      const page = rule(up.url, 'page, receiver up');
      const fire = (r: typeof flapping, key: string) => {
        const at = h.clock.now();
        h.store.alerts.queue(r, h.store.alerts.update(h.store.alerts.start(r.id, key, 1, at).id, { state: 'firing', at }), 'firing', at);
        h.clock.advance(1000);
      };
      for (let i = 0; i < 20; i++) fire(flapping, `k${i}`);
      fire(page, 'fleet');
      alerts.start();
      await waitFor('the page delivered', () => up.got.length === 1 || undefined, { timeoutMs: 60_000, intervalMs: 20 });
      assert.ok(down.got.length <= opts.webhook.concurrency, `the receiver that is down had ${down.got.length} attempts before the page went out`);
    } finally {
      await alerts.stop(1000);
      await down.close();
      await up.close();
      h.close();
    }
  });
});
