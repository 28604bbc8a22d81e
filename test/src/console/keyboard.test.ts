// The console with the keyboard alone and in a narrow window, in a real Chromium against a real hub
// (docs/console.md, Using it): an action's form opened with Enter takes the focus
// (a reason typed with a digit lands in it and does not switch views), Enter sends it, Escape closes it
// and gives the focus back to its button; at 800 px wide nothing lies beyond the window's right edge.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Rollout } from '@edgefleet/shared';
import { signIn, type ConsolePage } from './helpers.js';
import { waitFor } from '@edgefleet/examples/fleet';
import { pushExampleBundle, startSmallHub, type SmallHub } from './small-hub.js';

const MODEL = 'audio-energy';

/** What has the focus in the page, as `tag#id:text` (the text of a button; none for an input). */
function focused(page: ConsolePage): Promise<string> {
  return page.evaluate(`(() => {
    const a = document.activeElement;
    return a ? a.tagName.toLowerCase() + (a.id ? '#' + a.id : '') + ':' + (a.tagName === 'INPUT' ? '' : a.textContent) : '';
  })()`);
}

/** The aria-label of what has the focus (a group of actions has one). */
function focusedLabel(page: ConsolePage): Promise<string | null> {
  return page.evaluate('document.activeElement && document.activeElement.getAttribute("aria-label")');
}

/** Presses Tab until the focus is on the button named `name` (at most `max` presses). */
async function tabTo(page: ConsolePage, name: string, max = 60): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await focused(page) === `button:${name}`) return;
  }
  assert.fail(`Tab never reached the button "${name}"`);
}

/** The page is no wider than its window, and each of `buttons` is drawn inside it, on top (not cut off by a panel). */
async function fitsWindow(page: ConsolePage, view: string, buttons: string[]): Promise<void> {
  const widths = await page.evaluate('[document.documentElement.scrollWidth, document.documentElement.clientWidth]') as number[];
  assert.ok(widths[0]! <= widths[1]!, `${view}: the page is ${widths[0]} px wide in a ${widths[1]} px window`);
  for (const name of buttons) {
    // Only the window scrolls (down to the button): a panel scrolled sideways would hide what this checks.
    const seen = await page.getByRole('button', { name, exact: true }).first().evaluate((el) => {
      const win = el.ownerDocument.defaultView as unknown as { scrollBy(x: number, y: number): void; innerWidth: number };
      win.scrollBy(0, el.getBoundingClientRect().top - 200);
      const r = el.getBoundingClientRect();
      const hit = (el.ownerDocument as unknown as { elementFromPoint(x: number, y: number): unknown }).elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
      return { left: r.x, right: r.x + r.width, onTop: hit === el || el.contains(hit as never), width: win.innerWidth };
    });
    assert.ok(seen.left >= 0 && seen.right <= seen.width && seen.onTop, `${view}: "${name}" is cut off or outside the window: ${JSON.stringify(seen)}`);
  }
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
    // Pause is done and gone (Resume is offered): the focus is on the rollout's actions, not the page's body,
    // and Tab goes on to Resume.
    await waitFor('the focus on the rollout\'s actions', async () => (await focusedLabel(page)) === 'Rollout actions' || undefined);
    await page.keyboard.press('Tab');
    assert.equal(await focused(page), 'button:Resume');
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
    await waitFor('the focus on the rollout\'s actions', async () => (await focusedLabel(page)) === 'Rollout actions' || undefined);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('an action done keeps the focus on its button, its answer beside it; one refused keeps it in the form', async () => {
    const page = await signIn(h.browser, h.http, h.token);
    await page.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, '#/devices/dev-a');
    await page.getByRole('heading', { name: /dev-a/ }).waitFor();
    await tabTo(page, 'Set tags');
    await page.keyboard.press('Enter');
    assert.equal(await focused(page), 'input#tags-input:');
    await page.keyboard.press('End');
    await page.keyboard.type(' ring=a');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'tags saved' }).waitFor();
    assert.equal(await focused(page), 'button:Set tags', 'back on the button that opened the form');
    assert.deepEqual((await h.api<{ tags: Record<string, string> }>('GET', '/devices/dev-a')).tags, { site: 'north', ring: 'a' });
    // Refused by the hub (a key it does not take): the focus stays in the form, the text kept, to send again.
    await page.keyboard.press('Enter');
    await page.keyboard.press('End');
    await page.keyboard.type(' Bad=1');
    await page.keyboard.press('Enter');
    await page.getByRole('form', { name: 'Set tags' }).getByRole('status').filter({ hasText: /SCHEMA_INVALID|expected/ }).waitFor();
    assert.match(await focused(page), /^input#/, 'in the form');
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('at 800 px wide nothing lies beyond the window: the header wraps, panels stack, wide tables scroll inside', async () => {
    const page = await signIn(h.browser, h.http, h.token);
    await page.setViewportSize({ width: 800, height: 800 });
    const go = (to: string) => page.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, to);
    await page.getByRole('grid', { name: 'Devices' }).getByText('dev-a').waitFor();
    await fitsWindow(page, 'fleet', ['Sign out']);
    // The device table keeps its columns: it scrolls sideways, and its last column (Tags) can be seen.
    const grid = page.getByRole('grid', { name: 'Devices' });
    await grid.evaluate((el) => { el.scrollLeft = el.scrollWidth; });
    const tags = await grid.getByRole('columnheader', { name: 'Tags' }).boundingBox();
    assert.ok(tags && tags.x + tags.width <= 800, `the Tags column lies at ${JSON.stringify(tags)}`);

    await go(`#/rollouts/${rollout.id}`);
    await page.getByTestId('rollout-detail').getByLabel('Rollout devices').waitFor();
    await fitsWindow(page, 'rollout', ['Sign out', 'Abort', 'Roll back']);
    const status = await page.getByTestId('rollout-detail').getByLabel('Rollout devices').getByRole('columnheader', { name: 'Status' }).boundingBox();
    assert.ok(status && status.x + status.width <= 800, `the rollout's devices' Status column lies at ${JSON.stringify(status)}`);

    await go('#/rollouts/new');
    await page.getByRole('form', { name: 'New rollout' }).waitFor();
    await fitsWindow(page, 'new rollout', ['Remove wave 1', 'Remove wave 2', 'Create rollout']);
    await go('#/rollouts/new-config');
    await page.getByTestId('config-doc').filter({ hasText: 'fleet has no document yet' }).waitFor();
    await fitsWindow(page, 'new configuration rollout', ['Remove wave 1', 'Remove wave 2', 'Create configuration rollout']);

    await go('#/audit');
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    await page.getByText('rollout.create').first().waitFor();
    await fitsWindow(page, 'audit', ['Sign out', 'Clear']);
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
