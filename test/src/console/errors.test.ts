// Errors as the console shows them, in a real Chromium against a real hub (docs/console.md "Using it"):
// every error names the hub's stable code with its message (the sign-in form's too), and a device page
// deployment, device metrics, alerts list or an alert's deliveries whose refetch fails keeps it shown (a device's events that fail say so in their panel), marked "could not refresh", with Retry; a 404 replaces it,
// saying which thing is missing by the kind the hub names, with a link to its list (a drift report opened by its number too);
// while the hub is down Undeploy is not sent, and a drift refetch that fails keeps the charts;
// Undeploy's steps say they wait for the hub, and a refusal keeps the reason with the focus in it; the deployments list
// whose reload fails stays shown, marked, with Retry;
// an action the hub never answers is given up at the deadline (TIMEOUT) and can be sent again; one that got no answer
// at all says the console did not send it again.
// Errors the real hub would not give on demand are injected with page.route on one request path.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Deployment } from '@edgefleet/shared';
import type { Route } from 'playwright-core';
import { signIn } from './helpers.js';
import { pushExampleBundle, startSmallHub, type SmallHub } from './small-hub.js';

const hubError = (status: number, code: string, message: string) => (r: Route) => r.fulfill({ status, contentType: 'application/json', body: JSON.stringify({ error: { code, message } }) });

describe('console: errors carry the hub\'s code', () => {
  let h: SmallHub;
  before(async () => { h = await startSmallHub('ef-console-errors-', ['dev-a', 'dev-b']); });
  after(() => h?.stop());

  it('sign-in: a wrong token and a throttled address each show the hub\'s code and message', async () => {
    const page = await h.browser.newPage();
    await page.goto(h.http);
    await page.getByLabel('Token').fill('efa_not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'UNAUTHENTICATED: bearer token not recognised or revoked' }).waitFor();
    await page.route('**/api/v1/models', hubError(429, 'RATE_LIMITED', 'too many failed authentications from 127.0.0.1: retry in 42 s'));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'RATE_LIMITED: too many failed authentications from 127.0.0.1: retry in 42 s' }).waitFor();
    await page.close();
  });

  it('a device the hub does not have, and an audit filter it refuses, show the code', async () => {
    const page = await signIn(h.browser, h.http, h.token);
    await page.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, '#/devices/no-such-device');
    await page.getByTestId('missing').filter({ hasText: /^No device no-such-device on this hub\. Back to devices$/ }).waitFor();
    // A 404 without the hub's kind (an older hub) is shown as the hub said it.
    await page.route('**/api/v1/devices/old-hub', hubError(404, 'NOT_FOUND', 'no device "old-hub"'));
    await page.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, '#/devices/old-hub');
    await page.getByRole('alert').filter({ hasText: /^device old-hub: NOT_FOUND: no device "old-hub"/ }).waitFor();
    await page.keyboard.press('4');
    await page.getByLabel('Action').fill('device.tagz');
    await page.getByRole('button', { name: 'Filter' }).click();
    const shown = await page.getByRole('alert').filter({ hasText: 'device.tagz' }).textContent();
    assert.match(shown ?? '', /^[A-Z_]+: .*device\.tagz/, `the hub's code and what was wrong: ${shown}`);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a device page whose refetch fails keeps the device shown, marked, with Retry', async () => {
    const page = await signIn(h.browser, h.http, h.token);
    await page.getByTestId('live').filter({ hasText: 'live' }).waitFor();
    await page.locator('.vbody [data-key="dev-a"]').click();
    await page.getByRole('heading', { name: /dev-a/ }).waitFor();
    await page.route('**/api/v1/devices/dev-a', hubError(503, 'NOT_READY', 'the hub is starting'));
    await h.api('PUT', '/devices/dev-a/tags', { tags: { site: 'south' }, reason: 'moved' }); // the page refetches dev-a
    const stale = page.getByRole('alert').filter({ hasText: /^could not refresh the device \(shown as of \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\): NOT_READY: the hub is starting/ });
    await stale.waitFor();
    assert.equal(await page.getByRole('heading', { name: /dev-a/ }).count(), 1, 'the device is still shown');
    assert.match(await page.getByText('site=north').first().textContent() ?? '', /site=north/, 'as it was loaded');
    await page.unroute('**/api/v1/devices/dev-a');
    await stale.getByRole('button', { name: 'Retry' }).click();
    await page.getByText('site=south').first().waitFor();
    assert.equal(await stale.count(), 0, 'the mark goes once a refetch succeeds');
    // Its events whose read fails: the hub's code and message in their panel, with Retry; the device shown.
    const events = (u: URL) => u.pathname === '/api/v1/devices/dev-a/events';
    await page.route(events, hubError(503, 'NOT_READY', 'the hub is starting'));
    await h.api('PUT', '/devices/dev-a/tags', { tags: { site: 'west' }, reason: 'moved again' });
    const failed = page.getByRole('alert').filter({ hasText: 'could not load the events: NOT_READY: the hub is starting' });
    await failed.waitFor();
    await page.getByText('site=west').first().waitFor();
    await page.unroute(events);
    await failed.getByRole('button', { name: 'Retry' }).click();
    await page.getByText('No events reported yet.').waitFor();
    assert.equal(await failed.count(), 0);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a deployment whose refetch fails keeps it shown, marked, with Retry', async () => {
    await pushExampleBundle(h);
    const deploy = (reason: string) => h.api<Deployment>('POST', '/deployments', { model: 'audio-energy', version: '1.0.0', target: { devices: ['dev-a'] }, reason });
    const first = await deploy('first');
    const page = await signIn(h.browser, h.http, h.token);
    await page.getByTestId('live').filter({ hasText: 'live' }).waitFor();
    await page.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, `#/deployments/${first.id}`);
    const detail = page.getByTestId('deployment-detail');
    await detail.getByRole('link', { name: 'dev-a' }).waitFor();
    // Its target in words, as a rollout's (not the JSON the hub sent).
    const row = page.getByRole('table', { name: 'Deployments' }).locator('tr', { has: page.getByRole('link', { name: String(first.id), exact: true }) });
    assert.equal(await row.locator('td').nth(2).textContent(), '1 device: dev-a');
    await page.route(`**/api/v1/deployments/${first.id}?*`, hubError(503, 'NOT_READY', 'the hub is starting'));
    await deploy('second'); // its audit entry refetches the open deployment
    const stale = detail.getByRole('alert').filter({ hasText: /^could not refresh the deployment \(shown as of .* UTC\): NOT_READY: the hub is starting/ });
    await stale.waitFor();
    assert.equal(await detail.getByRole('link', { name: 'dev-a' }).count(), 1, 'its devices are still shown');
    await page.unroute(`**/api/v1/deployments/${first.id}?*`);
    await stale.getByRole('button', { name: 'Retry' }).click();
    await stale.waitFor({ state: 'detached' });
    assert.equal(await detail.getByRole('link', { name: 'dev-a' }).count(), 1);

    // Undeploy's two steps each say they wait for the hub, their button disabled; refused, the reason is kept with the focus in it.
    await detail.getByRole('button', { name: 'Undeploy' }).click();
    const form = detail.getByRole('form', { name: 'Undeploy' });
    await form.getByLabel('Reason').fill('retired');
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    const undeploy = `**/api/v1/deployments/${first.id}?reason=*`;
    await page.route(undeploy, async (route) => { await held; await route.continue(); });
    await form.getByRole('button', { name: 'Check devices' }).click();
    await form.getByRole('status').filter({ hasText: /^Check devices: waiting for the hub…$/ }).waitFor();
    assert.equal(await form.getByRole('button', { name: 'Check devices' }).isDisabled(), true, 'not sent twice');
    release();
    const confirm = form.getByRole('button', { name: /^Undeploy from \d+ device\(s\)$/ });
    await confirm.waitFor();
    await page.unroute(undeploy);
    await page.route(undeploy, hubError(409, 'CONFLICT', 'the devices it stops changed since the check: check again'));
    await confirm.click();
    await form.getByRole('status').filter({ hasText: 'CONFLICT: the devices it stops changed since the check: check again' }).waitFor();
    assert.equal(await form.getByLabel('Reason').inputValue(), 'retired');
    assert.equal(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document.activeElement?.id), 'undeploy-reason', 'the focus back in the reason');
    await page.unroute(undeploy);

    // The list's reload failing (another deployment made) keeps the list shown, marked, with Retry.
    const list = (u: URL) => u.pathname === '/api/v1/deployments';
    await page.route(list, hubError(500, 'INTERNAL', 'disk I/O error'));
    const failed = page.waitForResponse((r) => list(new URL(r.url())) && r.status() === 500);
    const third = await deploy('third');
    await failed;
    const listStale = page.getByRole('alert').filter({ hasText: /^could not refresh the deployments \(shown as of .* UTC\): INTERNAL: disk I\/O error/ });
    await listStale.waitFor();
    assert.equal(await row.count(), 1, 'the deployments are still listed');
    await page.unroute(list);
    await listStale.getByRole('button', { name: 'Retry' }).click();
    await page.getByRole('table', { name: 'Deployments' }).getByRole('link', { name: String(third.id), exact: true }).waitFor();
    assert.equal(await listStale.count(), 0);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a page opened by its address for a thing the hub does not have says which, by the kind the hub names, and links its list', async () => {
    const page = await signIn(h.browser, h.http, h.token);
    await page.getByTestId('live').filter({ hasText: 'live' }).waitFor();
    const missing = page.getByTestId('missing');
    // (address, what is said, the list linked): audio-energy 1.0.0 was pushed by the deployment test above.
    const cases: Array<[string, string, string, string]> = [
      ['#/devices/d-7', 'No device d-7 on this hub.', 'Back to devices', '#/fleet'],
      ['#/rollouts/ro-1a2b3c4d5e', 'No rollout ro-1a2b3c4d5e on this hub.', 'Back to rollouts', '#/rollouts'],
      ['#/deployments/999', 'No deployment 999 on this hub.', 'Back to deployments', '#/deployments'],
      ['#/models/audio-energy/9.9.9', 'No model version audio-energy@9.9.9 on this hub.', 'Back to models', '#/models'],
      ['#/captures/12', 'No capture 12 on this hub.', 'Back to captures', '#/captures'],
      ['#/alerts/9', 'No alert 9 on this hub.', 'Back to alerts', '#/alerts'],
      ['#/drift/audio-energy/9.9.9', 'No model version audio-energy@9.9.9 on this hub.', 'Back to models', '#/models'],
    ];
    for (const [hash, said, link, href] of cases) {
      await page.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, hash);
      await missing.filter({ hasText: `${said} ${link}` }).waitFor();
      assert.equal(await missing.getByRole('link', { name: link }).getAttribute('href'), href, hash);
    }
    // A stored drift report removed (by retention) after the list was read: opened by its number, it is said missing.
    const rep = await h.api<{ id: number }>('POST', '/drift-reports', { model: 'audio-energy', version: '1.0.0', since: new Date(Date.now() - 3600_000).toISOString(), until: new Date().toISOString() });
    await page.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, '#/drift/audio-energy/1.0.0');
    await page.route(`**/api/v1/drift-reports/${rep.id}`, (r) => r.fulfill({ status: 404, contentType: 'application/json', body: JSON.stringify({ error: { code: 'NOT_FOUND', message: `no drift report ${rep.id}`, details: { kind: 'drift_report', id: rep.id } } }) }));
    await page.getByRole('table', { name: 'Drift reports' }).getByRole('button', { name: String(rep.id), exact: true }).click();
    await missing.filter({ hasText: `No drift report ${rep.id} on this hub. Back to drift` }).waitFor();
    await page.unroute(`**/api/v1/drift-reports/${rep.id}`);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  /**
   * A page whose stream the test takes down when it says: its first stream is the hub's hello and ends (as a proxy's
   * idle timeout), the next is held unanswered until down() refuses it and every later one (the hub gone); up() lets
   * them through to the hub again.
   */
  async function pageWithStream(hello: string) {
    let held: Route | null = null;
    let state: 'first' | 'hold' | 'down' | 'up' = 'first';
    const page = await signIn(h.browser, h.http, h.token, {
      prepare: (p) => p.route('**/api/v1/stream', (r) => {
        if (state === 'first') { state = 'hold'; return r.fulfill({ status: 200, contentType: 'text/event-stream', body: hello }); }
        if (state === 'hold') { held = r; return; }
        return state === 'down' ? r.abort('connectionrefused') : r.continue();
      }),
    });
    return {
      page,
      down: async () => { state = 'down'; await (held as Route | null)?.abort('connectionrefused'); await page.getByTestId('hub-down').waitFor({ timeout: 15_000 }); },
      up: async () => { state = 'up'; await page.getByTestId('hub-down').getByRole('button', { name: 'Retry now' }).click(); await page.getByTestId('live').filter({ hasText: /^● live$/ }).waitFor({ timeout: 15_000 }); },
    };
  }

  it('while the hub is down Undeploy is not sent, and a drift refetch that fails keeps the charts under "could not refresh"', async () => {
    const [dep] = (await h.api<{ deployments: Deployment[] }>('GET', '/deployments')).deployments;
    assert.ok(dep, 'a deployment made by the test above');
    const ac = new AbortController();
    const res = await fetch(`${h.http}/api/v1/stream`, { headers: { authorization: `Bearer ${h.token}` }, signal: ac.signal });
    const reader = res.body!.getReader();
    let hello = '';
    while (!hello.includes('\n\n')) hello += new TextDecoder().decode((await reader.read()).value);
    ac.abort();
    hello = hello.slice(0, hello.indexOf('\n\n') + 2);

    const a = await pageWithStream(hello);
    await a.page.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, `#/deployments/${dep.id}`);
    const detail = a.page.getByTestId('deployment-detail');
    await detail.getByRole('button', { name: 'Undeploy' }).click();
    const form = detail.getByRole('form', { name: 'Undeploy' });
    await form.getByLabel('Reason').fill('gone');
    const check = form.getByRole('button', { name: 'Check devices' });
    assert.equal(await check.isDisabled(), false);
    await a.down();
    await form.getByRole('status').filter({ hasText: 'Check devices: not sent while the hub is down (the banner at the top says why); it can be sent once the hub is back' }).waitFor();
    assert.equal(await check.isDisabled(), true);
    await a.up();
    assert.equal(await check.isDisabled(), false);
    assert.deepEqual(a.page.errors, []);
    await a.page.close();

    // The drift of a version, then its refetch once the stream is back fails: the charts stay, marked, with Retry.
    const b = await pageWithStream(hello);
    await b.page.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, '#/drift/audio-energy/1.0.0');
    const heatmap = b.page.getByTestId('drift-heatmap');
    await heatmap.waitFor();
    const drift = '**/api/v1/models/audio-energy/versions/1.0.0/drift?*';
    await b.page.route(drift, hubError(503, 'NOT_READY', 'the hub is starting'));
    await b.down();
    await b.up();
    const stale = b.page.getByRole('alert').filter({ hasText: /^could not refresh the drift of audio-energy@1\.0\.0 \(shown as of \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\): NOT_READY: the hub is starting/ });
    await stale.waitFor({ timeout: 15_000 });
    assert.equal(await heatmap.count(), 1, 'the charts are still shown');
    await b.page.unroute(drift);
    await stale.getByRole('button', { name: 'Retry' }).click();
    await stale.waitFor({ state: 'detached' });
    assert.equal(await heatmap.count(), 1);
    assert.deepEqual(b.page.errors, []);
    await b.page.close();
  });

  it('alerts and rules whose refetch fails stay shown, marked, with Retry', async () => {
    await h.api('POST', '/alert-rules', { name: 'boxes down', metric: 'devices_offline', threshold: 1, severity: 'warning' });
    h.hub.alerts?.evaluate(); // the hub's devices are not connected: it fires
    const page = await signIn(h.browser, h.http, h.token);
    await page.getByTestId('live').filter({ hasText: 'live' }).waitFor();
    await page.keyboard.press('7');
    const alerts = page.getByRole('table', { name: 'Alerts', exact: true });
    const rules = page.getByRole('table', { name: 'Alert rules' });
    await alerts.getByText('boxes down').waitFor();
    await alerts.getByRole('link', { name: /deliveries/ }).first().click(); // an alert's webhook deliveries, read again with the alerts
    await page.getByTestId('alert-deliveries').getByText('No delivery: the rule has no webhook action.').waitFor();
    await page.route('**/api/v1/alert*', hubError(503, 'NOT_READY', 'the hub is starting'));
    await page.route('**/api/v1/alerts/*/deliveries', hubError(503, 'NOT_READY', 'the hub is starting'));
    await h.api('POST', '/alert-rules', { name: 'another', metric: 'devices_offline', threshold: 5, severity: 'info' }); // its audit entry refetches both
    for (const what of ['alerts', 'alert rules', 'deliveries of alert \\d+']) {
      await page.getByRole('alert').filter({ hasText: new RegExp(`^could not refresh the ${what} \\(shown as of .* UTC\\): NOT_READY: the hub is starting`) }).waitFor();
    }
    assert.equal(await alerts.getByText('boxes down').count(), 1, 'the alert is still shown');
    assert.equal(await rules.getByText('boxes down').count(), 1, 'the rule is still shown');
    assert.equal(await page.getByTestId('alert-deliveries').getByText('No delivery: the rule has no webhook action.').count(), 1, 'the deliveries are still shown');
    await page.unroute('**/api/v1/alert*');
    await page.unroute('**/api/v1/alerts/*/deliveries');
    await page.getByRole('alert').filter({ hasText: 'could not refresh the alert rules' }).getByRole('button', { name: 'Retry' }).click();
    await rules.getByText('another').waitFor();
    // Another state filter shows its own answer, not the list loaded for the one before.
    await page.getByLabel('State').selectOption('resolved');
    await page.getByText('No resolved alert.').waitFor();
    assert.equal(await alerts.count(), 0);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('an action says it waits for the hub until the answer comes', async () => {
    const page = await signIn(h.browser, h.http, h.token);
    await page.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, '#/devices/dev-b');
    await page.getByRole('button', { name: 'Set tags' }).click();
    const form = page.getByRole('form', { name: 'Set tags' });
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    await page.route('**/api/v1/devices/dev-b/tags', async (route) => { await held; await route.continue(); });
    await form.getByLabel(/^Tags/).fill('site=east');
    await form.getByRole('button', { name: 'Set tags' }).click();
    await form.getByRole('status').filter({ hasText: 'Set tags: waiting for the hub…' }).waitFor();
    assert.equal(await form.getByRole('button', { name: 'Set tags' }).isDisabled(), true, 'not sent twice');
    release();
    await page.getByRole('status').filter({ hasText: 'tags saved' }).waitFor(); // beside Set tags: done, the form closed
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a sign-in and an action the hub never answers give up at the deadline with TIMEOUT; a write with no answer says it was not sent again', async () => {
    const login = await h.browser.newPage();
    await login.clock.install();
    await login.goto(h.http);
    await login.route('**/api/v1/models', () => {}); // taken, never answered
    await login.getByLabel('Token').fill(h.token);
    await login.getByRole('button', { name: 'Sign in' }).click();
    await login.clock.runFor(30_000);
    await login.getByRole('alert').filter({ hasText: 'TIMEOUT: the hub did not answer within 30 s (it may be overloaded or stopped): sign in again once it answers' }).waitFor();
    await login.close();

    const page = await signIn(h.browser, h.http, h.token);
    await page.clock.install();
    await page.reload(); // the tab keeps its token: the session starts again under the fake clock
    await page.getByRole('heading', { name: 'Fleet', exact: true }).waitFor();
    await page.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, '#/devices/dev-b');
    await page.getByRole('button', { name: 'Set tags' }).click();
    const form = page.getByRole('form', { name: 'Set tags' });
    // The hub took the request and never answers (held here until the test ends).
    await page.route('**/api/v1/devices/dev-b/tags', () => {});
    await form.getByLabel(/^Tags/).fill('site=west');
    await form.getByRole('button', { name: 'Set tags' }).click();
    await form.getByRole('status').filter({ hasText: 'Set tags: waiting for the hub…' }).waitFor();
    await page.clock.runFor(30_000);
    await form.getByRole('status').filter({ hasText: /^TIMEOUT: the hub did not answer within 30 s .*may still be applied/ }).waitFor();
    assert.equal(await form.getByRole('button', { name: 'Set tags' }).isDisabled(), false, 'it can be sent again');
    await page.unroute('**/api/v1/devices/dev-b/tags');
    // A write that got no answer at all is not sent again by the console (its views are refetched): it says so.
    await page.route('**/api/v1/devices/dev-b/tags', (route) => route.abort('connectionrefused'));
    await form.getByRole('button', { name: 'Set tags' }).click();
    await form.getByRole('status').filter({ hasText: 'UNREACHABLE: the hub did not answer (it may be restarting or unreachable); this was not sent again: send it once the header says live' }).waitFor();
    await page.unroute('**/api/v1/devices/dev-b/tags');
    await form.getByRole('button', { name: 'Set tags' }).click();
    await page.getByRole('status').filter({ hasText: 'tags saved' }).waitFor(); // beside Set tags: done, the form closed
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('the header says the stream is offline in the warning colour, and live again in green once back', async () => {
    const page = await signIn(h.browser, h.http, h.token);
    const live = page.getByTestId('live');
    const colour = () => live.evaluate((e) => (globalThis as unknown as { getComputedStyle(x: unknown): { color: string } }).getComputedStyle(e).color);
    await live.filter({ hasText: '● live' }).waitFor();
    const green = await colour();
    await page.route('**/api/v1/stream*', (r) => r.abort('connectionrefused')); // as when the hub is gone
    await page.reload(); // the tab keeps its token: the session starts again, its stream refused
    await live.filter({ hasText: '○ offline (retrying)' }).waitFor();
    assert.equal(await colour(), 'rgb(229, 180, 73)', 'offline is amber');
    assert.notEqual(green, await colour());
    await page.unroute('**/api/v1/stream*'); // the hub is back
    await live.filter({ hasText: '● live' }).waitFor({ timeout: 15_000 });
    assert.equal(await colour(), green);
    assert.deepEqual(page.errors, []);
    await page.close();
  });
  it('device metrics whose refetch (every 60 s) fails stay shown, marked, with Retry', async () => {
    const page = await signIn(h.browser, h.http, h.token);
    await page.clock.install();
    await page.reload(); // the tab keeps its token: the session starts again under the fake clock
    await page.locator('.vbody [data-key="dev-a"]').click();
    const panel = page.getByTestId('device-metrics');
    const total = panel.getByTestId('device-metrics-total');
    await total.waitFor();
    await page.route('**/api/v1/devices/dev-a/windows?*', hubError(503, 'NOT_READY', 'the hub is starting'));
    await page.clock.runFor(61_000);
    const stale = panel.getByRole('alert').filter({ hasText: /^could not refresh the metrics of audio-energy@1\.0\.0 \(shown as of \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\): NOT_READY: the hub is starting/ });
    await stale.waitFor();
    assert.equal(await total.count(), 1, 'the charts are still shown');
    await page.unroute('**/api/v1/devices/dev-a/windows?*');
    await stale.getByRole('button', { name: 'Retry' }).click();
    await stale.waitFor({ state: 'detached' });
    assert.equal(await total.count(), 1);
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
