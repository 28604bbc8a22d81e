// The drift view names a device the hub left out of a group's statistics (docs/decisions/0139-no-one-device-carries-fleet-drift.md;
// docs/drift.md "No one device carries a group"; docs/console.md "Drift and alerts"): a real hub fed over MQTT by
// three devices of site "west", in distribution, one of which (dev-heavy) sends ten times the predictions of
// each other (10 of 12 parts, more than the half one device may hold). Both the fleet's group and west's say
// it was left out, link its page and give its share of the group's predictions and output values as the
// hub's `leftOut` counts them; a stored report opened says it too. The heat map's hour axis labels every third hour
// of the clock, midnight with its date, whatever hour the range starts at.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import type { DriftResponse } from '@edgefleet/shared';
import { formatCount } from '@edgefleet/shared';
import { buildRenderer, launchChromium, signIn } from './helpers.js';
import { startDriftFleet, type DriftFleet } from './drift-fleet.js';

const SITES = { 'dev-heavy': 'west', 'dev-w0': 'west', 'dev-w1': 'west' };

describe('console: a device left out of a drift group', () => {
  let fleet: DriftFleet;
  let browser: Browser;
  before(async () => {
    [fleet, browser] = await Promise.all([startDriftFleet('ef-console-left-out-', SITES, { 'dev-heavy': 2000 }), launchChromium(), buildRenderer()]);
  });
  after(async () => {
    await browser?.close();
    await fleet?.stop();
  });

  it('names the device, links it and says its share, in each group it was left out of and in a stored report', async () => {
    const { name, version } = fleet.manifest;
    const path = `/models/${name}/versions/${version}/drift`;
    const r = await fleet.api<DriftResponse>('GET', `${path}?by=tag:site`);
    const l = r.groups[0]?.leftOut;
    assert.equal(l?.deviceId, 'dev-heavy', 'the hub left it out of west');
    const pct = (a: number, b: number) => `${Math.round((100 * a) / b)} %`;
    const said = `⚠ Left out of west's statistics: dev-heavy, which reported ${formatCount(l.predictions)} of the group's ${formatCount(l.groupPredictions)} predictions (${pct(l.predictions, l.groupPredictions)}) and `
      + `${formatCount(Math.round(l.outputValues))} of the group's ${formatCount(Math.round(l.groupOutputValues))} output values (${pct(l.outputValues, l.groupOutputValues)}), more than the share 0.5 one device may hold: `
      + 'the group\'s verdict is without it; investigate the box (group by device for its own drift).';

    const page = await signIn(browser, fleet.http, fleet.token);
    await page.keyboard.press('6');
    await page.getByLabel('Model version').selectOption(`${name}@${version}`);
    const groups = page.getByLabel('Drift groups');
    // The fleet's group: the same device, left out.
    const all = groups.locator('[data-left-out]');
    await all.waitFor();
    assert.match(await all.textContent() ?? '', /^⚠ Left out of .*'s statistics: dev-heavy, which reported [\d,]+ of the group's [\d,]+ predictions \(8\d %\)/);
    assert.equal(await all.getByRole('link', { name: 'dev-heavy' }).getAttribute('href'), '#/devices/dev-heavy');

    await page.getByLabel('Group by').fill('tag:site');
    await page.getByRole('button', { name: 'Apply' }).click();
    const west = groups.locator('[data-left-out="west"]');
    await west.waitFor();
    assert.equal(await west.textContent(), said);

    // A stored report keeps it (the report's groups are the same table).
    await page.getByRole('button', { name: 'Store report' }).click();
    await page.getByLabel('Note (optional)').fill('the heavy box');
    await page.getByRole('form', { name: 'Store report' }).getByRole('button', { name: 'Store report' }).click();
    const row = page.getByLabel('Drift reports').locator('tr').filter({ hasText: 'the heavy box' });
    await row.waitFor();
    await row.getByRole('button').click();
    const stored = page.getByTestId('drift-report').locator('[data-left-out="west"]');
    await stored.waitFor();
    assert.equal(await stored.textContent(), said);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('the heat map labels every third hour of the clock, midnight with its date, whatever hour the range starts at', async () => {
    const { name, version } = fleet.manifest;
    // The hub's answer with its hours moved to start at 08:00 UTC (the range's start follows the hub's clock).
    const from = Date.parse('2026-12-05T08:00:00Z');
    const page = await signIn(browser, fleet.http, fleet.token, { prepare: (p) => p.route(/\/drift\?/, async (route) => {
      const res = await route.fetch();
      const body = await res.json() as DriftResponse;
      if (body.timeline) body.timeline.starts = body.timeline.starts.map((_, j) => new Date(from + j * 3_600_000).toISOString());
      await route.fulfill({ response: res, json: body });
    }) });
    await page.keyboard.press('6');
    await page.getByLabel('Model version').selectOption(`${name}@${version}`);
    const axis = page.getByTestId('drift-heatmap').locator('svg text.axis:not([data-testid])');
    await axis.first().waitFor();
    const labels = await axis.allTextContents();
    assert.deepEqual(labels.slice(0, 8), ['09:00', '12:00', '15:00', '18:00', '21:00', '12-06', '03:00', '06:00']);
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
