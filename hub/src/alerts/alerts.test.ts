// Alerts end to end on the hub side with a real HTTP receiver on 127.0.0.1: a rule added over REST
// goes pending, fires after forSec, stays one alert (deduplicated), resolves; each webhook is signed
// (the receiver checks the HMAC itself), a failed attempt is retried with backoff, every attempt is
// logged; a retrain action carries the drift report; timeouts, answer size and stop are bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { waitFor } from '@edgefleet/examples';
import type { Alert, Delivery, Feature, Reference, WebhookEvent } from '@edgefleet/shared';
import { makeHarness } from '../testing/harness.js';
import { normal, numericReference, registerVersion, sampleWindow, seeded } from '../rollups/testing.js';
import { noopLogger } from '../mqtt/ports.js';
import { Alerts, DEFAULT_ALERTS_OPTIONS } from './service.js';
import { postWebhook } from './webhooks.js';
import { forEachBackend, type Backend } from '../testing/backends.js';

const FEATURES: Feature[] = [{ name: 'temp', index: 0, kind: 'numeric' }];
const REF_COUNTS = [0.4, 2.1, 6.9, 15.7, 24.9, 24.9, 15.7, 6.9, 2.1, 0.4].map((p) => Math.round(p * 100));
const REFERENCE: Reference = { id: 'd'.repeat(64), rows: 1000, features: [numericReference('temp', undefined, REF_COUNTS)], outputs: [] };
const SECRET = 'whsec-0123456789abcdef';

interface Received { body: string; signature: string; valid: boolean }

/** A webhook receiver: checks the signature as a user's receiver would, answers with `answer(n)`. */
async function receiver(answer: (n: number, res: ServerResponse, body: string) => void) {
  const got: Received[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => {
      const signature = String(req.headers['x-edgefleet-signature'] ?? '');
      const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature);
      const valid = !!m && createHmac('sha256', SECRET).update(`${m[1]}.${body}`).digest('hex') === m[2];
      got.push({ body, signature, valid });
      answer(got.length, res, body);
    });
  });
  // Every socket is destroyed on close, and close waits at most 2 s: a receiver left pumping or hanging
  // must not keep the test process alive.
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const close = () => new Promise<void>((r) => {
    const t = setTimeout(r, 2000);
    t.unref();
    server.close(() => { clearTimeout(t); r(); });
    server.closeAllConnections();
    for (const s of sockets) s.destroy();
  });
  return { got, url, close };
}

/** The database backend of the suite running now (docs/decisions/0040-postgresql.md). */
let backend: Backend;
// The same suite on each database backend.
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
// Each test's own timeout: a hang fails here, naming the test, not at the file's 300 s.
test('a rule fires after forSec, deduplicates, resolves; signed webhooks retried with backoff and logged', { timeout: 90_000 }, async () => {
  const h = makeHarness({ database: backend.database() });
  let firings = 0;
  // The first alert.firing attempt fails (500): it must be retried after the backoff.
  const rx = await receiver((_n, res, body) => {
    const first = body.includes('"alert.firing"') && firings++ === 0;
    res.writeHead(first ? 500 : 200).end('ok');
  });
  const alerts = new Alerts({ store: h.store, clock: h.clock, logger: noopLogger, metrics: h.metrics }, { ...DEFAULT_ALERTS_OPTIONS, webhook: { ...DEFAULT_ALERTS_OPTIONS.webhook, backoffMs: 1000 } });
  try {
    registerVersion(h.store.db, 'press', '1.0.0', { features: FEATURES, reference: REFERENCE });
    const rand = seeded(9);
    const now = h.clock.now().getTime();
    h.store.devices.create('dev-1', 'x'.repeat(32), { site: 'north' }, null, h.clock.now());
    h.store.db.transaction(() => h.store.rollups.applyWindows('dev-1', Array.from({ length: 6 }, (_, i) =>
      sampleWindow({ model: 'press', version: '1.0.0', start: now - 3000_000 + i * 300_000 }, FEATURES, REFERENCE, 300, { numeric: { temp: normal(rand, 8, 1.5) }, errors: { INFERENCE_FAILED: 0.1 } }, rand))))();

    const bad = await h.req('POST', '/api/v1/alert-rules', { role: 'operator', json: { name: 'x', metric: 'model_error_rate', threshold: 0.05 } });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /needs a model/);
    const badUrl = await h.req('POST', '/api/v1/alert-rules', { role: 'operator', json: { name: 'x', metric: 'devices_offline', threshold: 1, actions: [{ type: 'webhook', url: 'file:///etc/passwd', secret: SECRET }] } });
    assert.equal(badUrl.status, 400);
    assert.match(await badUrl.text(), /expected an http:\/\/ or https:\/\/ URL/);

    const add = await h.req('POST', '/api/v1/alert-rules', { role: 'operator', json: {
      name: 'press errors', metric: 'model_error_rate', model: 'press', threshold: 0.05, forSec: 120, severity: 'critical',
      actions: [{ type: 'webhook', url: rx.url, secret: SECRET }], reason: 'press line errors page the night shift',
    } });
    assert.equal(add.status, 201, await add.clone().text());
    const rule = (await add.json()) as { id: number; actions: Array<Record<string, unknown>> };
    assert.deepEqual(rule.actions, [{ type: 'webhook', url: rx.url }], 'the secret is never returned');
    assert.equal('reason' in rule, false, 'the reason is the audit log\'s, not part of the rule');
    assert.deepEqual(h.store.audit.query({ action: 'alert_rule.create' }).map((e) => e.reason), ['press line errors page the night shift']);
    const blank = await h.req('POST', '/api/v1/alert-rules', { role: 'operator', json: { name: 'y', metric: 'devices_offline', threshold: 1, reason: '  ' } });
    assert.equal(blank.status, 400);
    assert.match(await blank.text(), /reason.*expected a reason/);
    const drift = await h.req('POST', '/api/v1/alert-rules', { role: 'operator', json: {
      name: 'press drift', metric: 'drift.psi', model: 'press', version: '1.0.0', threshold: 0.2, actions: [{ type: 'retrain', url: rx.url, secret: SECRET }],
    } });
    assert.equal(drift.status, 201, await drift.clone().text());

    const list = async (q = '') => ((await (await h.req('GET', `/api/v1/alerts${q}`, { role: 'viewer' })).json()) as { alerts: Alert[] }).alerts;
    alerts.evaluate();
    assert.deepEqual((await list('?state=pending')).map((a) => [a.rule, a.key]), [['press errors', 'press@1.0.0']]);
    const driftAlert = (await list('?state=firing')).find((a) => a.rule === 'press drift');
    assert.ok(driftAlert?.reportId, 'a drift alert fires at once (forSec 0) with a stored report');

    h.clock.advance(150_000);
    alerts.evaluate();
    const firing = (await list('?state=firing')).find((a) => a.rule === 'press errors');
    assert.ok(firing && firing.value !== null && firing.value > 0.05, JSON.stringify(firing));
    await alerts.sender.tick();
    h.clock.advance(1000);
    await alerts.sender.tick();
    alerts.evaluate(); // still breached: no second alert, no second delivery
    await alerts.sender.tick();
    assert.equal((await list()).filter((a) => a.rule === 'press errors').length, 1);

    const deliveries = ((await (await h.req('GET', `/api/v1/alerts/${firing.id}/deliveries`, { role: 'viewer' })).json()) as { deliveries: Delivery[] }).deliveries;
    assert.deepEqual(deliveries.map((d) => [d.event, d.state, d.attempts.map((a) => a.status)]), [['firing', 'delivered', [500, 200]]]);
    assert.ok(rx.got.every((g) => g.valid), 'every webhook carries a valid signature');
    const bodies = rx.got.map((g) => JSON.parse(g.body) as WebhookEvent);
    const retrain = bodies.find((b) => b.type === 'retrain.requested');
    assert.ok(retrain && (retrain.report as { groups: unknown[] }).groups.length === 1 && retrain.links?.['report'] === `/api/v1/drift-reports/${driftAlert.reportId}`);
    assert.equal(bodies.filter((b) => b.type === 'alert.firing').length, 2, 'the failed attempt and its retry');

    const metrics = h.metrics.render();
    assert.match(metrics, /edgefleet_alerts_firing\{severity="critical"\} 1/);
    assert.match(metrics, /edgefleet_devices\{state="offline"\} 1/);

    // The window moves past the data: no value, the alert resolves and says so.
    h.clock.advance(3 * 3600_000);
    alerts.evaluate();
    await alerts.sender.tick();
    assert.equal((await list('?state=firing')).length, 0);
    assert.equal(JSON.parse(rx.got.at(-1)?.body ?? '{}').type, 'alert.resolved');

    const rm = await h.req('DELETE', `/api/v1/alert-rules/${rule.id}?reason=done`, { role: 'operator' });
    assert.equal(rm.status, 200);
    assert.deepEqual(h.store.audit.query({ action: 'alert_rule.delete' }).map((e) => e.reason), ['done']);
  } finally {
    await alerts.stop(1000);
    await rx.close();
    h.close();
  }
});

test('webhook attempts are bounded: a timeout, the answer read, and stop() while one hangs', { timeout: 90_000 }, async () => {
  const hang = await receiver(() => { /* never answers */ });
  const endless = await receiver((_n, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    const chunk = 'x'.repeat(64 * 1024);
    const pump = () => { while (res.write(chunk)) { /* until the socket pushes back */ } };
    res.on('drain', pump);
    pump();
  });
  try {
    const stop = new AbortController();
    const t = await postWebhook(hang.url, '{}', SECRET, { timeoutMs: 300, signal: stop.signal, nowSec: 1 });
    assert.deepEqual([t.status, t.error], [null, 'no answer within 300 ms']);
    const e = await postWebhook(endless.url, '{}', SECRET, { timeoutMs: 10_000, signal: stop.signal, nowSec: 1 });
    assert.deepEqual([e.status, e.error], [200, null], 'an endless answer is cut after the bytes we read, not waited for');
    assert.ok(e.ms < 5000, `took ${e.ms} ms`);

    // stop() aborts a hanging attempt within its deadline; the delivery stays pending for the next start.
    const h = makeHarness({ database: backend.database() });
    const alerts = new Alerts({ store: h.store, clock: h.clock, logger: noopLogger, metrics: h.metrics });
    try {
      const r = h.store.alerts.addRule({ name: 'off', metric: 'devices_offline', threshold: 1, forSec: 0, windowSec: 3600, severity: 'info', actions: [{ type: 'webhook', url: hang.url, secret: SECRET }] }, { actor: 't', at: h.clock.now() });
      h.store.devices.create('dev-1', 'x'.repeat(32), {}, null, h.clock.now());
      alerts.evaluate();
      alerts.send();
      const [a] = h.store.alerts.alerts({ rule: r.id });
      assert.equal(a?.state, 'firing');
      await waitFor('the hanging receiver got the webhook', () => hang.got.length === 1, { timeoutMs: 5000, intervalMs: 10 });
      const t0 = Date.now();
      await alerts.stop(500);
      assert.ok(Date.now() - t0 < 2000, `stop took ${Date.now() - t0} ms`);
      assert.equal(h.store.alerts.deliveries(a.id)[0]?.state, 'pending');
    } finally {
      await alerts.stop(500);
      h.close();
    }
  } finally {
    await hang.close();
    await endless.close();
  }
});

test('a receiver that hangs holds only its own slot: a delivery due meanwhile goes out at once', { timeout: 60_000 }, async () => {
  const hang = await receiver(() => { /* never answers */ });
  const ok = await receiver((_n, res) => { res.writeHead(200).end(); });
  const h = makeHarness({ database: backend.database() });
  // A timeout far past the wait below: the ok delivery must not wait for the hanging attempt to end.
  const alerts = new Alerts({ store: h.store, clock: h.clock, logger: noopLogger, metrics: h.metrics }, { ...DEFAULT_ALERTS_OPTIONS, webhook: { ...DEFAULT_ALERTS_OPTIONS.webhook, timeoutMs: 20_000 } });
  try {
    const rule = (name: string, url: string) => h.store.alerts.addRule({ name, metric: 'devices_offline', threshold: 1, forSec: 0, windowSec: 3600, severity: 'info', actions: [{ type: 'webhook', url, secret: SECRET }] }, { actor: 't', at: h.clock.now() });
    rule('hangs', hang.url);
    h.store.devices.create('dev-1', 'x'.repeat(32), {}, null, h.clock.now());
    alerts.evaluate();
    alerts.send();
    await waitFor('the hanging receiver got its webhook', () => hang.got.length === 1, { timeoutMs: 5000, intervalMs: 10 });
    const fast = rule('answers', ok.url);
    alerts.evaluate();
    alerts.send();
    await waitFor('the other receiver got its webhook while the first hangs', () => ok.got.length === 1, { timeoutMs: 5000, intervalMs: 10 });
    const [a] = h.store.alerts.alerts({ rule: fast.id });
    // The receiver has the request; the hub records the delivery once the answer is read, a moment later.
    await waitFor('the other delivery recorded as delivered', () => h.store.alerts.deliveries(a!.id)[0]?.state === 'delivered', { timeoutMs: 5000, intervalMs: 10 });
    assert.equal(hang.got.length, 1, 'the hanging receiver still holds its one attempt');
  } finally {
    await alerts.stop(500);
    h.close();
    await hang.close();
    await ok.close();
  }
});

test('a redirect is not followed, and the delivery log says where it pointed', { timeout: 30_000 }, async () => {
  const moved = await receiver((_n, res) => { res.writeHead(301, { location: 'https://hooks.example/new' }).end(); });
  try {
    const r = await postWebhook(moved.url, '{}', SECRET, { timeoutMs: 5000, signal: new AbortController().signal, nowSec: 1 });
    assert.deepEqual([r.status, r.error], [301, 'HTTP 301: redirect to "https://hooks.example/new" not followed (the rule\'s URL must be the receiver\'s own)']);
    assert.equal(moved.got.length, 1);
  } finally {
    await moved.close();
  }
});
}
