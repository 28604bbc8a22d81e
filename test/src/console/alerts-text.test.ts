// The alerts view says which way each rule is breached and in what unit, in a real Chromium against a
// real hub (docs/console.md "Alerts"): a disk_free rule fires *below* its threshold, a latency one at or
// above it in ms, and an alert's value carries the same unit; the add-rule form says what the typed
// threshold means for the chosen metric. The hub's devices are not connected, so a devices_offline rule
// fires when the alerts are evaluated. An Acknowledge form open when another operator acknowledges the alert stays,
// sends nothing and says why; Un-acknowledge's answer stays beside it (docs/decisions/0147-console-action-gone-under-open-form.md).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert } from '@edgefleet/shared';
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

  it('an Acknowledge form open when another operator acknowledges the alert says why it sends nothing', async () => {
    await h.api('POST', '/alert-rules', { name: 'any down', metric: 'devices_offline', threshold: 2, severity: 'warning' });
    h.hub.alerts?.evaluate();
    const a = (await h.api<{ alerts: Alert[] }>('GET', '/alerts?state=firing')).alerts.find((x) => x.rule === 'any down');
    assert.ok(a, 'the rule fires: both devices are offline');
    const page = await signIn(h.browser, h.http, h.token);
    await page.keyboard.press('7');
    const row = page.locator(`tr[data-alert="${a.id}"]`);
    await row.getByRole('button', { name: `Acknowledge alert ${a.id}`, exact: true }).click();
    const form = row.getByRole('form', { name: `Acknowledge alert ${a.id}`, exact: true });
    await form.getByLabel('Reason').fill('mine');
    const other = await h.api<Alert>('POST', `/alerts/${a.id}/ack`, { reason: 'the other operator has it' });
    const gone = form.getByTestId('action-gone');
    await gone.waitFor();
    assert.equal(await gone.textContent(), `Acknowledge alert ${a.id}: not sent: alert ${a.id} was acknowledged by admin at ${other.acknowledged?.at.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC')}: the other operator has it`);
    assert.equal(await form.getByLabel('Reason').inputValue(), 'mine', 'what was typed is kept');
    assert.equal(await form.getByRole('button', { name: `Acknowledge alert ${a.id}`, exact: true }).isDisabled(), true);
    await form.getByRole('button', { name: 'Cancel' }).click();

    await row.getByRole('button', { name: `Un-acknowledge alert ${a.id}` }).click();
    await row.getByLabel('Reason').fill('handed back');
    await page.keyboard.press('Enter');
    await row.getByRole('button', { name: `Acknowledge alert ${a.id}`, exact: true }).waitFor();
    assert.equal(await row.getByRole('status').filter({ hasText: 'not taken again' }).count(), 1, 'the answer stays where its button was');
    const acks = await h.api<{ entries: { action: string; reason: string | null }[] }>('GET', `/audit?target=${encodeURIComponent(`alert ${a.id}`)}`);
    assert.deepEqual(acks.entries.map((e) => e.action).sort(), ['alert.ack', 'alert.unack']);
    assert.ok(acks.entries.every((e) => e.reason !== 'mine'), 'the open form sent nothing');
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
