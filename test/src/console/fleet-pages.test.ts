// The fleet view of a fleet larger than a page (docs/console.md "Fleet", decision 0089): the hub filters and
// pages the devices, the console holds only the pages it loaded. In a real Chromium against a real hub
// with 2,001 devices: one answer of 200 at sign-in, "200 of 2,001 devices" and "Load 200 more"; the
// search, the tag and the status filter are sent to the hub (a tag that is not key=value is refused in the
// page, unsent); a device added while filtered appears live when it matches and not otherwise, and the
// fleet's counts follow; two added at once are both placed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@edgefleet/examples/fleet';
import { signIn } from './helpers.js';
import { startSmallHub, type SmallHub } from './small-hub.js';

const N = 2001;

describe('console: a fleet of more than one page, filtered by the hub', { timeout: 120_000 }, () => {
  let h: SmallHub;
  before(async () => { h = await startSmallHub('ef-console-fleet-pages-', Array.from({ length: N }, (_, i) => `dev-${String(i).padStart(5, '0')}`)); });
  after(() => h?.stop());

  it('loads a page at a time, and searches, filters and places new devices through the hub', async () => {
    const page = await signIn(h.browser, h.http, h.token);
    // What the page asked, in the order it asked (a request is seen at once; an answer's body later).
    const asked: string[] = [];
    const sizes: number[] = [];
    const devicesPath = (url: string) => new URL(url).pathname === '/api/v1/devices';
    page.on('request', (req) => { if (devicesPath(req.url())) asked.push(new URL(req.url()).search); });
    page.on('response', (res) => {
      if (devicesPath(res.url())) void res.json().then((b: { devices: unknown[] }) => sizes.push(b.devices.length), () => sizes.push(-1));
    });
    await page.reload();
    const count = page.getByTestId('device-count');
    await count.filter({ hasText: '200 of 2,001 devices' }).waitFor();
    await page.getByTestId('offline-count').filter({ hasText: '2,001' }).waitFor();
    assert.deepEqual(asked, ['?limit=200'], 'one request of a page, not the fleet');
    await page.getByRole('button', { name: 'Load 200 more' }).click();
    await count.filter({ hasText: '400 of 2,001 devices' }).waitFor();
    assert.equal(asked[1], '?limit=200&after=dev-00199');

    // The search goes to the hub: ten ids hold "dev-0150".
    await page.locator('#fleet-search').fill('DEV-0150');
    await count.filter({ hasText: '10 of 10 devices matching' }).waitFor();
    assert.equal(asked.at(-1), '?limit=200&q=DEV-0150');
    assert.equal(await page.getByTestId('fleet-more').count(), 0, 'no more to load');

    // A device added while the search is on: shown when it matches, in its place by id; not otherwise.
    await h.api('POST', '/devices', { deviceId: 'dev-01503a', tags: { site: 'south' } });
    await h.api('POST', '/devices', { deviceId: 'dev-09999', tags: { site: 'south' } });
    await count.filter({ hasText: '11 of 11 devices matching' }).waitFor();
    const ids = await page.locator('.vbody [data-key]').evaluateAll((els) => els.map((e) => e.getAttribute('data-key')));
    assert.deepEqual(ids.slice(3, 6), ['dev-01503', 'dev-01503a', 'dev-01504']);
    assert.ok(!ids.includes('dev-09999'));
    await page.getByTestId('offline-count').filter({ hasText: '2,003' }).waitFor(); // the counts follow (GET /fleet)
    // Two added at once each ask the hub before either is held: both placed (one was missed when the page asked for one device).
    await Promise.all([h.api('POST', '/devices', { deviceId: 'dev-01500b' }), h.api('POST', '/devices', { deviceId: 'dev-01500c' })]);
    await count.filter({ hasText: '13 of 13 devices matching' }).waitFor();
    await waitFor('both placed', async () => {
      const now = await page.locator('.vbody [data-key]').evaluateAll((els) => els.map((e) => e.getAttribute('data-key')));
      return now.includes('dev-01500b') && now.includes('dev-01500c') ? true : undefined;
    }, { timeoutMs: 10_000 });

    // A tag that is not key=value is refused in the page and not sent; key=value is filtered by the hub.
    await page.locator('#fleet-search').fill('');
    const sent = asked.length;
    await page.locator('#fleet-tag').fill('south');
    await page.getByText('tag "south": expected key=value').waitFor();
    await page.locator('#fleet-tag').fill('site=SOUTH');
    await count.filter({ hasText: '2 of 2 devices matching' }).waitFor(); // the two added at once have no tag
    assert.ok(asked.slice(sent).every((q) => !q.includes('tag=south')), `the bad tag was not sent: ${JSON.stringify(asked.slice(sent))}`);
    await page.locator('#fleet-tag').fill('');
    await h.api('POST', '/devices/dev-00003/revoke', { reason: 'stolen' });
    await page.getByTestId('revoked-count').filter({ hasText: '1' }).waitFor();
    await page.getByLabel('Status').selectOption('revoked');
    await count.filter({ hasText: '1 of 1 devices matching' }).waitFor();
    await waitFor('every answer read', async () => sizes.length === asked.length || undefined);
    assert.ok(sizes.every((n) => n >= 0 && n <= 200), `no answer over a page: ${JSON.stringify(sizes)}`);
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
