// A rollout action whose form is open when another operator's change takes it away (docs/console.md "Rollouts";
// ui/action.tsx `gone`), in a real Chromium against a real hub: the page follows the change live, and the open Pause
// form stays, the typed reason kept, saying it was not sent and why (the rollout is paused now, by whom and when),
// its button disabled, until Cancel; the form no longer vanished with what was typed. An action of the operator's own
// that takes its button away (Resume) leaves the hub's answer on the page. A New rollout refused as another rollout
// is active over the same devices (CONFLICT) links that rollout. On a device's page, an admin's open Set tags form
// stays when another admin revokes the device, saying it sends nothing, and this admin's own Revoke leaves its answer.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DeviceInfo, Rollout } from '@edgefleet/shared';
import { waitFor } from '@edgefleet/examples/fleet';
import { signIn } from './helpers.js';
import { pushExampleBundle, startSmallHub, type SmallHub } from './small-hub.js';

describe('console: another operator\'s rollout meets the page', { timeout: 120_000 }, () => {
  let h: SmallHub;
  let r: Rollout;
  before(async () => {
    h = await startSmallHub('ef-console-gone-', ['box-a', 'box-b']);
    await pushExampleBundle(h, '1.0.0');
  });
  after(() => h?.stop());

  it('keeps the open form with what was typed, says why it was not sent, and keeps an answer whose button went', async () => {
    r = await h.api<Rollout>('POST', '/rollouts', {
      model: 'audio-energy', version: '1.0.0', target: { all: true }, reason: 'console test', advance: 'manual',
      waves: [{ name: 'canary', percent: 1, minDevices: 1, bakeSec: 600 }, { name: 'all', percent: 100, bakeSec: 600 }],
    });
    const page = await signIn(h.browser, h.http, h.token);
    await page.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, `#/rollouts/${r.id}`);
    const actions = page.getByLabel('Rollout actions');
    await actions.getByRole('button', { name: 'Pause', exact: true }).click();
    const form = page.getByRole('form', { name: 'Pause' });
    await form.getByLabel('Reason').fill('the canary box looks slow');

    // Another operator pauses it: the page is told by the stream.
    const paused = await h.api<Rollout>('POST', `/rollouts/${r.id}/pause`, { reason: 'the other operator' });
    await actions.getByRole('button', { name: 'Resume', exact: true }).waitFor();
    const why = form.getByTestId('action-gone');
    await why.waitFor();
    const at = (paused.stateAt ?? '').replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC');
    assert.match(await why.textContent() ?? '', new RegExp(`^Pause: not sent: it no longer applies: the rollout is paused, wave canary \\w+ \\(its last state change by admin at ${at}\\)$`));
    assert.equal(await form.getByLabel('Reason').inputValue(), 'the canary box looks slow', 'what was typed stays');
    assert.equal(await form.getByRole('button', { name: 'Pause', exact: true }).isDisabled(), true, 'it cannot be sent');
    await form.getByLabel('Reason').press('Enter');
    assert.equal((await h.api<Rollout>('GET', `/rollouts/${r.id}`)).stateReason, 'the other operator', 'Enter sent nothing');
    await form.getByRole('button', { name: 'Cancel' }).click();
    await form.waitFor({ state: 'detached' });
    assert.equal(await actions.getByRole('button', { name: 'Pause', exact: true }).count(), 0, 'no Pause offered on a paused rollout');

    // Resume, the operator's own: its button goes with the state, the hub's answer stays.
    await actions.getByRole('button', { name: 'Resume', exact: true }).click();
    await page.getByRole('form', { name: 'Resume' }).getByLabel('Reason').fill('checked the box');
    await page.keyboard.press('Enter');
    await actions.getByRole('button', { name: 'Pause', exact: true }).waitFor();
    await actions.getByRole('status').filter({ hasText: /^resume: running$/ }).waitFor();
    assert.equal(await actions.getByRole('button', { name: 'Resume', exact: true }).count(), 0);
    await waitFor('resumed', async () => ((await h.api<Rollout>('GET', `/rollouts/${r.id}`)).state === 'running' ? true : undefined));
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a new rollout refused as another is active over the same devices links that rollout', async () => {
    const page = await signIn(h.browser, h.http, h.token);
    await page.evaluate(() => { (globalThis as unknown as { location: { hash: string } }).location.hash = '#/rollouts/new'; });
    const form = page.getByRole('form', { name: 'New rollout' });
    await form.getByLabel('Reason').fill('a second one');
    await form.getByRole('button', { name: 'Create rollout' }).click();
    const refused = form.getByRole('alert').filter({ hasText: /^CONFLICT: rollout ro-/ });
    await refused.waitFor();
    assert.match(await refused.textContent() ?? '', new RegExp(`^CONFLICT: rollout ${r.id} \\(audio-energy 1\\.0\\.0, running\\) is active over the same devices .*: abort it or wait for it to finish$`));
    await refused.getByRole('link', { name: r.id, exact: true }).click();
    await page.getByTestId('rollout-detail').getByText(r.id, { exact: true }).waitFor();
    assert.equal(new URL(page.url()).hash, `#/rollouts/${r.id}`);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a device revoked by another admin under an open form: the form stays, saying it sends nothing', async () => {
    const page = await signIn(h.browser, h.http, h.token);
    await page.evaluate(() => { (globalThis as unknown as { location: { hash: string } }).location.hash = '#/devices/box-b'; });
    const actions = page.getByLabel('Device actions');
    await actions.getByRole('button', { name: 'Set tags', exact: true }).click();
    const form = page.getByRole('form', { name: 'Set tags' });
    await form.getByLabel('Tags (key=value …, quote a value with spaces: note="a b")').fill('site=south');
    await h.api('POST', '/devices/box-b/revoke', { reason: 'the other admin' });
    await page.locator('h1 .pill.revoked').waitFor();
    const revokedAt = (await h.api<DeviceInfo>('GET', '/devices/box-b')).revokedAt ?? '';
    assert.equal(await form.getByTestId('action-gone').textContent(), `Set tags: not sent: the device was revoked at ${revokedAt.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC')}`);
    assert.equal(await form.getByLabel('Tags (key=value …, quote a value with spaces: note="a b")').inputValue(), 'site=south', 'what was typed stays');
    assert.equal(await form.getByRole('button', { name: 'Set tags', exact: true }).isDisabled(), true);
    await form.getByRole('button', { name: 'Cancel' }).click();
    await form.waitFor({ state: 'detached' });
    assert.deepEqual(await actions.getByRole('button').allTextContents(), [], 'no action on a revoked device');

    // This admin's own Revoke: the device's page redraws revoked, the answer stays.
    await page.evaluate(() => { (globalThis as unknown as { location: { hash: string } }).location.hash = '#/devices/box-a'; });
    await actions.getByRole('button', { name: 'Revoke', exact: true }).click();
    await page.getByRole('form', { name: 'Revoke' }).getByLabel('Reason').fill('lost in transit');
    await page.keyboard.press('Enter');
    await page.locator('h1 .pill.revoked').waitFor();
    await actions.getByRole('status').filter({ hasText: /^revoked$/ }).waitFor();
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
