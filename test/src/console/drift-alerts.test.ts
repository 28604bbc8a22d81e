// The console's drift and alerts views in a real Chromium against a real hub (embedded broker,
// hub.db) fed by simulated devices over MQTT, their windows drawn from the example model's reference
// as in the drift known-answer scenario (test/src/sim/windows.ts): three devices of site "north" have
// one feature's mean shifted by a standard deviation, one "south" device is in distribution, and one
// "east" device sent too few predictions for a verdict. The heat map flags exactly the shifted
// feature, grouping by tag:site names north (and says east has too few predictions), the worst
// devices are north's; an alert rule with a webhook fires and the alerts view shows it live (from
// the stream's `alert` event) with its delivery, an operator acknowledges it (shown to a viewer); a stored report opened shows its groups and how many
// devices it left out; a viewer sees no write action.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { Manifest } from '@edgefleet/shared';
import { waitFor } from '@edgefleet/examples';
import type { Hub } from '@edgefleet/hub';
import { buildRenderer, launchChromium, screenshotDir, signIn } from './helpers.js';
import { DRIFT_SITES, EXPECTED, HOURS, LABELS, PER_HOUR, startDriftFleet, type DriftFleet } from './drift-fleet.js';

describe('console: drift and alerts views', () => {
  let fleet: DriftFleet;
  let hub: Hub;
  let http: string;
  let token: string;
  let browser: Browser;
  let m: Manifest;
  let shifted: string;
  let steady: string;
  let rx: Server;
  const hooks: string[] = [];
  const shots = screenshotDir();
  const api = <T>(method: string, path: string, body?: unknown): Promise<T> => fleet.api<T>(method, path, body);

  before(async () => {
    const [f, b] = await Promise.all([startDriftFleet('ef-console-drift-'), launchChromium(), buildRenderer()]);
    [fleet, browser] = [f, b];
    ({ hub, http, token, manifest: m, shifted, steady } = f);
    rx = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (x: string) => (body += x)).on('end', () => { hooks.push(body); res.end('ok'); });
    });
    await new Promise<void>((r) => rx.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    await browser?.close();
    await fleet?.stop();
    rx?.closeAllConnections();
    if (rx) await new Promise<void>((r) => rx.close(() => r()));
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
    // Its hours are said in UTC, as every time in the console.
    assert.equal(await heat.getByTestId('heat-tz').textContent(), 'hour (UTC)');
    assert.match(await heat.locator('rect.cell title').first().textContent() ?? '', / \d{4}-\d\d-\d\d \d\d:00:00 UTC: /);
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
    // Accuracy per site: observed from the labels, expected (CBPE) from the confidences, east has none.
    const acc = page.getByLabel('Accuracy per group');
    await acc.locator('[data-group="north"] [data-cell="observed"]').filter({ hasText: '60.0 %' }).waitFor();
    assert.equal((await acc.locator('[data-group="south"] [data-cell="observed"]').textContent())?.trim(), '95.0 %');
    const windows = HOURS * PER_HOUR;
    const northDevices = Object.values(DRIFT_SITES).filter((x) => x === 'north').length;
    assert.equal((await acc.locator('[data-group="north"] [data-cell="expected"]').textContent())?.trim(), `${(EXPECTED * 100).toFixed(1)} % (${(northDevices * windows * 200).toLocaleString('en-US')} rows)`);
    assert.equal((await acc.locator('[data-group="east"] [data-cell="observed"]').textContent())?.trim(), 'no labels');
    assert.equal(await acc.locator('[data-group="north"] [data-cell="gap"] .pill.revoked').textContent(), '-30.0 pts', "north's drop below its expected accuracy is flagged");
    assert.equal(await acc.locator('[data-group="south"] [data-cell="gap"] .pill').count(), 0);
    await acc.getByRole('button', { name: 'south' }).click();
    const confusion = page.getByLabel('Confusion matrix of south');
    await confusion.waitFor();
    const south = LABELS.south?.confusion ?? [];
    assert.deepEqual(await confusion.locator('tbody td').allTextContents(), south.map((n) => String(n * windows)), "south's one device's windows, summed");
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
    const alerts = page.getByRole('table', { name: 'Alerts', exact: true });
    await alerts.locator('tbody tr').locator('.al-firing', { hasText: 'firing' }).first().waitFor({ timeout: 5000 });
    await page.getByTestId('firing-count').filter({ hasText: '1 firing' }).waitFor();
    // When it fired is an age by the hub's clock, the exact time as its title (docs/console.md "Ages").
    const fired = (await api<{ alerts: Array<{ firedAt: string | null }> }>('GET', '/alerts?state=firing')).alerts[0]?.firedAt ?? '';
    const firedCell = alerts.locator('tbody tr', { has: page.locator('.al-firing') }).first().getByTestId('alert-fired').locator('time');
    assert.match(await firedCell.textContent() ?? '', /^(\d+s ago|just now)$/);
    assert.equal(await firedCell.getAttribute('title'), fired.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC'));
    await waitFor('the webhook', () => hooks.length > 0, { timeoutMs: 10_000 });
    await alerts.getByRole('link', { name: /deliveries/ }).first().click();
    await page.getByTestId('alert-deliveries').getByText('delivered').waitFor({ timeout: 10_000 });
    await page.getByRole('button', { name: 'Add rule' }).waitFor();
    await page.getByRole('button', { name: /Remove rule/ }).waitFor();
    // The operator on call takes it (a reason required): the row says who, live from the stream's acknowledged event.
    const firingRow = alerts.locator('tbody tr', { has: page.locator('.al-firing') }).first();
    await firingRow.getByRole('button', { name: /Acknowledge alert/ }).click();
    await firingRow.getByRole('button', { name: /Acknowledge alert/ }).click();
    await firingRow.getByText('a reason is required').waitFor();
    await firingRow.getByLabel('Reason').fill('looking at the north site');
    await firingRow.getByRole('button', { name: /Acknowledge alert/ }).click();
    await firingRow.getByText(/^acknowledged by \S+ (\d+s ago|just now)$/).waitFor();
    const acked = await api<{ entries: Array<{ reason: string | null }> }>('GET', '/audit?action=alert.ack');
    assert.deepEqual(acked.entries.map((e) => e.reason), ['looking at the north site']);
    await page.screenshot({ path: join(shots, 'alerts.png'), fullPage: true });
    // An operator's rule added and removed (with a reason) in the page.
    await page.getByRole('button', { name: 'Add rule' }).click();
    const ruleForm = page.getByRole('form', { name: 'Add rule' });
    await page.locator('#rule-name').fill('ui offline');
    await page.locator('#rule-metric').selectOption('devices_offline');
    // What the form cannot read is refused in the page, not widened to the whole fleet or sent as 0.
    await page.locator('#rule-tag').fill('north');
    await page.locator('#rule-threshold').fill('');
    await ruleForm.getByRole('button', { name: 'Add rule' }).click();
    await ruleForm.getByRole('status').filter({ hasText: 'tag "north": expected key=value' }).waitFor();
    await page.locator('#rule-tag').fill('site=north');
    await ruleForm.getByRole('button', { name: 'Add rule' }).click();
    await ruleForm.getByRole('status').filter({ hasText: 'Threshold: expected a number' }).waitFor();
    await page.locator('#rule-threshold').fill('3');
    await ruleForm.getByLabel('Reason (optional)').fill('three boxes down pages someone');
    await ruleForm.getByRole('button', { name: 'Add rule' }).click();
    await page.getByText(/added rule \d+/).waitFor();
    const created = await api<{ entries: Array<{ target: string; reason: string | null }> }>('GET', '/audit?action=alert_rule.create');
    assert.equal(created.entries.find((e) => e.target === 'ui offline')?.reason, 'three boxes down pages someone');
    const rules = await api<{ rules: Array<{ name: string; scope?: { tags?: Record<string, string> } }> }>('GET', '/alert-rules');
    assert.deepEqual(rules.rules.find((r) => r.name === 'ui offline')?.scope, { tags: { site: 'north' } });
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
    // An operator stores a report with a note (the action's text field, called Note here: it is no reason).
    await page.getByRole('button', { name: 'Store report' }).click();
    await page.getByLabel('Note (optional)').fill('weekly look');
    await page.getByRole('form', { name: 'Store report' }).getByRole('button', { name: 'Store report' }).click();
    await page.getByLabel('Drift reports').getByText('weekly look').waitFor();
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a stored report opened shows its groups and how many devices it left out', async () => {
    const page = await signIn(browser, http, token);
    // The alert's report is by device; one of a fleet over 200 devices carries leftOut (the hub side:
    // hub/src/alerts/report-bound.test.ts): the hub's real answer with it added.
    await page.route(/\/api\/v1\/drift-reports\/\d+$/, async (route) => {
      const res = await route.fetch();
      const body = (await res.json()) as { report: { leftOut?: { devices: number; drifted: number } } };
      body.report.leftOut = { devices: 1234, drifted: 56 };
      await route.fulfill({ response: res, json: body });
    });
    await page.goto(`${http}/#/drift/${m.name}/${m.version}`);
    const first = (await api<{ reports: Array<{ id: number; by: string | null }> }>('GET', `/drift-reports?model=${m.name}`)).reports.find((x) => x.by === 'device')!;
    await page.getByLabel('Drift reports').getByRole('button', { name: String(first.id), exact: true }).click();
    const shown = page.getByTestId('drift-report');
    await shown.getByRole('heading', { name: `Report ${first.id}` }).waitFor();
    await shown.getByLabel('Drift groups').locator('[data-group="dev-n0"]').getByText('drift', { exact: true }).waitFor();
    const kept = await shown.getByLabel('Drift groups').locator('tbody tr').count();
    await shown.getByText(`1,234 more devices left out of this report (56 of them drifted): it keeps ${kept}, drifted ones first`).waitFor();
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a version whose manifest has no reference says "no reference", not "too few predictions"', async () => {
    const page = await signIn(browser, http, token);
    // The hub's real answer, as it is for such a version: no reference id, every group without a verdict and why
    // (the hub side: hub/src/drift/edge-cases.test.ts).
    const why = `${m.name} ${m.version} has no reference, so there is nothing to compare with`;
    await page.route(/\/api\/v1\/models\/[^/]+\/versions\/[^/]+\/drift\?/, async (route) => {
      const res = await route.fetch();
      const body = (await res.json()) as { baseline: { kind: string; id: string | null }; groups: Array<{ insufficient: string | null; features: Array<Record<string, unknown>> }> };
      body.baseline = { kind: 'reference', id: null };
      for (const g of body.groups) {
        g.insufficient = why;
        // Each feature has its values (n) but no PSI, and says why (hub/src/drift/no-reference-numbers.test.ts).
        for (const f of g.features) Object.assign(f, { psi: null, js: null, ks: null, chi2_p: null, drifted: false, insufficient: 'no reference bins, so there is nothing to compare with' });
      }
      await route.fulfill({ response: res, json: body });
    });
    await page.goto(`${http}/#/drift/${m.name}/${m.version}`);
    const groups = page.getByLabel('Drift groups');
    await groups.getByText('no reference', { exact: true }).first().waitFor();
    assert.equal(await groups.getByText('too few predictions').count(), 0);
    assert.equal(await groups.locator('.pill.offline').first().getAttribute('title'), why);
    await page.getByText(/baseline none: this version's manifest has no reference, so nothing is judged/).waitFor();
    // A feature's statistics say no verdict and why, never "ok".
    await page.getByTestId('drift-heatmap').locator('[data-feature]').first().click();
    const stats = page.getByTestId('drift-feature');
    await stats.getByText('no verdict', { exact: true }).waitFor();
    await stats.getByText('no reference bins, so there is nothing to compare with').waitFor();
    assert.equal(await stats.getByText('ok', { exact: true }).count(), 0);
    assert.equal(await page.getByTestId('drift-deprecated').count(), 0, 'a version not deprecated says nothing of it');
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a viewer sees the views with no write action; a version deprecated says so in its drift', async () => {
    // Deprecated last (the other tests' views are of it): the hub's drift answer carries when and why (docs/drift.md).
    await api('POST', `/models/${m.name}/versions/${m.version}/deprecate`, { reason: 'north sensors miswired' });
    const viewer = await api<{ token: string }>('POST', '/tokens', { name: 'drift-viewer', role: 'viewer' });
    const page = await signIn(browser, http, viewer.token);
    await page.getByTestId('role').filter({ hasText: 'viewer' }).waitFor();
    await page.goto(`${http}/#/alerts`);
    await page.getByLabel('Alert rules').getByText('north drift').waitFor();
    await page.getByLabel('Alerts', { exact: true }).getByText('firing').waitFor();
    // A second person on call can tell someone took the alert.
    await page.getByLabel('Alerts', { exact: true }).getByText(/^acknowledged by /).waitFor();
    for (const name of ['Add rule', /Remove rule/, /Acknowledge alert/]) assert.equal(await page.getByRole('button', { name }).count(), 0, `viewer must not see ${String(name)}`);
    await page.goto(`${http}/#/drift/${m.name}/${m.version}`);
    await page.getByTestId('drift-heatmap').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Store report' }).count(), 0);
    await page.getByTestId('drift-deprecated').getByText(/^⚠ Deprecated at .+ \(north sensors miswired\): no longer assignable; the devices running it keep it until moved to another version\.$/).waitFor();
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
