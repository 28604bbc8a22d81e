// The fleet view follows the live stream under its filters (docs/console.md "Fleet", decision 0089), in a real
// Chromium against a real hub whose devices connect to its broker with mqtt.js: a device whose tags, status or
// versions change so that it stops matching leaves the table, one that starts matching appears in its place,
// and "N of M devices matching" follows, without a reload; the questions are bounded (4 in flight; past 200
// devices waiting, the first page again).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import type { Route } from 'playwright-core';
import { signIn, type ConsolePage } from './helpers.js';
import { connectDevice, reportState, startSmallHub, type SmallHub } from './small-hub.js';

/** desktop/src/renderer/fleet-follow.ts's FOLLOW_AT_ONCE and FOLLOW_MAX_PENDING (the renderer is not a Node module). */
const FOLLOW_AT_ONCE = 4;
const FOLLOW_MAX_PENDING = 200;

const IDS = ['dev-a', 'dev-b', 'dev-c', 'dev-d'];

describe('console: the fleet view follows devices in and out of its filters', { timeout: 120_000 }, () => {
  let h: SmallHub;
  const clients: MqttClient[] = [];
  before(async () => { h = await startSmallHub('ef-console-fleet-follow-', IDS); });
  after(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await h?.stop();
  });

  const shown = (page: ConsolePage) => page.locator('.vbody [data-key]').evaluateAll((els) => els.map((e) => e.getAttribute('data-key')));
  /** The count reads `text` and the table holds exactly `ids`. */
  async function showing(page: ConsolePage, text: string, ids: string[]): Promise<void> {
    await page.getByTestId('device-count').filter({ hasText: text }).waitFor();
    if (ids.length === 0) await page.getByText('No device matches the search.').waitFor();
    else assert.deepEqual(await shown(page), ids);
  }

  it('tags, status and versions move devices in and out, with the count', async () => {
    const page = await signIn(h.browser, h.http, h.token);
    // Tags: one retagged away leaves; one retagged in is placed by id.
    await page.locator('#fleet-tag').fill('site=north');
    await showing(page, '4 of 4 devices matching', IDS);
    await h.api('PUT', '/devices/dev-b/tags', { tags: { site: 'east' } });
    await showing(page, '3 of 3 devices matching', ['dev-a', 'dev-c', 'dev-d']);
    await page.locator('#fleet-tag').fill('site=east');
    await showing(page, '1 of 1 devices matching', ['dev-b']);
    await h.api('PUT', '/devices/dev-a/tags', { tags: { site: 'east' } });
    await showing(page, '2 of 2 devices matching', ['dev-a', 'dev-b']);

    // Status: a device that comes online joins "online"; gone offline, it leaves.
    await page.locator('#fleet-tag').fill('');
    await page.getByLabel('Status').selectOption('online');
    await showing(page, '0 of 0 devices matching', []);
    const c = await connectDevice(h, 'dev-c');
    clients.push(c);
    await showing(page, '1 of 1 devices matching', ['dev-c']);
    const d = await connectDevice(h, 'dev-d');
    clients.push(d);
    await showing(page, '2 of 2 devices matching', ['dev-c', 'dev-d']);
    await d.endAsync();
    await showing(page, '1 of 1 devices matching', ['dev-c']);

    // Versions: a search for a version finds the device that starts running it and lets go of the one that stops.
    await page.getByLabel('Status').selectOption('');
    await reportState(c, 'dev-c', { m: '2.0.0' });
    await page.locator('#fleet-search').fill('m@2.0.0');
    await showing(page, '1 of 1 devices matching', ['dev-c']);
    const a = await connectDevice(h, 'dev-a');
    clients.push(a);
    await reportState(a, 'dev-a', { m: '2.0.0' });
    await showing(page, '2 of 2 devices matching', ['dev-a', 'dev-c']);
    await reportState(c, 'dev-c', { m: '3.0.0' });
    await showing(page, '1 of 1 devices matching', ['dev-a']);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a capped count ("1,000+", decision 0123) is not moved by one device\'s status', async () => {
    const page = await signIn(h.browser, h.http, h.token);
    // The hub's first page under "online" answers with a count capped at 1,000 (a search over a large fleet).
    await page.route((url) => url.pathname === '/api/v1/devices' && url.searchParams.get('status') === 'online' && url.searchParams.get('limit') !== '20', async (route) => {
      const res = await route.fetch();
      await route.fulfill({ response: res, json: { ...(await res.json() as object), total: 1000, totalExact: false } });
    });
    await page.getByLabel('Status').selectOption('online');
    await page.getByTestId('device-count').filter({ hasText: /^\d+ of 1,000\+ devices matching$/ }).waitFor();
    const online = (await shown(page)).length;
    const b = await connectDevice(h, 'dev-b');
    clients.push(b);
    await page.getByTestId('device-count').filter({ hasText: `${online + 1} of 1,000+ devices matching` }).waitFor();
    await b.endAsync();
    await page.getByTestId('device-count').filter({ hasText: `${online} of 1,000+ devices matching` }).waitFor();
    assert.ok(!(await shown(page)).includes('dev-b'), 'dev-b left the table');
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});

describe('console: the fleet view\'s questions about changed devices are bounded', { timeout: 180_000 }, () => {
  const N = 300;
  const box = (i: number) => `box-${String(i).padStart(3, '0')}`;
  let h: SmallHub;
  before(async () => { h = await startSmallHub('ef-console-fleet-follow-bound-', Array.from({ length: N }, (_, i) => box(i))); });
  after(() => h?.stop());

  it(`asks at most ${FOLLOW_AT_ONCE} at once, and past ${FOLLOW_MAX_PENDING} devices waiting loads the first page again`, async () => {
    const page = await signIn(h.browser, h.http, h.token);
    await page.locator('#fleet-tag').fill('site=east');
    await page.getByTestId('device-count').filter({ hasText: '0 of 0 devices matching' }).waitFor();
    // The questions about one device (limit=20) are held unanswered: those waiting pile up behind them.
    const held: Route[] = [];
    const question = (url: URL) => url.pathname === '/api/v1/devices' && url.searchParams.get('limit') === '20';
    await page.route(question, (route) => { held.push(route); });
    const retag = Array.from({ length: 250 }, (_, i) => box(i));
    for (let i = 0; i < retag.length; i += 25) await Promise.all(retag.slice(i, i + 25).map((id) => h.api('PUT', `/devices/${id}/tags`, { tags: { site: 'east' } })));
    // 250 devices changed under the filter: the first page again (200 of them), not 250 questions.
    await page.getByTestId('device-count').filter({ hasText: '200 of 250 devices matching' }).waitFor();
    assert.equal(held.length, FOLLOW_AT_ONCE, 'the questions in flight at once');
    // Answered now (and those asked meanwhile let through by unroute): the view stays right.
    await Promise.all(held.splice(0).map((r) => r.continue()));
    await page.unroute(question);
    await page.getByTestId('fleet-more').filter({ hasText: 'Load 50 more' }).waitFor();
    assert.match((await page.getByTestId('device-count').textContent()) ?? '', /^200 of 250 devices matching$/);
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
