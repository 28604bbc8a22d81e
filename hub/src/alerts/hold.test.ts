// Hold times of alert rules (forSec, keepFiringForSec; hold.ts, decision 0060) with a manual clock, on
// each database backend: a value hovering at the threshold does not fire and resolve on every pass, a
// held breach fires after forSec, a resolution waits keepFiringForSec, and the holds survive a restart
// of the alerts part on a reopened store, but not a gap longer than the tolerance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert } from '@edgefleet/shared';
import { makeHarness, type Harness } from '../testing/harness.js';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { noopLogger } from '../mqtt/ports.js';
import { Alerts, DEFAULT_ALERTS_OPTIONS } from './service.js';
import type { NewRule } from './rules.js';

const SECRET = 'whsec-0123456789abcdef';
const EVERY_MS = 60_000;

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

/** A hub with one device: `devices_offline >= 1` is breached exactly while it is offline. */
function setup() {
  const database = backend.database();
  const h = makeHarness({ database });
  h.store.devices.create('dev-1', 'x'.repeat(32), {}, null, h.clock.now());
  const part = (store: Store = h.store) => new Alerts({ store, clock: h.clock, logger: noopLogger, metrics: h.metrics }, { ...DEFAULT_ALERTS_OPTIONS, evaluateEveryMs: EVERY_MS });
  const alerts = part();
  const rule = (name: string, hold: { forSec: number; keepFiringForSec?: number }) => {
    const r: NewRule = { name, metric: 'devices_offline', threshold: 1, windowSec: 3600, severity: 'warning', actions: [{ type: 'webhook', url: 'http://127.0.0.1:9/hook', secret: SECRET }], ...hold };
    return h.store.alerts.addRule(r, { actor: 't', at: h.clock.now() }).id;
  };
  /** Sets the device's presence, evaluates once, then moves the clock one interval on. */
  const pass = (a: Alerts, offline: boolean) => {
    h.store.devices.markSeen('dev-1', !offline, h.clock.now());
    a.evaluate();
    h.clock.advance(EVERY_MS);
  };
  const of = (id: number): Alert[] => h.store.alerts.alerts({ rule: id });
  const queued = (id: number, event: 'firing' | 'resolved') => Number((h.store.db.prepare('SELECT COUNT(*) AS n FROM alert_deliveries WHERE rule_id = ? AND event = ?').get(id, event) as { n: number }).n);
  const firings = (id: number) => queued(id, 'firing');
  const reopen = () => Store.open(h.dir, HUB_MIGRATIONS, { database });
  return { h, alerts, part, rule, pass, of, firings, queued, reopen };
}

const states = (alerts: Alert[]) => alerts.map((a) => a.state);

async function close(h: Harness, ...parts: Alerts[]) {
  for (const p of parts) await p.stop(500);
  h.close();
}

function suite(): void {
  test('a value hovering at the threshold fires and resolves on every pass without hold times, and fires once (or never) with them', async () => {
    const { h, alerts, rule, pass, of, firings, queued } = setup();
    try {
      const bare = rule('no hold', { forSec: 0 });
      const keep = rule('keep firing 5m', { forSec: 0, keepFiringForSec: 300 });
      const wait = rule('for 3m', { forSec: 180 });
      for (let i = 0; i < 10; i++) pass(alerts, i % 2 === 0); // offline, online, offline, ...
      assert.equal(firings(bare), 5, 'today\'s behaviour, kept as the default: one firing per breached pass');
      assert.deepEqual(states(of(bare)), ['resolved', 'resolved', 'resolved', 'resolved', 'resolved']);
      assert.equal(firings(keep), 1, 'keepFiringForSec: the same alert goes on firing through the dips');
      assert.deepEqual(states(of(keep)), ['firing']);
      assert.equal(firings(wait), 0, 'forSec: never breached 3 minutes in a row');
      assert.deepEqual(of(wait), []);

      // The device stays online: the flapping alert resolves once the breach has been over 5 minutes.
      // The last pass (the 10th) saw it online: clear since then.
      const clearSince = of(keep)[0]?.clearSince;
      assert.equal(clearSince, new Date(h.clock.now().getTime() - EVERY_MS).toISOString());
      for (let i = 0; i < 4; i++) pass(alerts, false);
      assert.deepEqual(states(of(keep)), ['firing'], '4 minutes clear');
      pass(alerts, false);
      const [done] = of(keep);
      assert.deepEqual([done?.state, done?.resolvedAt], ['resolved', new Date(Date.parse(clearSince ?? '') + 300_000).toISOString()]);
      assert.deepEqual([firings(keep), queued(keep, 'resolved')], [1, 1]);
    } finally {
      await close(h, alerts);
    }
  });

  test('a breach held at every pass fires after forSec, not before', async () => {
    const { h, alerts, rule, pass, of, firings } = setup();
    try {
      const id = rule('for 3m', { forSec: 180 });
      const t0 = h.clock.now().toISOString();
      for (let i = 0; i < 3; i++) pass(alerts, true); // 0, 60, 120 s
      assert.deepEqual(of(id).map((a) => [a.state, a.startedAt]), [['pending', t0]]);
      assert.equal(firings(id), 0);
      pass(alerts, true); // 180 s
      const [a] = of(id);
      assert.deepEqual([a?.state, a?.startedAt, a?.firedAt], ['firing', t0, new Date(Date.parse(t0) + 180_000).toISOString()]);
      assert.equal(firings(id), 1);
      for (let i = 0; i < 3; i++) pass(alerts, true);
      assert.equal(firings(id), 1, 'deduplicated while breached');
    } finally {
      await close(h, alerts);
    }
  });

  test('a resolution waits keepFiringForSec; breached again meanwhile, the alert keeps firing and the count starts over', async () => {
    const { h, alerts, rule, pass, of, firings } = setup();
    try {
      const id = rule('keep 5m', { forSec: 0, keepFiringForSec: 300 });
      pass(alerts, true);
      assert.deepEqual(states(of(id)), ['firing']);
      const cleared = h.clock.now().toISOString();
      pass(alerts, false); // clear since now
      assert.equal(of(id)[0]?.clearSince, cleared);
      pass(alerts, false);
      pass(alerts, true); // breached again, 120 s into the clear
      assert.deepEqual(of(id).map((a) => [a.state, a.clearSince]), [['firing', null]]);
      const again = h.clock.now().getTime();
      for (let i = 0; i < 5; i++) pass(alerts, false); // clear again: +0 .. +240 s
      assert.deepEqual(states(of(id)), ['firing'], 'the first clear would have ended by now; the second has not');
      pass(alerts, false); // +300 s
      assert.deepEqual(of(id).map((a) => [a.state, a.resolvedAt, a.clearSince]), [['resolved', new Date(again + 300_000).toISOString(), null]]);
      assert.equal(firings(id), 1);
    } finally {
      await close(h, alerts);
    }
  });

  test('hold times are stored: a restart goes on with them; a gap past the tolerance starts them again', async () => {
    const { h, alerts, part, rule, pass, of, reopen } = setup();
    let store2: Store | null = null;
    let alerts2: Alerts | null = null;
    try {
      const pending = rule('for 10m', { forSec: 600 });
      const keep = rule('keep 10m', { forSec: 0, keepFiringForSec: 600 });
      const t0 = h.clock.now().getTime();
      for (let i = 0; i < 4; i++) pass(alerts, true); // 0..180 s breached: pending, and keep fired
      await alerts.stop(500);
      // The hub restarts (a new alerts part on a store opened again) within a minute.
      store2 = reopen();
      alerts2 = part(store2);
      for (let i = 0; i < 6; i++) pass(alerts2, true); // 240..540 s
      assert.deepEqual(states(of(pending)), ['pending']);
      pass(alerts2, true); // 600 s
      assert.deepEqual(of(pending).map((a) => [a.state, a.firedAt]), [['firing', new Date(t0 + 600_000).toISOString()]], 'the restart did not reset the hold');

      // keep: clear from 660 s, restart at 780 s, resolved at 660 + 600 s.
      const clear = h.clock.now().getTime();
      pass(alerts2, false);
      pass(alerts2, false);
      await alerts2.stop(500);
      store2.close();
      store2 = reopen();
      alerts2 = part(store2);
      for (let i = 0; i < 8; i++) pass(alerts2, false);
      assert.deepEqual(states(of(keep)), ['firing']);
      pass(alerts2, false);
      assert.deepEqual(of(keep).map((a) => [a.state, a.resolvedAt]), [['resolved', new Date(clear + 600_000).toISOString()]]);

      // The hub is down an hour (past the 5 minutes' tolerance at 60 s passes): a running hold starts again.
      const later = rule('for 5m', { forSec: 300 });
      pass(alerts2, true);
      pass(alerts2, true);
      h.clock.advance(3600_000);
      const back = h.clock.now().toISOString();
      pass(alerts2, true);
      assert.deepEqual(of(later).map((a) => [a.state, a.startedAt]), [['pending', back]], 'the breach was not watched for the hour');
      for (let i = 0; i < 4; i++) pass(alerts2, true);
      assert.deepEqual(states(of(later)), ['pending']);
      pass(alerts2, true);
      assert.deepEqual(of(later).map((a) => [a.state, a.firedAt]), [['firing', new Date(Date.parse(back) + 300_000).toISOString()]]);
    } finally {
      if (alerts2) await alerts2.stop(500);
      store2?.close();
      await close(h, alerts);
    }
  });

  test('hold times are validated (whole seconds, 0 to 7 days, the field named), windowSec is whole hours, the name not blank; a rule stored before keepFiringForSec reads as 0', async () => {
    const { h, alerts, pass, of } = setup();
    try {
      const add = (extra: Record<string, unknown>) => h.req('POST', '/api/v1/alert-rules', { role: 'operator', json: { name: 'r', metric: 'devices_offline', threshold: 1, ...extra } });
      for (const [field, value] of [['forSec', 604_801], ['keepFiringForSec', 604_801], ['keepFiringForSec', -1], ['keepFiringForSec', 1.5], ['forSec', '60'], ['keepFiringForSec', null]] as const) {
        const res = await add({ [field]: value });
        const text = await res.text();
        assert.equal(res.status, 400, `${field}=${String(value)}: ${text}`);
        const e = (JSON.parse(text) as { error: { code: string; message: string } }).error;
        assert.deepEqual([e.code, e.message], ['SCHEMA_INVALID', `invalid alert rule: ${field}: expected whole seconds from 0 to 604800 (7 days)`]);
      }
      // Alerts read hourly rollups: a 10-minute window would have read up to two hours, so it is refused.
      for (const value of [600, 5400, 0, 31 * 86_400 + 3600, 3600.5, '3600']) {
        const res = await add({ windowSec: value });
        const text = await res.text();
        assert.equal(res.status, 400, `windowSec=${String(value)}: ${text}`);
        const e = (JSON.parse(text) as { error: { code: string; message: string } }).error;
        assert.deepEqual([e.code, e.message], ['SCHEMA_INVALID', 'invalid alert rule: windowSec: expected whole hours in seconds (3600 = 1 h, 7200 = 2 h, ...) up to 2678400 (31 days): alerts read hourly rollups']);
      }
      // A blank name cannot be told apart in a list; a padded one is stored trimmed.
      for (const name of ['', '   ', '\t\n']) {
        const res = await add({ name });
        const text = await res.text();
        assert.equal(res.status, 400, `name=${JSON.stringify(name)}: ${text}`);
        assert.equal((JSON.parse(text) as { error: { message: string } }).error.message, 'invalid alert rule: name: expected a rule name (not blank)');
      }
      const padded = await add({ name: '  disk  ' });
      assert.equal(padded.status, 201);
      assert.equal((await padded.json() as { name: string }).name, 'disk');
      const holds = async (res: Response) => {
        const text = await res.text();
        assert.equal(res.status, 201, text);
        const r = JSON.parse(text) as { forSec: number; keepFiringForSec: number };
        return [r.forSec, r.keepFiringForSec];
      };
      assert.deepEqual(await holds(await add({ forSec: 604_800, keepFiringForSec: 604_800 })), [604_800, 604_800]);
      assert.deepEqual(await holds(await add({ name: 'defaults' })), [0, 0], 'left out: today\'s behaviour');

      // A rule an older hub stored has no keepFiringForSec: 0, it resolves at the first clear pass.
      // ... and a window of 600 s, as hubs took before windows were whole hours: it is listed as stored.
      const old = { name: 'old', metric: 'devices_offline', threshold: 1, forSec: 0, windowSec: 600, severity: 'warning', actions: [] };
      const id = Number(h.store.db.prepare('INSERT INTO alert_rules (name, rule, created_at, created_by) VALUES (?, ?, ?, ?)').run('old', JSON.stringify(old), h.clock.now().toISOString(), 't').lastInsertRowid);
      const listed = ((await (await h.req('GET', '/api/v1/alert-rules', { role: 'viewer' })).json()) as { rules: Array<{ name: string; keepFiringForSec: number; windowSec: number }> }).rules;
      assert.deepEqual(listed.map((r) => [r.name, r.keepFiringForSec, r.windowSec]), [['disk', 0, 3600], ['r', 604_800, 3600], ['defaults', 0, 3600], ['old', 0, 600]]);
      pass(alerts, true);
      pass(alerts, false);
      assert.deepEqual(states(of(id)), ['resolved']);
    } finally {
      await close(h, alerts);
    }
  });
}
