// The fleet table's cells as an operator reads them, in a real Chromium against a real hub (docs/console.md
// "Fleet", "Ages"): "Last seen" is measured against the hub's clock (the browser's 2 h ahead), keeps counting while nothing about the device changes (the view renders again every
// few seconds) and its title is the time in UTC; a cell cut short (a 128-character device id) says all of it
// in its title; "Active version" is the one a box runs, what it only holds is under "Installed", and its version page does not list it as running one it only holds; the versions card says how many it leaves out (counts with thousands separators); an audit entry's target is a link to what it names; a device's clock offset says which way against the hub; a model version's size is in binary units with its bytes in the title. The browser's clock is Playwright's fake one; the device's last-seen time is set
// in the hub's answer (the hub's devices here never connected).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@edgefleet/examples';
import { formatBytes, formatCount, type ModelVersionInfo } from '@edgefleet/shared';
import { signIn } from './helpers.js';
import { connectDevice, pushExampleBundle, reportState, startSmallHub, type SmallHub } from './small-hub.js';

const LONG = `${'x'.repeat(100)}-a-very-long-device-name-end`;

describe('console: how the fleet table and a device page read', () => {
  let h: SmallHub;
  before(async () => { h = await startSmallHub('ef-console-fleet-cells-', ['dev-a', LONG]); });
  after(() => h?.stop());

  it('"Last seen" counts by the hub\'s clock, not the browser\'s, and keeps counting, with the time in UTC as its title; a long id is in its cell\'s title', async () => {
    const page = await signIn(h.browser, h.http, h.token);
    // The browser's clock 2 h ahead of the hub's (this process's): an age by the browser's clock would read "2h ago".
    await page.clock.install({ time: Date.now() + 2 * 3600_000 });
    let seenAt = '';
    await page.route('**/api/v1/devices?*', async (route) => {
      const res = await route.fetch();
      const body = (await res.json()) as { devices: Array<{ id: string; lastSeen: string | null }> };
      seenAt = new Date(Date.now() - 5000).toISOString(); // 5 s before now on the hub's clock
      for (const d of body.devices) if (d.id === 'dev-a') d.lastSeen = seenAt;
      await route.fulfill({ response: res, json: body });
    });
    await page.reload(); // the tab keeps its token: the session starts again under the fake clock
    const seen = page.locator('.vbody [data-key="dev-a"] [role="gridcell"]').nth(2).locator('time');
    // The fake clock also runs at the real pace: read the seconds shown rather than expect one value.
    const secs = async () => Number(/^(\d+)s ago$/.exec((await seen.textContent()) ?? '')?.[1] ?? NaN);
    await seen.filter({ hasText: /ago$/ }).waitFor();
    assert.match((await seen.textContent()) ?? '', /^\d+s ago$/, 'measured against the hub\'s clock (the Date of its answers)');
    assert.ok((await secs()) < 60, await seen.textContent() ?? '');
    assert.equal(await seen.getAttribute('title'), seenAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC'));
    const before = await secs();
    await page.clock.runFor(30_000); // within the stream's heartbeat: nothing else renders the view again
    // The view renders every 10 s: within 30 s the last render is at least 20 s after the one `before` was read
    // from (waiting for +30 failed when `before` was read late in its 10 s, on a loaded machine).
    await waitFor('"Last seen" to count on', async () => (await secs()) >= before + 20, { timeoutMs: 5000 });

    const id = page.locator(`.vbody [data-key="${LONG}"] [role="gridcell"]`).first().locator('span');
    assert.equal(await id.getAttribute('title'), LONG);
    assert.ok(await id.evaluate((e) => e.parentElement!.scrollWidth > e.parentElement!.clientWidth), 'the id is cut short in its cell');
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('"Active version" is the version a box runs, apart from the ones it only holds installed, as `devices ls` says it', async () => {
    // After a rollout from 1.0.0 to 2.0.0 the box holds both: one list of every version read "1.0.0, 2.0.0".
    await pushExampleBundle(h);
    const c = await connectDevice(h, 'dev-a');
    try {
      await reportState(c, 'dev-a', {}, { models: [{ name: 'audio-energy', active: '2.0.0', previous: '1.0.0', installed: ['1.0.0', '2.0.0'], status: 'active', target: null }] });
      await waitFor('the hub to hold the state', async () => (await h.api<{ models: unknown[] }>('GET', '/devices/dev-a')).models.length === 2, { timeoutMs: 10_000 });
      const page = await signIn(h.browser, h.http, h.token);
      const cells = page.locator('.vbody [data-key="dev-a"] [role="gridcell"]');
      await cells.nth(3).filter({ hasText: 'audio-energy@2.0.0' }).waitFor();
      assert.deepEqual((await cells.allTextContents()).slice(3, 6), ['audio-energy@2.0.0', 'active', 'audio-energy@1.0.0']);
      // 1.0.0's page does not say the box runs it: it holds it installed.
      await page.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, '#/models/audio-energy/1.0.0');
      await page.getByRole('list', { name: 'Devices holding it installed' }).getByText('dev-a').waitFor();
      await page.getByText('No device runs this version.').waitFor();
      assert.equal(await page.getByRole('list', { name: 'Devices running it' }).count(), 0);
      assert.deepEqual(page.errors, []);
      await page.close();
    } finally {
      await c.endAsync();
    }
  });

  it('a model version\'s size is in binary units, its bytes in the title (`5,120 bytes`)', async () => {
    // audio-energy 1.0.0 was pushed by the test before.
    const { size } = (await h.api<ModelVersionInfo>('GET', '/models/audio-energy/versions/1.0.0')).bundle;
    const page = await signIn(h.browser, h.http, h.token);
    await page.keyboard.press('2');
    const cell = page.getByRole('table', { name: 'Model versions' }).locator('tbody tr').first().locator('td').nth(4);
    await cell.filter({ hasText: formatBytes(size) }).waitFor();
    assert.equal(await cell.getAttribute('title'), `${formatCount(size)} bytes`, 'with thousands separators, as every count in the console');
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a device\'s clock offset says which way, against the hub, and when it was measured; its last report is an age', async () => {
    const page = await signIn(h.browser, h.http, h.token);
    // The hub's answer with the offset a box 3 minutes behind would have (these devices never connected), and
    // its last state report (dev-a reported one above) 3 min 10 s before now on the hub's clock.
    const reportedAt = new Date(Date.now() - 190_000).toISOString();
    await page.route('**/api/v1/devices/dev-a', async (route) => {
      const res = await route.fetch();
      const body = await res.json() as { reported: object };
      await route.fulfill({ response: res, json: { ...body, reported: { ...body.reported, at: reportedAt }, clock: { offsetMs: -183_000, measuredAt: '2026-12-05T10:00:00.000Z', shiftedWindows: 12 } } });
    });
    await page.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, '#/devices/dev-a');
    const clock = page.getByTestId('device-clock');
    await clock.waitFor();
    assert.equal(await clock.textContent(), "3 min behind the hub (-183000 ms, measured 2026-12-05 10:00:00 UTC); 12 windows placed by the hub's clock");
    const report = page.getByTestId('device-last-report').locator('time');
    assert.equal(await report.textContent(), '3m ago');
    assert.equal(await report.getAttribute('title'), reportedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC'));
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('an audit entry\'s target opens what it names, with the keyboard too', async () => {
    await h.api('PUT', '/devices/dev-a/tags', { tags: { site: 'east' }, reason: 'moved' });
    const page = await signIn(h.browser, h.http, h.token);
    await page.keyboard.press('4');
    const entries = page.getByRole('table', { name: 'Audit entries' });
    // model.push (the version pushed above) opens the model version; token.create opens nothing.
    assert.equal(await entries.locator('tr', { hasText: 'model.push' }).getByRole('link', { name: 'audio-energy@1.0.0' }).getAttribute('href'), '#/models/audio-energy/1.0.0');
    assert.equal(await entries.locator('tr', { hasText: 'token.create' }).getByRole('link').count(), 0);
    await entries.locator('tr', { hasText: 'device.tags' }).getByRole('link', { name: 'dev-a' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /dev-a/ }).waitFor();
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('the versions-in-use card lists the six on most devices and says how many it does not list, with thousands separators', async () => {
    // The hub's count (GET /fleet, tested in hub/src/api/device-filters.test.ts) as a fleet running 8 versions would have it,
    // routed before the page loads: installed after sign-in and followed by a reload, an answer asked for before the
    // route existed, or one the reloaded page's route handler fetched for the page before it, could reach the card
    // (failed once in a loaded full run).
    const page = await signIn(h.browser, h.http, h.token, {
      prepare: (p) => p.route('**/api/v1/fleet', async (route) => {
        const res = await route.fetch();
        const versions = Array.from({ length: 8 }, (_, i) => ({ model: 'm', version: `1.0.${i}`, devices: 12_000 - i }));
        await route.fulfill({ status: res.status(), json: { ...(await res.json() as object), offline: 12_345, versions, versionsTotal: 8 } });
      }),
    });
    const card = page.getByRole('list', { name: 'Versions in use' });
    await card.getByTestId('versions-more').filter({ hasText: '+2 more (search a version)' }).waitFor();
    assert.equal(await card.locator('li').count(), 7);
    assert.equal(await card.locator('li', { hasText: 'm@1.0.0' }).locator('b').textContent(), '12,000');
    assert.equal(await page.getByTestId('offline-count').textContent(), '12,345');
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a device\'s metrics and the drift view ask for their range by the hub\'s clock, not the browser\'s', async () => {
    await pushExampleBundle(h, '9.0.0');
    // The browser's clock 2 h ahead: "the last 6 hours" by it would end 2 h in the hub's future, the last 2 h of windows missed.
    // Set before the page loads: set after sign-in and followed by a reload, the reloaded page came up signed out under
    // load (1 run in 3 beside two busy loops).
    const page = await signIn(h.browser, h.http, h.token, { prepare: (p) => p.clock.install({ time: Date.now() + 2 * 3600_000 }) });
    const asked: URL[] = [];
    page.on('request', (r) => asked.push(new URL(r.url())));
    const go = (x: string) => page.evaluate((hash) => { (globalThis as unknown as { location: { hash: string } }).location.hash = hash; }, x);
    await go('#/devices/dev-a');
    const windows = await waitFor('the device\'s windows asked', async () => asked.find((u) => u.pathname.endsWith('/devices/dev-a/windows')), { timeoutMs: 20_000 })
      .catch(async (err: Error) => { throw new Error(`${err.message}; asked: ${asked.map((u) => u.pathname).join(' ')}; the page: ${(await page.locator('main').textContent())?.slice(0, 600)}`); });
    const since = Date.parse(windows.searchParams.get('since') ?? '');
    assert.ok(Math.abs(since - (Date.now() - 6 * 3600_000)) < 10 * 60_000, `the last 6 hours on the hub's clock, asked from ${new Date(since).toISOString()}`);
    await go('#/drift/audio-energy/9.0.0');
    const drift = await waitFor('the drift asked', async () => asked.find((u) => u.pathname.endsWith('/versions/9.0.0/drift') && u.searchParams.has('until')), { timeoutMs: 20_000 });
    const until = Date.parse(drift.searchParams.get('until') ?? '');
    assert.ok(until - Date.now() <= 3600_000 && until >= Date.now(), `up to the hub's next hour, asked until ${new Date(until).toISOString()}`);
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
