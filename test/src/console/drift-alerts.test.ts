// The console's drift and alerts views in a real Chromium against a real hub (embedded broker,
// hub.db) fed by simulated devices over MQTT, their windows drawn from the example model's reference
// as in the drift known-answer scenario (test/src/sim/windows.ts): three devices of site "north" have
// one feature's mean shifted by a standard deviation, one "south" device is in distribution, and one
// "east" device sent too few predictions for a verdict. The heat map flags exactly the shifted
// feature, grouping by tag:site names north (and says east has too few predictions), the worst
// devices are north's; an alert rule with a webhook fires and the alerts view shows it live (from
// the stream's `alert` event) with its delivery; a viewer sees no write action.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { Manifest, SummaryWindow } from '@edgefleet/shared';
import { buildExampleBundle, makeKeys, makeRng, makeTrust, waitFor } from '@edgefleet/examples';
import { HUB_MIGRATIONS, Hub, HubConfig, Store, noopLogger, systemClock } from '@edgefleet/hub';
import { FleetSimulator, sampleWindow, type SimDevice } from '../sim/index.js';
import { buildRenderer, launchChromium, screenshotDir, signIn } from './helpers.js';

const HOURS = 3;
const PER_HOUR = 6;
const SITES: Record<string, string> = { 'dev-n0': 'north', 'dev-n1': 'north', 'dev-n2': 'north', 'dev-s0': 'south', 'dev-e0': 'east' };

describe('console: drift and alerts views', () => {
  let dir: string;
  let hub: Hub;
  let http: string;
  let token: string;
  let browser: Browser;
  let sim: FleetSimulator;
  let m: Manifest;
  let shifted: string;
  let steady: string;
  let rx: Server;
  const hooks: string[] = [];
  const shots = screenshotDir();
  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const raw = body instanceof Uint8Array;
    const res = await fetch(`${http}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': raw ? 'application/octet-stream' : 'application/json' }) },
      ...(body === undefined ? {} : { body: raw ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-console-drift-'));
    const keys = makeKeys(join(dir, 'keys'));
    const trust = makeTrust(dir, keys);
    const [v1, b] = await Promise.all([buildExampleBundle({ dir: join(dir, 'bundles'), version: '1.0.0', keys }), launchChromium(), buildRenderer()]);
    browser = b;
    m = v1.manifest;
    const numeric = (m.features ?? []).filter((f) => f.kind === 'numeric').map((f) => f.name);
    [shifted, steady] = [numeric[0] as string, numeric[1] as string];
    const dataDir = join(dir, 'hub');
    const devices: SimDevice[] = Object.keys(SITES).map((id) => ({ id, secret: `s3cret-${id}-${'x'.repeat(24)}` }));
    const store = Store.open(dataDir, HUB_MIGRATIONS);
    store.db.transaction(() => devices.forEach((d) => store.devices.create(d.id, d.secret, { site: SITES[d.id] as string }, null, new Date())))();
    store.close();
    hub = new Hub(HubConfig.parse({ dataDir, httpPort: 0, mqttPort: 0, trust: trust.path, hubKey: keys.files.hub.keyPath, logLevel: 'silent' }), noopLogger, systemClock);
    const addrs = await hub.start();
    http = addrs.http;
    token = hub.newAdminToken as string;
    await api('POST', '/models', new Uint8Array(readFileSync(v1.path)));
    await api('POST', '/deployments', { model: m.name, version: m.version, target: { all: true }, reason: 'console drift view' });
    sim = new FleetSimulator({ url: addrs.mqtt, devices, model: { name: m.name, version: m.version } });
    const c = await sim.connectAll();
    assert.equal(c.failed.length, 0, JSON.stringify(c.failed));
    const rng = makeRng(2027);
    const rand = () => rng.next();
    const hour0 = Math.floor(Date.now() / 3600_000) * 3600_000 - HOURS * 3600_000;
    await Promise.all(devices.map(async (d) => {
      const few = SITES[d.id] === 'east';
      const ws: SummaryWindow[] = [];
      for (let i = 0; i < (few ? 1 : HOURS * PER_HOUR); i++) {
        ws.push(sampleWindow(m, hour0 + (i * 3600_000) / PER_HOUR, 3600 / PER_HOUR, few ? 50 : 200, SITES[d.id] === 'north' ? { mean: shifted } : {}, rand));
      }
      await sim.publishWindows(d.id, ws);
    }));
    await waitFor('every window acked', () => sim.pending() === 0, { timeoutMs: 30_000 });
    rx = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (x: string) => (body += x)).on('end', () => { hooks.push(body); res.end('ok'); });
    });
    await new Promise<void>((r) => rx.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    await browser?.close();
    await sim?.stop();
    await hub?.stop();
    rx?.closeAllConnections();
    if (rx) await new Promise<void>((r) => rx.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('the drift view flags the shifted feature and the site; the alerts view shows a firing alert live, with its delivery', async () => {
    const page = await signIn(browser, http, token);
    await page.getByTestId('role').filter({ hasText: 'admin' }).waitFor();
    await page.keyboard.press('6');
    await page.getByRole('heading', { name: 'Drift' }).waitFor();
    await page.getByLabel('Model version').selectOption(`${m.name}@${m.version}`);
    const heat = page.getByTestId('drift-heatmap');
    await heat.locator(`[data-feature="${shifted}"][data-flagged="true"]`).waitFor();
    assert.equal(await heat.locator(`[data-feature="${steady}"]`).getAttribute('data-flagged'), 'false', 'an in-distribution feature is not flagged');
    assert.deepEqual(await heat.locator('[data-flagged="true"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-feature'))), [shifted]);
    // The selected feature (the first drifted one) shows its statistics and PSI per hour.
    await page.getByTestId('drift-feature').getByText('drifted').waitFor();
    // Keyboard: the feature labels are buttons.
    await heat.locator(`[data-feature="${steady}"]`).focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('drift-feature').getByRole('heading', { name: new RegExp(steady) }).waitFor();

    await page.getByLabel('Group by').fill('tag:site');
    await page.getByRole('button', { name: 'Apply' }).click();
    const groups = page.getByLabel('Drift groups');
    await groups.locator('[data-group="north"]').getByText('drift', { exact: true }).waitFor();
    await groups.locator('[data-group="south"]').getByText('ok', { exact: true }).waitFor();
    await groups.locator('[data-group="east"]').getByText('too few predictions').waitFor();
    const worst = await groups.locator('[data-group="north"] a').allTextContents();
    assert.deepEqual(worst.sort(), ['dev-n0', 'dev-n1', 'dev-n2']);
    await heat.locator(`[data-feature="${shifted}"]`).click();
    await page.getByTestId('drift-feature').getByRole('heading', { name: new RegExp(shifted) }).waitFor();
    // Its reference vs current histogram: the shifted mean moves mass to the upper bins.
    const bars = await page.getByTestId('histogram').locator('title').allTextContents();
    const shares = bars.map((t) => /baseline ([\d.]+) %, now ([\d.]+) %/.exec(t)?.slice(1).map(Number) ?? []);
    assert.ok(shares.length >= 4, `histogram bins: ${bars.join('; ')}`);
    const upper = (k: number) => shares.slice(Math.ceil(shares.length / 2)).reduce((s, x) => s + (x[k] ?? 0), 0);
    assert.ok(upper(1) > upper(0) + 10, `upper half now ${upper(1)} % vs baseline ${upper(0)} %`);
    await page.screenshot({ path: join(shots, 'drift.png'), fullPage: true });

    // Alerts: a drift rule with a webhook; the evaluation fires it and the open view updates from the stream.
    await page.keyboard.press('7');
    await page.getByRole('heading', { name: 'Alerts' }).waitFor();
    await page.getByText(/No .*alert/).first().waitFor();
    await api('POST', '/alert-rules', {
      name: 'north drift', metric: 'drift.psi', model: m.name, threshold: 0.2, windowSec: 4 * 3600, severity: 'critical',
      actions: [{ type: 'webhook', url: `http://127.0.0.1:${(rx.address() as AddressInfo).port}/hook`, secret: 'whsec-console-test-0123' }],
    });
    await page.getByLabel('Alert rules').getByText('north drift').waitFor();
    hub.alerts?.evaluate();
    hub.alerts?.send();
    const alerts = page.getByLabel('Alerts', { exact: true });
    await alerts.getByText('firing').waitFor({ timeout: 5000 });
    await page.getByTestId('firing-count').filter({ hasText: '1 firing' }).waitFor();
    await waitFor('the webhook', () => hooks.length > 0, { timeoutMs: 10_000 });
    await alerts.getByRole('link', { name: /deliveries/ }).first().click();
    await page.getByTestId('alert-deliveries').getByText('delivered').waitFor({ timeout: 10_000 });
    await page.getByRole('button', { name: 'Add rule' }).waitFor();
    await page.getByRole('button', { name: /Remove rule/ }).waitFor();
    await page.screenshot({ path: join(shots, 'alerts.png'), fullPage: true });
    // An operator's rule added and removed (with a reason) in the page.
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.locator('#rule-name').fill('ui offline');
    await page.locator('#rule-metric').selectOption('devices_offline');
    await page.locator('#rule-threshold').fill('3');
    await page.getByRole('form', { name: 'Add rule' }).getByRole('button', { name: 'Add rule' }).click();
    await page.getByText(/added rule \d+/).waitFor();
    const row = page.getByLabel('Alert rules').locator('tr', { hasText: 'ui offline' });
    await row.getByRole('button', { name: /Remove rule/ }).click();
    await row.getByRole('button', { name: /Remove rule/ }).click(); // submit without a reason: refused in the page
    await row.getByText('a reason is required').waitFor();
    await row.getByLabel('Reason').fill('added by the console test');
    await row.getByRole('button', { name: /Remove rule/ }).click();
    await page.getByLabel('Alert rules').getByText('ui offline').waitFor({ state: 'detached' });
    const audit = await api<{ entries: Array<{ action: string; reason: string | null }> }>('GET', '/audit?action=alert_rule.delete');
    assert.deepEqual(audit.entries.map((e) => e.reason), ['added by the console test']);

    // The drift alert stored a report: the drift view (key 6 returns to the version last shown) lists it.
    await page.keyboard.press('6');
    await page.getByLabel('Drift reports').getByText(shifted).first().waitFor();
    // An operator stores a report with a note (the reason field of the action).
    await page.getByRole('button', { name: 'Store report' }).click();
    await page.getByLabel('Reason (optional)').fill('weekly look');
    await page.getByRole('form', { name: 'Store report' }).getByRole('button', { name: 'Store report' }).click();
    await page.getByLabel('Drift reports').getByText('weekly look').waitFor();
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a viewer sees the views with no write action', async () => {
    const viewer = await api<{ token: string }>('POST', '/tokens', { name: 'drift-viewer', role: 'viewer' });
    const page = await signIn(browser, http, viewer.token);
    await page.getByTestId('role').filter({ hasText: 'viewer' }).waitFor();
    await page.goto(`${http}/#/alerts`);
    await page.getByLabel('Alert rules').getByText('north drift').waitFor();
    await page.getByLabel('Alerts', { exact: true }).getByText('firing').waitFor();
    for (const name of ['Add rule', /Remove rule/]) assert.equal(await page.getByRole('button', { name }).count(), 0, `viewer must not see ${String(name)}`);
    await page.goto(`${http}/#/drift/${m.name}/${m.version}`);
    await page.getByTestId('drift-heatmap').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Store report' }).count(), 0);
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
