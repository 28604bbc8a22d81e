// The console when its hub goes away (docs/console.md "When the hub is unreachable"), against a real hub
// process in a real Chromium: stopped (SIGSTOP: it takes connections and says nothing), killed and
// restarted on the same port, answering its stream with its own 503, and refusing a revoked token. The
// banner says since when and the last error and offers Retry now, the view is marked stale with its age,
// an action is not sent, a read does not wait on the hub, and everything is fetched again once it is back.
// The hub's stream heartbeat is 1 s here (3 s of silence is a stopped hub; 45 s at the default).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { makeKeys, makeTrust } from '@edgefleet/examples';
import { startHub, type HubHandle, type StartHubOptions } from '@edgefleet/examples/fleet';
import { buildRenderer, launchChromium, signIn } from './helpers.js';

const openView = (page: Page, hash: string) => page.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, hash);
const SINCE = String.raw`since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(\d+ (s|min \d+ s)\)`;

describe('console: the hub unreachable, failing or refusing the token', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-console-hubdown-'));
  let opts: StartHubOptions;
  let hub: HubHandle;
  let browser: Browser;

  /** The hub again on the ports it had, on its data (its admin token unchanged). */
  async function restart(): Promise<void> {
    const http = new URL(hub.http);
    hub = await startHub({ ...opts, httpPort: Number(http.port), mqttPort: Number(new URL(hub.mqtt).port) });
  }

  before(async () => {
    const keys = makeKeys(join(dir, 'keys'));
    const trust = makeTrust(dir, keys);
    opts = { dataDir: join(dir, 'hub'), trustPath: trust.path, hubKeyPath: keys.files.hub.keyPath, config: { stream: { heartbeatMs: 1000 } } };
    [hub, browser] = await Promise.all([startHub(opts), launchChromium(), buildRenderer()]) as [HubHandle, Browser, void];
    await hub.api('POST', '/devices', { deviceId: 'dev-a', tags: { site: 'north' } });
  });
  after(async () => {
    hub?.process.child.kill('SIGCONT');
    await browser?.close();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a stopped hub: the banner with the last error, the view stale, actions not sent, reads not waited on; Retry now once it runs again', async () => {
    const page = await signIn(browser, hub.http, hub.adminToken);
    const live = page.getByTestId('live');
    await live.filter({ hasText: '● live' }).waitFor();
    await openView(page, '#/devices/dev-a');
    await page.getByRole('button', { name: 'Set tags' }).click();
    const form = page.getByRole('form', { name: 'Set tags' });
    const banner = page.getByTestId('hub-down');
    assert.equal(await banner.count(), 0);

    hub.process.child.kill('SIGSTOP');
    try {
      // Silent for three heartbeats, then the next attempt is taken and never answered: given up at 10 s
      // (it said "○ connecting" for ever).
      await banner.filter({ hasText: new RegExp(`^The hub is unreachable ${SINCE}\\. Last error: TIMEOUT: the hub's stream went silent`) }).waitFor({ timeout: 15_000 });
      await page.getByTestId('stale').filter({ hasText: /^Stale: shown as of \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, \d+ s old\. It is refreshed when the hub is back\.$/ }).waitFor();
      assert.match(await page.locator('main').getAttribute('class') ?? '', /is-stale/);
      await banner.filter({ hasText: 'Last error: TIMEOUT: the hub took the connection but did not answer within 10 s (stopped or overloaded)' }).waitFor({ timeout: 20_000 });
      await live.filter({ hasText: '○ offline (retrying): TIMEOUT: the hub took the connection' }).waitFor();

      // An action is not sent (it waited 30 s on the stopped hub, then said TIMEOUT … may still be applied).
      await form.getByLabel(/^Tags/).fill('site=east');
      assert.equal(await form.getByRole('button', { name: 'Set tags' }).isDisabled(), true);
      await form.getByRole('status').filter({ hasText: 'Set tags: not sent while the hub is down (the banner at the top says why); it can be sent once the hub is back' }).waitFor();
      // A read is answered at once with what the console knows (it took 30 s to say TIMEOUT).
      await openView(page, '#/captures');
      await page.getByRole('alert').filter({ hasText: /^could not load captures: TIMEOUT: the hub took the connection but did not answer within 10 s \(stopped or overloaded\) \(not asked: the hub has not answered since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)/ }).waitFor({ timeout: 5000 });
      // Between two attempts, with seconds to go: an attempt under way when the hub runs again would be answered
      // and take the banner away before Retry now is clicked (a click that then waited 30 s on a detached button).
      await banner.filter({ hasText: /Retrying in ([3-9]|10) s \(attempt/ }).waitFor({ timeout: 25_000 });
    } finally {
      hub.process.child.kill('SIGCONT');
    }
    await banner.getByRole('button', { name: 'Retry now' }).click();
    await live.filter({ hasText: /^● live$/ }).waitFor({ timeout: 15_000 });
    await banner.waitFor({ state: 'detached' });
    assert.equal(await page.getByTestId('stale').count(), 0);
    await page.getByText('No capture yet').waitFor(); // the failed read fetched again by itself
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a killed hub restarted on the same port: unreachable meanwhile, then the views fetched again and the banner gone', async () => {
    const page = await signIn(browser, hub.http, hub.adminToken);
    const live = page.getByTestId('live');
    await live.filter({ hasText: '● live' }).waitFor();
    const row = page.locator('.vbody [data-key="dev-a"]');
    await row.getByText('site=north').waitFor();
    let streams = 0;
    page.on('request', (r) => { if (r.url().endsWith('/api/v1/stream')) streams++; });

    hub.process.kill();
    await hub.process.exited;
    const banner = page.getByTestId('hub-down');
    await banner.filter({ hasText: new RegExp(`^The hub is unreachable ${SINCE}\\. Last error: UNREACHABLE: `) }).waitFor({ timeout: 10_000 });
    // Backing off: the attempts while it is down are few, each waiting longer (0.5, 1, 2, 4, 8, then every 10 s).
    await banner.filter({ hasText: /Retrying in ([4-9]|10) s \(attempt [4-9]/ }).waitFor({ timeout: 20_000 });
    assert.ok(streams <= 6, `${streams} stream attempts`);
    assert.match(await page.getByTestId('stale').textContent() ?? '', /^Stale: shown as of .* UTC, \d+ s old/);

    await restart();
    // Changed while the console is not connected: what it shows is stale until it is back.
    await hub.api('PUT', '/devices/dev-a/tags', { tags: { site: 'south' }, reason: 'moved' });
    await row.getByText('site=north').waitFor();
    await banner.getByRole('button', { name: 'Retry now' }).click();
    await live.filter({ hasText: /^● live$/ }).waitFor({ timeout: 15_000 });
    await row.getByText('site=south').waitFor();
    await banner.waitFor({ state: 'detached' });
    assert.equal(await page.getByTestId('stale').count(), 0);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a stream that ends and opens again at once (a proxy\'s idle timeout) raises no banner', async () => {
    // The hub's own first bytes (its hello), then the end of the answer: as a proxy closing an idle stream.
    const ac = new AbortController();
    const res = await fetch(`${hub.http}/api/v1/stream`, { headers: { authorization: `Bearer ${hub.adminToken}` }, signal: ac.signal });
    const reader = res.body!.getReader();
    let hello = '';
    while (!hello.includes('\n\n')) hello += new TextDecoder().decode((await reader.read()).value);
    ac.abort();
    let cut = 2; // twice in a row: each time the stream had opened, so the next attempt is the judge
    let passed: () => void = () => {};
    const real = new Promise<void>((r) => { passed = r; });
    const page = await signIn(browser, hub.http, hub.adminToken, {
      prepare: async (p) => {
        await p.addInitScript(`new MutationObserver(() => { if (document.querySelector('[data-testid=hub-down]')) globalThis.bannerSeen = true; }).observe(document, { childList: true, subtree: true })`);
        await p.route('**/api/v1/stream', (r) => {
          if (cut-- > 0) return r.fulfill({ status: 200, contentType: 'text/event-stream', body: hello.slice(0, hello.indexOf('\n\n') + 2) });
          passed();
          return r.continue();
        });
      },
    });
    await real;
    await page.getByTestId('live').filter({ hasText: /^● live$/ }).waitFor({ timeout: 15_000 });
    assert.equal(await page.evaluate(() => (globalThis as unknown as { bannerSeen?: boolean }).bannerSeen ?? false), false);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a hub answering its own 503 is said to answer with errors, not to be unreachable; a revoked token returns to the login form', async () => {
    const made = await hub.api<{ id: string; token: string }>('POST', '/tokens', { name: 'ops', role: 'operator' });
    const page = await signIn(browser, hub.http, made.token);
    const live = page.getByTestId('live');
    await live.filter({ hasText: '● live' }).waitFor();
    const failing = JSON.stringify({ error: { code: 'DATABASE_UNAVAILABLE', message: 'the database does not answer' } });
    await page.route('**/api/v1/stream', (r) => r.fulfill({ status: 503, contentType: 'application/json', body: failing }));
    hub.process.kill(); // the open stream ends; the next attempts get the 503
    await hub.process.exited;
    const banner = page.getByTestId('hub-down');
    await banner.filter({ hasText: new RegExp(`^The hub answers, but with errors \\(it is running and cannot serve\\) ${SINCE}\\. Last error: DATABASE_UNAVAILABLE: the database does not answer`) }).waitFor({ timeout: 10_000 });
    await restart();
    await hub.api('POST', `/tokens/${made.id}/revoke`, { reason: 'left the team' });
    await page.unroute('**/api/v1/stream');
    // The console's own next attempt (its backoff runs on: 0.5, 1, 2, 4 s …) may come between the unroute and the
    // click and take the banner away first (CI saw the button detached); either way the revoked token ends at the login form.
    const token = page.getByLabel('Token');
    await Promise.race([banner.getByRole('button', { name: 'Retry now' }).click().catch(() => undefined), token.waitFor({ timeout: 30_000 })]);
    await page.getByRole('alert').filter({ hasText: 'the hub no longer accepts this token (401): sign in again' }).waitFor({ timeout: 15_000 });
    await token.waitFor();
    assert.equal(await banner.count(), 0);
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
