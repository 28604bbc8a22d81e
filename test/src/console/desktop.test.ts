// The desktop shell's parts of the console that run in the page, in a real Chromium against a real hub
// fed by simulated devices (drift-fleet.ts): Electron cannot run here, so the preload's bridge
// (window.edgefleetDesktop) is a fake injected before the page loads, and the token travels as a header
// the way the desktop main process adds it. A new firing alert asks the bridge for exactly one
// notification; the device view charts the device's windows and shows its drift; the first-run page
// checks its form and saves a profile through the bridge, under its own CSP.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { repoRoot } from '@edgefleet/examples';
import { buildRenderer, launchChromium, screenshotDir, signIn } from './helpers.js';
import { HOURS, PER_HOUR, startDriftFleet, type DriftFleet } from './drift-fleet.js';

type Note = { title: string; body: string; key?: string; link?: string };

async function watchErrors(page: Page): Promise<string[]> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error' && /Content Security Policy|Refused/.test(m.text())) errors.push(m.text()); });
  page.on('response', (r) => { if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) errors.push(`${r.status()} ${r.url()}`); });
  return errors;
}

describe('console: the desktop bridge, the device charts, the first-run page', () => {
  let fleet: DriftFleet;
  let browser: Browser;
  const shots = screenshotDir();

  before(async () => {
    const [f, b] = await Promise.all([startDriftFleet('ef-console-desktop-'), launchChromium(), buildRenderer()]);
    [fleet, browser] = [f, b];
  });
  after(async () => {
    await browser?.close();
    await fleet?.stop();
  });

  it('a new firing alert asks the desktop bridge for one notification; its click opens the alert', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme: 'dark' });
    const errors = await watchErrors(page);
    await page.setExtraHTTPHeaders({ authorization: `Bearer ${fleet.token}` }); // what desktop main adds
    // A string, not a function: tsx's helpers (__name) do not exist in the page.
    await page.addInitScript(`
      window.notes = []; window.nav = null;
      window.edgefleetDesktop = {
        onNavigate: (fn) => { window.nav = fn; },
        notify: (title, body, key, link) => { window.notes.push({ title, body, key, link }); return Promise.resolve({ ok: true }); },
      };`);
    await page.goto(`${fleet.http}/#/alerts`);
    await page.getByTestId('role').filter({ hasText: 'admin' }).waitFor();
    await page.getByTestId('live').filter({ hasText: 'live' }).waitFor();
    const m = fleet.manifest;
    for (const name of ['north drift', 'drift again']) {
      await fleet.api('POST', '/alert-rules', { name, metric: 'drift.psi', model: m.name, threshold: 0.2, windowSec: 4 * 3600, severity: name === 'north drift' ? 'critical' : 'warning' });
    }
    const notes = () => page.evaluate(() => (globalThis as unknown as { notes: Note[] }).notes);
    assert.deepEqual(await notes(), [], 'a rule added is no alert');
    fleet.hub.alerts?.evaluate();
    await page.waitForFunction(() => (globalThis as unknown as { notes: Note[] }).notes.length >= 2, undefined, { timeout: 5000 });
    // Evaluated again: still firing, nothing new; the view's refetches and refresh do not notify.
    fleet.hub.alerts?.evaluate();
    await page.getByTestId('firing-count').filter({ hasText: '2 firing' }).waitFor();
    await page.waitForTimeout(1000);
    const got = await notes();
    assert.equal(got.length, 2, JSON.stringify(got));
    const alerts = (await fleet.api<{ alerts: Array<{ id: number; rule: string }> }>('GET', '/alerts?state=firing')).alerts;
    const byRule = new Map(alerts.map((a) => [a.rule, a.id]));
    const sorted = [...got].sort((a, b) => a.title.localeCompare(b.title));
    assert.equal(sorted[0]?.title, 'Alert: drift again');
    assert.equal(sorted[1]?.title, 'Critical: north drift');
    for (const n of sorted) {
      const id = byRule.get(n.title.replace(/^\w+: /, ''));
      assert.equal(n.key, `alert:${id}`);
      assert.equal(n.link, `#/alerts/${id}`);
      assert.match(n.body, /^drift\.psi on .+: [\d.]+ \(threshold 0\.2\)$/);
    }
    // Main answers a click by sending the link on the navigate channel: the page opens the alert.
    await page.evaluate((link) => (globalThis as unknown as { nav: (h: string) => void }).nav(link), sorted[1]?.link as string);
    await page.getByTestId('alert-deliveries').waitFor();
    assert.equal(page.url(), `${fleet.http}/${sorted[1]?.link}`);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('the device view charts the device\'s windows and shows its drift', async () => {
    const page = await signIn(browser, fleet.http, fleet.token);
    await page.goto(`${fleet.http}/#/devices/dev-n0`);
    const panel = page.getByTestId('device-metrics');
    // The request rate is over the time the version sent windows (3 h of the 6 h shown), not the range.
    await panel.getByTestId('device-metrics-total').filter({ hasText: `${(HOURS * PER_HOUR * 200).toLocaleString('en-US')} predictions in ${HOURS * PER_HOUR} windows; 0.333 req/s over the ${HOURS} h this version sent windows` }).waitFor();
    for (const id of ['spark-predictions', 'spark-errors', 'spark-p95']) assert.equal(await panel.getByTestId(id).locator('polyline, circle').count() > 0, true, id);
    assert.match(await panel.getByTestId('spark-errors-latest').textContent() ?? '', /^\d+\.\d %$/);
    assert.match(await panel.getByTestId('spark-p95-latest').textContent() ?? '', /ms$/);
    const drift = panel.getByTestId('device-drift');
    await drift.getByText('drifted', { exact: true }).waitFor();
    assert.equal(await drift.locator(`[data-feature="${fleet.shifted}"]`).getAttribute('data-drifted'), 'true');
    assert.equal(await drift.locator(`[data-feature="${fleet.steady}"]`).getAttribute('data-drifted'), 'false');
    await page.screenshot({ path: join(shots, 'device-metrics.png'), fullPage: true });
    await page.goto(`${fleet.http}/#/devices/dev-s0`);
    await page.getByTestId('device-drift').getByText('no drift', { exact: true }).waitFor();
    await page.goto(`${fleet.http}/#/devices/dev-e0`);
    await page.getByTestId('device-metrics-total').filter({ hasText: '50 predictions in 1 window; 0.0833 req/s over the 10 min this version sent windows' }).waitFor();
    await page.getByTestId('device-drift').getByText('Drift: 50 predictions: expected at least 1000 for a drift verdict').waitFor();
    // Keyboard: the range is a select reachable by Tab; a range without windows says so.
    await page.getByLabel('Range').selectOption('1h');
    await page.getByTestId('device-metrics').getByText(/No summary windows|predictions in/).first().waitFor();
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('the first-run page checks its form and saves the profile through the bridge', async () => {
    const page = await browser.newPage({ viewport: { width: 560, height: 640 }, colorScheme: 'dark' });
    const errors = await watchErrors(page);
    await page.addInitScript(`
      window.calls = []; window.failSave = null;
      const ok = { ok: true, reply: { ok: true } };
      window.edgefleetDesktop = {
        saveProfile: (name, address, token) => {
          window.calls.push(['save', name, address, token]);
          return Promise.resolve(window.failSave ? { ok: false, error: { code: window.failCode || 'NOT_READY', message: window.failSave } } : ok);
        },
        openProfile: (name) => { window.calls.push(['open', name]); return Promise.resolve(ok); },
      };`);
    await page.goto(pathToFileURL(join(repoRoot(), 'desktop', 'dist', 'first-run', 'index.html')).toString());
    await page.getByRole('heading', { name: 'Add a hub' }).waitFor();
    const calls = () => page.evaluate(() => (globalThis as unknown as { calls: unknown[] }).calls);
    await page.getByLabel('Hub address').fill('ftp://hub.example');
    await page.getByLabel('Token').fill('short');
    await page.getByRole('button', { name: 'Save and open' }).click();
    await page.locator('#address-error').filter({ hasText: 'expected a hub address' }).waitFor();
    assert.match(await page.locator('#token-error').textContent() ?? '', /8/);
    assert.deepEqual(await calls(), [], 'nothing is sent while a field is wrong');
    await page.evaluate(() => { (globalThis as unknown as { failSave: string }).failSave = 'this system offers no secret storage (safeStorage)'; });
    await page.getByLabel('Hub address').fill('http://127.0.0.1:8700/#/fleet');
    assert.equal(await page.getByLabel('Profile name').inputValue(), '127.0.0.1-8700', 'a name is suggested from the address');
    await page.getByLabel('Token').fill('efa_12345678');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Not saved: NOT_READY: this system offers no secret storage' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Save and open' }).isEnabled(), true, 'enabled again after the answer');
    // The hub refused the token (main's check, desktop/src/main/hub-check.ts): its code and words, nothing opened.
    await page.evaluate(() => { (globalThis as unknown as { failSave: string }).failSave = 'refused'; });
    await page.evaluate(() => { (globalThis as unknown as { failCode: string }).failCode = 'UNAUTHENTICATED'; });
    await page.getByRole('button', { name: 'Save and open' }).click();
    await page.getByRole('status').filter({ hasText: 'Not saved: UNAUTHENTICATED: refused' }).waitFor();
    await page.evaluate(() => { (globalThis as unknown as { failSave: null }).failSave = null; });
    await page.getByRole('button', { name: 'Save and open' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved; opening http://127.0.0.1:8700' }).waitFor();
    assert.deepEqual(await calls(), [
      ['save', '127.0.0.1-8700', 'http://127.0.0.1:8700', 'efa_12345678'],
      ['save', '127.0.0.1-8700', 'http://127.0.0.1:8700', 'efa_12345678'],
      ['save', '127.0.0.1-8700', 'http://127.0.0.1:8700', 'efa_12345678'],
      ['open', '127.0.0.1-8700'],
    ]);
    assert.equal(await page.locator('#address-error').textContent(), '');
    await page.screenshot({ path: join(shots, 'first-run.png') });
    assert.deepEqual(errors, [], 'no CSP violation, no error');
    await page.close();
  });
});
