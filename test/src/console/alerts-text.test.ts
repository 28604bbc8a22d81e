// The alerts view says which way each rule is breached and in what unit, in a real Chromium against a
// real hub (docs/console.md "Alerts"): a disk_free rule fires *below* its threshold, a latency one at or
// above it in ms, and an alert's value carries the same unit; the add-rule form says what the typed
// threshold means for the chosen metric. The hub's devices are not connected, so a devices_offline rule
// fires when the alerts are evaluated.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { signIn } from './helpers.js';
import { startSmallHub, type SmallHub } from './small-hub.js';

describe('console: alert rules and values with their direction and unit', () => {
  let h: SmallHub;
  before(async () => { h = await startSmallHub('ef-console-alert-text-', ['dev-a', 'dev-b']); });
  after(() => h?.stop());

  it('rules, a firing alert and the add-rule form', async () => {
    await h.api('POST', '/alert-rules', { name: 'low disk', metric: 'disk_free', threshold: 0.1, severity: 'warning' });
    await h.api('POST', '/alert-rules', { name: 'two down', metric: 'devices_offline', threshold: 1, severity: 'critical' });
    h.hub.alerts?.evaluate();
    const page = await signIn(h.browser, h.http, h.token);
    await page.keyboard.press('7');
    const rules = page.getByRole('table', { name: 'Alert rules' });
    assert.equal(await rules.locator('tr', { hasText: 'low disk' }).locator('td').nth(4).textContent(), '< 0.1 (10%)');
    assert.equal(await rules.locator('tr', { hasText: 'two down' }).locator('td').nth(4).textContent(), '≥ 1 device');
    const alert = page.getByRole('table', { name: 'Alerts', exact: true }).locator('tr', { hasText: 'two down' });
    assert.equal(await alert.locator('td').nth(5).textContent(), '2 devices / ≥ 1 device');

    await page.getByRole('button', { name: 'Add rule' }).click();
    const hint = page.getByTestId('rule-condition');
    await page.locator('#rule-metric').selectOption('disk_free');
    await page.locator('#rule-threshold').fill('0.05');
    await hint.filter({ hasText: 'breached while < 0.05 (5%)' }).waitFor();
    await page.locator('#rule-metric').selectOption('latency_p95');
    await page.locator('#rule-threshold').fill('250');
    await hint.filter({ hasText: 'breached while ≥ 250 ms' }).waitFor();
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
