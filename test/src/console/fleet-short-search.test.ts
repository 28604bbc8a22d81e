// The fleet view's search box on a hub that refuses a search of 1–2 characters (more than 10,000 devices,
// docs/decisions/0109-short-device-searches.md), in a real Chromium against a real hub: at 10,000 devices "07"
// is answered; one device more and a search of 1–2 characters is not sent: the box says to type a third,
// the table keeps the last search's devices and no error is shown. With the fleet's counts unread (GET /fleet
// failing) the hub's refusal of the first one is said the same way, and the next ones are not sent. A search matching
// more than 1,000 of those 10,001 devices is counted `1,000+` (docs/decisions/0123-device-search-count-capped.md).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { signIn, type ConsolePage } from './helpers.js';
import { startSmallHub, type SmallHub } from './small-hub.js';

const IDS = Array.from({ length: 10_000 }, (_, i) => `dev-${String(i).padStart(5, '0')}`);
const HELD = /^type 3 characters or more: this hub has (10,001|more than 10,000) devices and answers a search of 1 or 2 characters only up to 10,000 \(it would read every device\); the table shows the last search's devices$/;

/** The searches the page sent for devices (`?limit=200&q=…`), in order. */
function searches(page: Page): string[] {
  const asked: string[] = [];
  page.on('request', (req) => {
    const u = new URL(req.url());
    if (u.pathname === '/api/v1/devices') asked.push(u.search);
  });
  return asked;
}

/** Types `text` in the search box and lets the page's clock pass the typing pause. */
async function search(page: ConsolePage, text: string): Promise<void> {
  await page.locator('#fleet-search').fill(text);
  await page.clock.runFor(1000);
}

/** Waits for `what` while the page's clock goes on a second at a time (the stream's events are acted on after a pause). */
async function ticking(page: ConsolePage, what: ReturnType<Page['locator']>): Promise<void> {
  for (let i = 0; i < 30; i++) {
    if (await what.waitFor({ timeout: 500 }).then(() => true, () => false)) return;
    await page.clock.runFor(1000);
  }
  await what.waitFor({ timeout: 1000 });
}

describe('console: a search of 1–2 characters on a fleet of more than 10,000 devices', { timeout: 180_000 }, () => {
  let h: SmallHub;
  before(async () => { h = await startSmallHub('ef-console-short-search-', IDS); });
  after(() => h?.stop());

  it('is answered at 10,000 devices; beyond, waits for a third character, says so beside the box and keeps the last result', async () => {
    const page = await signIn(h.browser, h.http, h.token);
    await page.clock.install();
    const asked = searches(page);
    await page.reload(); // the session starts again under the page's fake clock
    const count = page.getByTestId('device-count');
    const held = page.locator('#fleet-search-held');
    await count.filter({ hasText: '200 of 10,000 devices' }).waitFor();
    await search(page, '07');
    await count.filter({ hasText: `200 of ${IDS.filter((id) => id.includes('07')).length.toLocaleString('en-US')} devices matching` }).waitFor();
    assert.equal(await held.count(), 0, 'answered at 10,000 devices');

    await h.api('POST', '/devices', { deviceId: 'dev-10000' });
    await ticking(page, page.getByTestId('offline-count').filter({ hasText: '10,001' }));
    await search(page, 'dev-0150');
    await count.filter({ hasText: '10 of 10 devices matching' }).waitFor();
    const before = asked.length;
    for (const q of ['de', 'd', ' 1 ']) {
      await search(page, q);
      assert.match(await held.textContent() ?? '', HELD);
      assert.equal(await page.locator('#fleet-search').getAttribute('aria-describedby'), 'fleet-search-held');
      await count.filter({ hasText: '10 of 10 devices matching' }).waitFor(); // the last search's devices
      assert.equal(await page.getByText('could not load devices').count(), 0);
    }
    await search(page, 'dev-0151'); // sent after the ones above would have been
    await page.locator('.vbody [data-key="dev-01519"]').waitFor();
    assert.deepEqual(asked.slice(before), ['?limit=200&q=dev-0151'], 'no search of 1-2 characters sent');
    assert.equal(await held.count(), 0, 'said only while the search as typed is held');
    // A search of more than 1,000 matches on more than 10,000 devices is counted that far (decision 0123): said `1,000+`,
    // never fewer than the devices held, and each Load more asks for up to a page.
    await search(page, 'dev');
    await count.filter({ hasText: '200 of 1,000+ devices matching' }).waitFor();
    for (const held of ['400 of 1,000+', '600 of 1,000+', '800 of 1,000+', '1,000 of 1,000+', '1,200 of 1,200+']) {
      await page.getByTestId('fleet-more').filter({ hasText: 'Load up to 200 more' }).click();
      await count.filter({ hasText: `${held} devices matching` }).waitFor();
    }
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('with the fleet\'s counts unread, the hub\'s refusal is said beside the box, not as an error, and the next is not sent', async () => {
    const page = await signIn(h.browser, h.http, h.token, { prepare: (p) => p.route('**/api/v1/fleet', (r) => r.abort()) });
    await page.clock.install();
    const asked = searches(page);
    await page.reload();
    await page.getByText('could not count the fleet').waitFor();
    const count = page.getByTestId('device-count');
    await count.filter({ hasText: '200 of 10,001 devices' }).waitFor();
    await search(page, 'dev-0150');
    await count.filter({ hasText: '10 of 10 devices matching' }).waitFor();
    await search(page, 'de');
    const held = page.locator('#fleet-search-held');
    await held.filter({ hasText: 'this hub has more than 10,000 devices' }).waitFor();
    assert.match(await held.textContent() ?? '', HELD);
    await count.filter({ hasText: '10 of 10 devices matching' }).waitFor();
    assert.equal(await page.getByText('could not load devices').count(), 0);
    await search(page, 'd');
    await search(page, 'dev-0151');
    await page.locator('.vbody [data-key="dev-01519"]').waitFor();
    assert.deepEqual(asked.slice(-4), ['?limit=200&q=dev-0150', '?limit=200&q=de', '?limit=200&q=dev-0150', '?limit=200&q=dev-0151'],
      'the refused search sent once, the view back to the last one, "d" not sent');
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
