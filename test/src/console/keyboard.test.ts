// The console with the keyboard alone and in a narrow window, in a real Chromium against a real hub
// (docs/console.md "Keyboard" and "Narrow windows"): an action's form opened with Enter takes the focus
// (a reason typed with a digit lands in it and does not switch views), Enter sends it, Escape closes it
// and gives the focus back to its button; at 800 px wide nothing lies beyond the window's right edge.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Rollout } from '@edgefleet/shared';
import { signIn, type ConsolePage } from './helpers.js';
import { pushExampleBundle, startSmallHub, type SmallHub } from './small-hub.js';

const MODEL = 'audio-energy';

/** What has the focus in the page, as `tag#id:text` (the text of a button; none for an input). */
function focused(page: ConsolePage): Promise<string> {
  return page.evaluate(`(() => {
    const a = document.activeElement;
    return a ? a.tagName.toLowerCase() + (a.id ? '#' + a.id : '') + ':' + (a.tagName === 'INPUT' ? '' : a.textContent) : '';
  })()`);
}

/** Presses Tab until the focus is on the button named `name` (at most `max` presses). */
async function tabTo(page: ConsolePage, name: string, max = 60): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await focused(page) === `button:${name}`) return;
  }
  assert.fail(`Tab never reached the button "${name}"`);
}

describe('console: keyboard and narrow windows', { timeout: 120_000 }, () => {
  let h: SmallHub;
  let rollout: Rollout;
  before(async () => {
    h = await startSmallHub('ef-console-kb-', ['dev-a', 'dev-b', 'dev-c']);
    await pushExampleBundle(h, '1.0.0');
    rollout = await h.api<Rollout>('POST', '/rollouts', { model: MODEL, version: '1.0.0', target: { all: true }, waves: [{ name: 'canary', percent: 34, minDevices: 1, bakeSec: 3600 }, { name: 'all', percent: 100, bakeSec: 3600 }], reason: 'console test' });
  });
  after(async () => { await h?.stop(); });

  it('pauses and resumes a rollout with the keyboard alone: the form takes the focus, Enter sends, Escape closes', async () => {
    const page = await signIn(h.browser, h.http, h.token);
    await page.getByTestId('live').filter({ hasText: 'live' }).waitFor();
    await page.keyboard.press('5');
    await page.getByRole('link', { name: rollout.id }).first().waitFor();
    await page.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, `#/rollouts/${rollout.id}`);
    const detail = page.getByTestId('rollout-detail');
    await detail.getByTestId('rollout-state').filter({ hasText: 'running' }).waitFor();

    await tabTo(page, 'Pause');
    await page.keyboard.press('Enter');
    await page.getByRole('form', { name: 'Pause' }).waitFor();
    assert.equal(await focused(page), 'input#reason-pause:', 'the opened form\'s field has the focus');
    // A digit typed in the reason is text, not the key that opens the Models view.
    await page.keyboard.type('wave 2 looks slow');
    assert.equal(await page.getByRole('form', { name: 'Pause' }).getByLabel('Reason').inputValue(), 'wave 2 looks slow');
    await page.keyboard.press('Enter');
    await detail.getByTestId('rollout-state').filter({ hasText: 'paused' }).waitFor();
    assert.match(page.url(), /#\/rollouts\//, 'still on the rollout');
    const got = await h.api<Rollout>('GET', `/rollouts/${rollout.id}`);
    assert.equal(got.state, 'paused');

    // Escape closes the form as Cancel does, sends nothing, and the focus is back on its button.
    await tabTo(page, 'Resume');
    await page.keyboard.press('Enter');
    await page.getByRole('form', { name: 'Resume' }).waitFor();
    await page.keyboard.type('not yet');
    await page.keyboard.press('Escape');
    await page.getByRole('form', { name: 'Resume' }).waitFor({ state: 'detached' });
    assert.equal(await focused(page), 'button:Resume', 'the focus returns to the button that opened the form');
    assert.equal((await h.api<Rollout>('GET', `/rollouts/${rollout.id}`)).state, 'paused', 'Escape sent nothing');
    await page.keyboard.press('Enter');
    assert.equal(await focused(page), 'input#reason-resume:');
    await page.keyboard.type('looked at it');
    await page.keyboard.press('Enter');
    await detail.getByTestId('rollout-state').filter({ hasText: 'running' }).waitFor();
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
