// A staged rollout over a target that reaches no device yet, end to end in the console (docs/console.md "Rollouts"),
// in a real Chromium against a real hub: the form says it waits for the hub while its preview and create are
// unanswered, the preview says each wave has no device yet; the rollout's page shows the hub's pause reason and the
// install_success note in full ("no device of the wave to judge", hub/src/rollouts/gates.ts); resume, abort and roll
// back answer with the state in words (rolled back, not rolled_back). Its devices section says it waits for devices
// joining the target.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Route } from 'playwright-core';
import { waitFor } from '@edgefleet/examples/fleet';
import type { Rollout } from '@edgefleet/shared';
import { signIn } from './helpers.js';
import { pushExampleBundle, startSmallHub, type SmallHub } from './small-hub.js';

describe('console: a rollout with no device to judge', { timeout: 120_000 }, () => {
  let h: SmallHub;
  before(async () => {
    h = await startSmallHub('ef-console-nobody-', ['box-a'], { rollouts: { tickMs: 200, jitter: 0.1 } });
    await pushExampleBundle(h, '1.0.0');
  });
  after(async () => {
    await h?.stop();
  });

  it('previews and creates it with progress shown, says why its wave waits in full, and answers resume, abort and roll back', async () => {
    const page = await signIn(h.browser, h.http, h.token);
    await page.evaluate(() => { (globalThis as unknown as { location: { hash: string } }).location.hash = '#/rollouts/new'; });
    const form = page.getByRole('form', { name: 'New rollout' });
    await form.getByLabel('Target').selectOption('tags');
    await form.getByLabel('Tags').fill('site=nowhere');
    await form.getByLabel('Wave 1 bakeSec').fill('0');
    await form.getByLabel('stuckSec').fill('1');
    await form.getByLabel('Reason').fill('for boxes to come');

    // The preview held at the hub: the form says it waits, then each wave reads none yet.
    const held: Route[] = [];
    const isPreview = (u: URL) => u.pathname.endsWith('/rollouts/preview');
    await page.route(isPreview, (route) => { held.push(route); });
    await form.getByRole('button', { name: 'Preview waves' }).click();
    await form.getByRole('status').filter({ hasText: /^Preview: waiting for the hub…$/ }).waitFor();
    await waitFor('the preview held', async () => (held.length ? true : undefined));
    await Promise.all(held.map((r) => r.continue()));
    await page.unroute(isPreview);
    const preview = page.getByTestId('rollout-preview');
    await preview.getByRole('heading').filter({ hasText: /over 0 devices/ }).waitFor();
    assert.equal(await form.getByRole('status').count(), 0, 'answered: no longer waiting');
    assert.deepEqual(await preview.getByTestId('preview-none').allTextContents(),
      Array(2).fill('none yet: it waits for a device joining the target (gates.stuckSec pauses it)'));

    await form.getByRole('button', { name: 'Create rollout' }).click();
    const detail = page.getByTestId('rollout-detail');
    await detail.waitFor();
    const id = decodeURIComponent(new URL(page.url()).hash.replace('#/rollouts/', ''));
    const paused = await waitFor('the hub pauses the wave', async () => {
      const r = await h.api<Rollout>('GET', `/rollouts/${encodeURIComponent(id)}`);
      return r.state === 'paused' ? r : undefined;
    }, { timeoutMs: 30_000 });
    const reason = paused.stateReason ?? '';
    assert.match(reason, /stuck for 1 s with gates pending: install_success none \(needs >= 0\.95; no device of the wave to judge: /);
    await detail.getByTestId('rollout-reason').filter({ hasText: reason }).waitFor();
    assert.equal(await detail.getByTestId('rollout-reason').textContent(), reason, 'the reason in full');
    const listed = page.locator(`tr[data-rollout="${id}"] [data-testid="rollout-state"]`).filter({ hasText: 'paused' });
    await listed.waitFor();
    assert.equal(await listed.getAttribute('title'), reason, 'the list says why in the state\'s title');
    const note = paused.waves[0]?.gates.find((g) => g.name === 'install_success')?.note ?? '';
    assert.match(note, /^no device of the wave to judge: a device that joins the target/);
    assert.equal(await detail.locator('tr[data-gate="install_success"] td span.muted').textContent(), ` ${note}`, 'the note in full');
    // Its devices section says the rollout waits for devices joining the target, not only that there are none.
    assert.equal(await detail.getByRole('heading', { name: 'Devices' }).locator('xpath=following-sibling::*[1]').textContent(),
      'No device in the target yet: a device that joins it (enrolled, tagged into it) is placed and told; until then the waves wait (gates.stuckSec pauses it).');

    // Resume, abort, roll back: each answer says the state the hub gave, in words.
    const actions = page.getByLabel('Rollout actions');
    const act = async (label: string, answer: RegExp) => {
      await actions.getByRole('button', { name: label, exact: true }).click();
      await page.getByRole('form', { name: label }).getByLabel('Reason').fill(`console test: ${label}`);
      await page.keyboard.press('Enter');
      await actions.getByRole('status').filter({ hasText: answer }).waitFor();
    };
    await act('Resume', /^resume: (running|paused)$/);
    await act('Abort', /^abort: aborted$/);
    await act('Roll back', /^roll back: rolled back$/);
    assert.equal((await h.api<Rollout>('GET', `/rollouts/${encodeURIComponent(id)}`)).state, 'rolled_back');
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
