// The console with a screen reader's eyes, in a real Chromium against a real hub (docs/console.md, Using it): the
// page's title names the view; a view's heading is its name alone (links beside it are not part of it) and takes the
// focus when a key or the menu switched views; the device table is one Tab stop, a grid named Devices whose selected row
// is its active descendant; a rollout form's field the hub or the page refused is marked invalid and described by its
// error; the hub-down banner announces what it is and the last error, not its every-second countdown.
// (What keyboard.test.ts covers, action forms opened, sent and closed with the keyboard, is not repeated here.)
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Rollout } from '@edgefleet/shared';
import { waitFor } from '@edgefleet/examples/fleet';
import { signIn, type ConsolePage } from './helpers.js';
import { pushExampleBundle, startSmallHub, type SmallHub } from './small-hub.js';

/** The focused element as `role:name` (its role attribute or tag; its aria-label or text). */
function focused(page: ConsolePage): Promise<string> {
  return page.evaluate(`(() => {
    const a = document.activeElement;
    return a ? (a.getAttribute('role') || a.tagName.toLowerCase()) + ':' + (a.getAttribute('aria-label') || a.textContent) : '';
  })()`);
}

/** The text of what describes the field labelled `name` (its aria-describedby), and whether it is marked invalid. */
function described(page: ConsolePage, name: string): Promise<{ invalid: string | null; description: string }> {
  return page.getByLabel(name, { exact: true }).evaluate((el) => ({
    invalid: el.getAttribute('aria-invalid'),
    description: (el.getAttribute('aria-describedby') ?? '').split(' ').map((id: string) => el.ownerDocument.getElementById(id)?.textContent ?? '').join(' ').trim(),
  }));
}

const go = (page: ConsolePage, to: string) => page.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, to);

describe('console: titles, headings, the device grid, field errors and the banner for a screen reader', { timeout: 120_000 }, () => {
  let h: SmallHub;
  let rollout: Rollout;
  before(async () => {
    h = await startSmallHub('ef-console-a11y-', ['dev-a', 'dev-b', 'dev-c']);
    await pushExampleBundle(h, '1.0.0');
    rollout = await h.api<Rollout>('POST', '/rollouts', { model: 'audio-energy', version: '1.0.0', target: { all: true }, waves: [{ name: 'canary', percent: 34, minDevices: 1, bakeSec: 3600 }, { name: 'all', percent: 100, bakeSec: 3600 }], reason: 'a11y test' });
  });
  after(async () => { await h?.stop(); });

  it('the title names each page; a heading is the view\'s name and takes the focus when a key switches views', async () => {
    const login = await h.browser.newPage();
    await login.goto(h.http);
    await login.getByLabel('Token').waitFor();
    assert.equal(await login.title(), 'Sign in · edgefleet console');
    await login.close();
    const page = await signIn(h.browser, h.http, h.token);
    const title = async (want: string) => { await waitFor(`the title "${want}"`, async () => (await page.title()) === want || undefined); };
    await title('Fleet · edgefleet console');
    assert.equal(await focused(page), 'h1:Fleet', 'signed in, the fleet\'s heading has the focus the form had');
    await page.keyboard.press('5');
    await title('Rollouts · edgefleet console');
    await page.getByRole('heading', { level: 1, name: 'Rollouts', exact: true }).waitFor();
    // The key switched views under a focus on nothing: the new view's heading has it, and Tab goes on into the view.
    assert.equal(await focused(page), 'h1:Rollouts');
    await page.keyboard.press('Tab');
    assert.equal(await focused(page), 'a:New rollout');
    await page.keyboard.press('Enter');
    await title('New rollout · edgefleet console');
    await page.getByRole('heading', { level: 1, name: 'New rollout', exact: true }).waitFor();
    assert.equal(await focused(page), 'h1:New rollout', 'the followed link went with its view: the new heading has the focus');
    await go(page, `#/rollouts/${rollout.id}`);
    await title(`Rollout ${rollout.id} · edgefleet console`);
    await go(page, '#/models/audio-energy/1.0.0');
    await title('Model audio-energy@1.0.0 · edgefleet console');
    await go(page, '#/devices/dev-b');
    await title('Device dev-b · edgefleet console');
    await go(page, '#/nowhere');
    await title('No view · edgefleet console');
    // A menu link clicked keeps its own focus handling: the heading takes it from the menu.
    await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Audit log' }).focus();
    await page.keyboard.press('Enter');
    await title('Audit log · edgefleet console');
    await waitFor('the audit heading focused', async () => (await focused(page)) === 'h1:Audit log' || undefined);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('the device table is one Tab stop, a grid named Devices; the arrow keys move its active row, Enter opens it', async () => {
    const page = await signIn(h.browser, h.http, h.token);
    const grid = page.getByRole('grid', { name: 'Devices' });
    await grid.getByText('dev-c').waitFor();
    await page.locator('#fleet-search').focus();
    await page.keyboard.press('Tab'); // the tag filter
    await page.keyboard.press('Tab'); // the status filter
    await page.keyboard.press('Tab');
    assert.equal(await focused(page), 'grid:Devices', 'Tab reaches the grid itself, not an unnamed scroller');
    const active = () => grid.evaluate((el) => {
      const id = el.getAttribute('aria-activedescendant');
      return id ? el.ownerDocument.getElementById(id)?.getAttribute('data-key') ?? `missing ${id}` : null;
    });
    assert.equal(await active(), 'dev-a');
    await page.keyboard.press('ArrowDown');
    assert.equal(await active(), 'dev-b');
    assert.equal(await grid.locator('[aria-selected="true"]').getAttribute('data-key'), 'dev-b');
    await page.keyboard.press('End');
    assert.equal(await active(), 'dev-c');
    await page.keyboard.press('Tab');
    assert.notEqual((await focused(page)).split(':')[0], 'div', 'the rows\' scroller is no Tab stop of its own');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    // The device's heading is drawn once it is read: it then takes the focus the grid took away.
    await waitFor('the device\'s heading focused', async () => /^h1:dev-c/.test(await focused(page)) || undefined);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a rollout form\'s refused field is marked invalid and described by its error, in the page and from the hub', async () => {
    const page = await signIn(h.browser, h.http, h.token);
    await go(page, '#/rollouts/new');
    const form = page.getByRole('form', { name: 'New rollout' });
    await form.getByLabel('Wave 1 percent').fill('abc');
    await form.getByRole('button', { name: 'Preview waves' }).click();
    await form.getByRole('alert').filter({ hasText: 'waves[0].percent: expected a number, got "abc"' }).waitFor();
    assert.deepEqual(await described(page, 'Wave 1 percent'), { invalid: 'true', description: 'waves[0].percent: expected a number, got "abc"' });
    assert.deepEqual(await described(page, 'Wave 2 percent'), { invalid: null, description: '' }, 'a field not refused is not marked');
    await form.getByLabel('Wave 1 percent').fill('10');
    // No reason: the hub's SCHEMA_INVALID names it, shown under the Reason field and describing it.
    await form.getByRole('button', { name: 'Create rollout' }).click();
    await form.locator('[data-field="reason"]').waitFor();
    const reason = await described(page, 'Reason');
    assert.equal(reason.invalid, 'true');
    assert.match(reason.description, /^reason: /);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('the hub-down banner announces what it is and the last error; its ticking age and countdown are in no live region', async () => {
    const page = await signIn(h.browser, h.http, h.token, { prepare: (p) => p.route((u) => u.pathname === '/api/v1/stream', (r) => r.abort()) });
    const banner = page.getByTestId('hub-down');
    await banner.filter({ hasText: /Retrying in \d+ s/ }).waitFor({ timeout: 30_000 });
    await banner.getByRole('alert').filter({ hasText: /^The hub is unreachable since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/ }).waitFor();
    await banner.getByRole('alert').filter({ hasText: /^Last error: UNREACHABLE: / }).waitFor();
    const ticking = await banner.evaluate((el) => [...el.querySelectorAll('p')].map((p) => p.closest('[role=alert],[role=status],[aria-live]') !== null));
    assert.deepEqual(ticking, [false, false], 'neither line as a whole is a live region (each renders every second)');
    await banner.getByRole('button', { name: 'Retry now' }).waitFor();
    await page.close();
  });
});
