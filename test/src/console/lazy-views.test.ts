// The console's views whose code is a chunk of its own (docs/decisions/0190-views-load-in-chunks.md; docs/console.md),
// in a real Chromium against a real hub: the fleet shows without the other views' code and a view opened before its
// chunk is in says it is loading; a chunk the hub no longer has (a newer build) says so with Retry; and a view whose
// chunk comes in between the view's first draw and its effects is drawn (it stayed "Loading the device view…" for
// good: a key pressed or an address opened just after a reload, while the chunks were being fetched again). That
// moment is held open with the page's clock paused: Preact runs effects on a timer, so none runs while it is.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@edgefleet/examples';
import { signIn } from './helpers.js';
import { bundleSizes } from './bundle-size.js';
import { startSmallHub, type SmallHub } from './small-hub.js';

const DEVICES = ['dev-a', 'dev-b', 'dev-c'];

describe('console: views loaded in chunks', () => {
  let h: SmallHub;
  before(async () => { h = await startSmallHub('ef-console-lazy-', DEVICES); });
  after(() => h?.stop());

  it('the fleet shows without the other views\' code, a view opened before its chunk is in says it is loading; a chunk the hub no longer has (a newer build) says so, Retry loads the console again', async () => {
    const { startFiles } = bundleSizes();
    const file = (u: URL) => u.pathname.replace('/assets/', '');
    const lazyChunk = (u: URL) => u.pathname.startsWith('/assets/') && u.pathname.endsWith('.js') && !startFiles.includes(file(u));
    const asked = new Set<string>();
    let release = () => {};
    const held = new Promise<void>((r) => { release = r; });
    // Every chunk but the start's held back: the fleet view is drawn with its rows all the same.
    const page = await signIn(h.browser, h.http, h.token, { allViews: false, prepare: (p) => p.route(lazyChunk, async (r) => { asked.add(file(new URL(r.request().url()))); await held; await r.continue(); }) });
    await page.getByTestId('device-count').filter({ hasText: `${DEVICES.length} of ${DEVICES.length} devices` }).waitFor();
    await page.keyboard.press('4');
    await page.getByRole('status').filter({ hasText: 'Loading the audit log…' }).waitFor();
    release();
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    // Fetched in the background once the fleet was drawn: every view's chunk, not only the one opened.
    const lazyViews = ['device', 'models', 'deployments', 'audit', 'drift', 'alerts', 'rollouts', 'rollout-create', 'rollout-config-create', 'captures', 'try-it'];
    await waitFor('every view\'s chunk asked', () => lazyViews.every((v) => [...asked].some((f) => f.startsWith(`${v}-`))), { timeoutMs: 10_000 });
    assert.deepEqual(page.errors, []);
    await page.close();

    // The hub restarted with a newer build: this page's app.js asks for a chunk name the hub answers 404 to.
    const auditChunk = (u: URL) => /^\/assets\/audit-[A-Z0-9]+\.js$/.test(u.pathname);
    const stale = await signIn(h.browser, h.http, h.token, { allViews: false, prepare: (p) => p.route(auditChunk, (r) => r.fulfill({ status: 404, contentType: 'application/json', body: '{"error":{"code":"NOT_FOUND","message":"no console asset"}}' })) });
    await stale.keyboard.press('4');
    const box = stale.getByRole('alert').filter({ hasText: 'could not load the code of the audit log from the hub' });
    await box.waitFor();
    assert.match(await box.innerText(), /assets\/audit-[A-Z0-9]+\.js.*the hub may have been updated since this page was loaded; Retry loads the console again/s);
    await stale.unroute(auditChunk);
    await box.getByRole('button', { name: 'Retry' }).click();
    await stale.getByRole('heading', { name: 'Audit log' }).waitFor();
    assert.equal(await stale.getByLabel('Token').count(), 0, 'still signed in after the reload');
    assert.deepEqual(stale.errors, []);
    await stale.close();
  });

  it('a view whose chunk comes in after its loading state is drawn, before its effects run, is drawn', async () => {
    const deviceChunk = (u: URL) => /^\/assets\/device-[A-Z0-9]+\.js$/.test(u.pathname);
    let chunk = '';
    let release = () => {};
    const held = new Promise<void>((r) => { release = r; });
    const page = await signIn(h.browser, h.http, h.token, { allViews: false, prepare: async (p) => {
      await p.clock.install();
      await p.route(deviceChunk, async (r) => { chunk = r.request().url(); await held; await r.continue(); });
    } });
    await page.getByTestId('device-count').filter({ hasText: `${DEVICES.length} of ${DEVICES.length} devices` }).waitFor();
    await waitFor('the device view\'s chunk asked in the background', () => chunk !== '', { timeoutMs: 10_000 });
    // No timer fires from here: the view is drawn (its loading state), its effects wait.
    await page.clock.pauseAt(Date.now() + 1000);
    await page.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, '#/devices/dev-a');
    await page.getByRole('status').filter({ hasText: 'Loading the device view…' }).waitFor();
    // The chunk comes in and is run: an import of it resolves after the console's own import of it did.
    release();
    await page.evaluate(async (u) => { await import(u); }, chunk);
    await page.clock.resume();
    await page.getByRole('heading', { name: /^dev-a/ }).waitFor({ timeout: 10_000 });
    assert.equal(await page.getByText('Loading the device view…').count(), 0);
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
