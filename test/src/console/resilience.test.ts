// The console when the hub answers with errors, in a real Chromium against a real hub (docs/console.md
// "Using it": empty, loading and error states everywhere): a device whose refresh fails stays in the
// fleet view (only an answer without it removes it); GET /models failing shows the hub's code and message with Retry in
// the models, drift and new-rollout views instead of "Loading models…" for ever; deployments show an
// error (a 503, a hub without fleet sync, is an empty list); the desktop's first-run page shows why main
// could not open a saved hub; a model version's page whose reload fails (another version pushed meanwhile) stays
// shown with the Deprecate form open on it, what was typed kept, under the hub's error with Retry, as does a New rollout
// form whose models reload fails; a version with more stored drift reports than the view lists says so (a view's code that cannot be
// loaded: lazy-views.test.ts). Errors are injected with page.route on one request path at a time.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page, Route } from 'playwright-core';
import { repoRoot } from '@edgefleet/examples';
import { signIn, type ConsolePage } from './helpers.js';
import { pushExampleBundle, startSmallHub, type SmallHub } from './small-hub.js';

const DEVICES = ['dev-a', 'dev-b', 'dev-c'];
const hubError = (status: number, code: string, message: string) => (r: Route) => r.fulfill({ status, contentType: 'application/json', body: JSON.stringify({ error: { code, message } }) });
/** Presses a view's key and waits for its heading; failing, says where the page was (the address, what had the focus, the text shown). */
async function pressFor(page: Page, key: string, heading: string): Promise<void> {
  await page.keyboard.press(key);
  try {
    await page.getByRole('heading', { name: heading }).waitFor({ timeout: 30_000 });
  } catch (err) {
    const where = await page.evaluate('[location.hash, document.activeElement ? document.activeElement.outerHTML.slice(0, 160) : "", document.body.innerText.slice(0, 600)].join(" | ")');
    throw new Error(`key ${key} did not show ${heading}: ${String(where)} (${(err as Error).message.split('\n')[0]})`);
  }
}
const rows = (page: Page) => page.locator('.vbody [data-key]').evaluateAll((els) => els.map((e) => e.getAttribute('data-key')));

describe('console: error states and failed refreshes', () => {
  let h: SmallHub;
  before(async () => { h = await startSmallHub('ef-console-resilience-', DEVICES); });
  after(() => h?.stop());

  /** Signed in on the fleet view with the stream live. */
  async function fleetPage(): Promise<ConsolePage> {
    const page = await signIn(h.browser, h.http, h.token);
    await page.getByTestId('live').filter({ hasText: 'live' }).waitFor();
    await page.getByTestId('device-count').filter({ hasText: `${DEVICES.length} of ${DEVICES.length} devices` }).waitFor();
    return page;
  }

  it('a device whose refresh fails stays in the fleet view with what it had; one the hub no longer lists leaves', async () => {
    const page = await fleetPage();
    // The question the view asks about dev-b when it changes (desktop/src/renderer/fleet-follow.ts): the devices after the held one before it.
    const aboutB = (url: URL) => url.pathname === '/api/v1/devices' && url.searchParams.get('after') === 'dev-a';
    await page.route(aboutB, hubError(503, 'NOT_READY', 'the hub is busy'));
    const failed = page.waitForResponse((r) => aboutB(new URL(r.url())) && r.status() === 503);
    await h.api('PUT', '/devices/dev-b/tags', { tags: { site: 'south' }, reason: 'moved' }); // audit device.tags: the page asks about dev-b
    await failed;
    // A later event whose question is answered: once it shows, the failed one was handled before it.
    await h.api('PUT', '/devices/dev-c/tags', { tags: { site: 'east' }, reason: 'moved' });
    await page.locator('.vbody [data-key="dev-c"]').getByText('site=east').waitFor();
    assert.deepEqual(await rows(page), DEVICES, 'dev-b is still listed after a 503 on its question');
    assert.equal(await page.getByTestId('device-count').textContent(), '3 of 3 devices');
    assert.match(await page.locator('.vbody [data-key="dev-b"]').textContent() ?? '', /site=north/, 'with what it had');
    // A device the hub no longer lists (its answer goes past it) leaves the view.
    await page.unroute(aboutB);
    await page.route(aboutB, async (route) => {
      const res = await route.fetch();
      const body = (await res.json()) as { devices: Array<{ id: string }>; total: number };
      await route.fulfill({ status: res.status(), json: { ...body, devices: body.devices.filter((d) => d.id !== 'dev-b'), total: body.total - 1 } });
    });
    await h.api('PUT', '/devices/dev-b/tags', { tags: { site: 'west' }, reason: 'moved again' });
    await page.getByTestId('device-count').filter({ hasText: '2 of 2 devices' }).waitFor();
    assert.deepEqual(await rows(page), ['dev-a', 'dev-c']);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('GET /models failing shows the hub\'s code and message with Retry in models, drift and new rollout', async () => {
    const page = await fleetPage();
    await page.route('**/api/v1/models', hubError(500, 'INTERNAL', 'database is locked'));
    await page.reload(); // the token is kept for the tab: the session starts again and loads everything
    await page.getByRole('heading', { name: 'Fleet', exact: true }).waitFor();
    const shown = 'could not load models: INTERNAL: database is locked';
    for (const [key, heading] of [['2', 'Models'], ['6', 'Drift']] as const) {
      await pressFor(page, key, heading);
      const box = page.getByRole('alert').filter({ hasText: shown });
      await box.waitFor({ timeout: 5000 });
      assert.equal(await box.getByRole('button', { name: 'Retry' }).count(), 1, heading);
      assert.equal(await page.getByText('Loading models…').count(), 0, heading);
    }
    await page.evaluate("location.hash = '#/rollouts/new'");
    await page.getByRole('heading', { name: /New rollout/ }).waitFor();
    await page.getByRole('alert').filter({ hasText: shown }).waitFor({ timeout: 5000 });
    // The hub answers again: Retry loads the (empty) registry.
    await page.unroute('**/api/v1/models');
    await page.keyboard.press('2');
    await page.getByRole('alert').filter({ hasText: shown }).getByRole('button', { name: 'Retry' }).click();
    await page.getByText('No model in the registry').waitFor();
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('deployments show an error with Retry; a 503 (no fleet sync) is an empty list', async () => {
    const page = await fleetPage();
    await page.route('**/api/v1/deployments', hubError(500, 'INTERNAL', 'disk I/O error'));
    await page.reload();
    await page.getByRole('heading', { name: 'Fleet', exact: true }).waitFor();
    await pressFor(page, '3', 'Deployments');
    const box = page.getByRole('alert').filter({ hasText: 'could not load deployments: INTERNAL: disk I/O error' });
    await box.waitFor({ timeout: 5000 });
    assert.equal(await page.getByText('No deployment yet').count(), 0, 'an error is not an empty list');
    await page.unroute('**/api/v1/deployments');
    await page.route('**/api/v1/deployments', hubError(503, 'NOT_READY', 'fleet sync is off'));
    await box.getByRole('button', { name: 'Retry' }).click();
    await page.getByText('No deployment yet').waitFor();
    await page.unroute('**/api/v1/deployments');
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a request that gets no answer says the hub did not answer, with Retry that loads the view again (audit, alerts, drift)', async () => {
    const page = await fleetPage();
    for (const [key, pathname, heading] of [['4', '/api/v1/audit', 'Audit log'], ['7', '/api/v1/alert-rules', 'Alerts']] as const) {
      const path = (u: URL) => u.pathname === pathname;
      await page.route(path, (r) => r.abort('connectionrefused'));
      await page.keyboard.press(key);
      await page.getByRole('heading', { name: heading }).waitFor();
      const box = page.getByRole('alert').filter({ hasText: 'the hub did not answer (it may be restarting or unreachable)' });
      await box.waitFor({ timeout: 5000 });
      assert.equal(await page.getByText('Failed to fetch').count(), 0, 'not the browser\'s bare words');
      await page.unroute(path);
      await box.getByRole('button', { name: 'Retry' }).click();
      await box.waitFor({ state: 'detached', timeout: 5000 });
    }
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a token the browser cannot send (not ASCII) is refused at sign-in with why', async () => {
    const page = await h.browser.newPage();
    await page.goto(h.http);
    await page.getByLabel('Token').fill('efa_😀');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText(/a token is printable ASCII/).waitFor({ timeout: 5000 });
    await page.close();
  });

  it('a desktop window whose profile token the hub refuses says how to give the profile a new one, no token field', async () => {
    const page = await h.browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // The desktop bridge, and a wrong token where main would add the profile's (main/window-options.ts).
    await page.addInitScript('window.edgefleetDesktop = { onNavigate: () => undefined, notify: () => Promise.resolve({}) };');
    await page.setExtraHTTPHeaders({ authorization: 'Bearer efa_revoked-profile-token' });
    await page.goto(`${h.http}/#/fleet`);
    await page.getByRole('alert').filter({ hasText: 'the hub no longer accepts this token (401)' }).waitFor({ timeout: 10_000 });
    await page.getByText('Give the profile a new token with Hub → Add hub… under the same profile name').waitFor();
    assert.equal(await page.getByLabel('Token').count(), 0, 'no token field: main would replace what is typed');
    // The profile fixed (main's token accepted): Try again signs in.
    await page.setExtraHTTPHeaders({ authorization: `Bearer ${h.token}` });
    await page.getByRole('button', { name: 'Try again' }).click();
    await page.getByRole('heading', { name: 'Fleet', exact: true }).waitFor({ timeout: 10_000 });
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('the desktop\'s first-run page shows why main could not open a saved hub, code and message', async () => {
    const page = await h.browser.newPage({ viewport: { width: 560, height: 640 }, colorScheme: 'dark' });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    // Main sends the problem on its channel once the page has loaded (main/main.ts); the fake bridge
    // hands it over when the page registers its listener.
    await page.addInitScript(`
      window.edgefleetDesktop = {
        saveProfile: () => Promise.resolve({ ok: true, reply: { ok: true } }),
        openProfile: () => Promise.resolve({ ok: true, reply: { ok: true } }),
        onProblem: (fn) => { window.problem = fn; },
      };`);
    await page.goto(pathToFileURL(join(repoRoot(), 'desktop', 'dist', 'first-run', 'index.html')).toString());
    await page.getByRole('heading', { name: 'Add a hub' }).waitFor();
    const message = 'hub profile "prod" (https://hub.example:8700): its token could not be decrypted with this system\'s secret storage (Error while decrypting); add the hub again under the name "prod" to replace it';
    await page.evaluate((m) => (globalThis as unknown as { problem: (p: unknown) => void }).problem({ code: 'DECRYPT_FAILED', message: m }), message);
    await page.getByRole('alert').filter({ hasText: `DECRYPT_FAILED: ${message}` }).waitFor({ timeout: 5000 });
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('a model version whose reload fails stays shown under the error with Retry, an open Deprecate form and its reason kept; so does a New rollout form', async () => {
    await pushExampleBundle(h, '1.0.0');
    const page = await fleetPage();
    await page.evaluate("location.hash = '#/models/audio-energy/1.0.0'");
    const detail = page.getByTestId('model-detail');
    await detail.getByTestId('signature-status').filter({ hasText: 'Signed' }).waitFor();
    await detail.getByRole('button', { name: 'Deprecate' }).click();
    await detail.getByLabel('Reason').fill('superseded by 2.0.0');
    // The version's own read fails from now on; another version pushed reloads the list, and with it this version.
    const version = (u: URL) => u.pathname === '/api/v1/models/audio-energy/versions/1.0.0';
    await page.route(version, hubError(503, 'DATABASE_UNAVAILABLE', 'the database is not reachable'));
    const failed = page.waitForResponse((r) => version(new URL(r.url())) && r.status() === 503);
    await pushExampleBundle(h, '2.0.0');
    await failed;
    const box = page.getByRole('alert').filter({ hasText: /^could not refresh audio-energy@1\.0\.0 \(shown as of \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\): DATABASE_UNAVAILABLE: the database is not reachable/ });
    await box.waitFor();
    assert.equal(await detail.getByLabel('Reason').inputValue(), 'superseded by 2.0.0', 'the open form and what was typed stay');
    assert.equal(await detail.getByTestId('signature-status').filter({ hasText: 'Signed' }).count(), 1, 'the version stays shown');
    await page.unroute(version);
    await box.getByRole('button', { name: 'Retry' }).click();
    await box.waitFor({ state: 'detached' });
    await detail.getByRole('form', { name: 'Deprecate' }).getByRole('button', { name: 'Deprecate' }).click();
    await detail.getByTestId('version-deprecated').waitFor();

    // A New rollout form whose models reload fails keeps what was typed under the error with Retry.
    await page.evaluate("location.hash = '#/rollouts/new'");
    const form = page.getByRole('form', { name: 'New rollout' });
    await form.locator('#ro-reason').fill('canary first');
    await form.locator('#ro-target').selectOption('tags');
    await form.locator('#ro-tags').fill('site=north');
    // Another version pushed reloads the models; that read fails.
    const list = (u: URL) => u.pathname === '/api/v1/models';
    await page.route(list, hubError(503, 'DATABASE_UNAVAILABLE', 'the database is not reachable'));
    const listFailed = page.waitForResponse((r) => list(new URL(r.url())) && r.status() === 503);
    await pushExampleBundle(h, '3.0.0');
    await listFailed;
    const listBox = page.getByRole('alert').filter({ hasText: /^could not refresh the models \(shown as of \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\): DATABASE_UNAVAILABLE: the database is not reachable/ });
    await listBox.waitFor();
    assert.deepEqual([await form.locator('#ro-reason').inputValue(), await form.locator('#ro-tags').inputValue()], ['canary first', 'site=north'], 'the form and what was typed stay');
    await page.unroute(list);
    await listBox.getByRole('button', { name: 'Retry' }).click();
    await listBox.waitFor({ state: 'detached' });
    await form.locator('#ro-version option', { hasText: /^3\.0\.0$/ }).waitFor({ state: 'attached' });
    assert.equal(await form.locator('#ro-reason').inputValue(), 'canary first');
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a version with more stored drift reports than the drift view lists says so', async () => {
    const report = (note: string) => h.api('POST', '/drift-reports', { model: 'audio-energy', version: '2.0.0', note });
    await report('the oldest');
    await Promise.all(Array.from({ length: 50 }, (_, i) => report(`report ${i}`)));
    const page = await fleetPage();
    await page.evaluate("location.hash = '#/drift/audio-energy/2.0.0'");
    const table = page.getByRole('table', { name: 'Drift reports' });
    await table.locator('tbody tr').nth(49).waitFor();
    assert.equal(await table.locator('tbody tr').count(), 50);
    assert.equal(await table.getByText('the oldest', { exact: true }).count(), 0, 'the oldest is not listed');
    assert.equal(await page.getByTestId('drift-reports-more').textContent(), 'The newest 50 reports are listed; edgefleet drift-reports ls --model audio-energy --version 2.0.0 lists the newest 100.');
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
