// The console behind a reverse proxy, as docs/operations.md deploys the hub (a TLS proxy in front of it),
// in a real Chromium against a real hub: while the hub is out of the proxy's reach the proxy answers 502
// Bad Gateway with its own HTML page, which the console names as not the hub's answer, with what to do
// (docs/console.md "Using it"); once the proxy reaches the hub again the stream resumes on the same hub
// run and the views whose reads failed meanwhile are fetched again, as they said they would be. A read
// the hub never answers gives up at the deadline without saying something may have been applied. A bundle whose
// download stalls after its first bytes gives the signature check up at its deadline (TIMEOUT), and Retry checks again;
// so does "Try it" reading the whole bundle (no bytes for 30 s), and its Retry runs the samples.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signIn } from './helpers.js';
import { SAMPLE_RATE_ENERGY } from '@edgefleet/examples';
import { speechBundle } from './speech-bundle.js';
import { pushExampleBundle, startSmallHub, type SmallHub } from './small-hub.js';

/** The page nginx answers when its upstream refuses the connection. */
const NGINX_502 = '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

interface Proxy {
  url: string;
  setDown(down: boolean): void;
  /** Answers whose path matches get their status, headers and first STALL_BYTES bytes, then nothing more (null: none stalls). */
  stall(paths: RegExp | null): void;
  close(): Promise<void>;
}

/** Less than a tar header: the bundle's manifest never arrives whole. */
const STALL_BYTES = 100;

/** A port on 127.0.0.1 with nothing listening (bound on port 0, then closed). */
async function deadPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * Waits for `event` while the page's fake clock goes on in steps of 100 ms: work the page starts from a timer
 * (preact runs effects after a frame, on the installed clock) would otherwise wait for a clock the test holds.
 */
async function until(page: Page, event: Promise<unknown>): Promise<void> {
  let done = false;
  const seen = event.then(() => { done = true; });
  for (let i = 0; i < 300 && !done; i++) {
    await page.clock.runFor(100);
    await new Promise((r) => setTimeout(r, 100));
  }
  await seen;
}

/** An HTTP reverse proxy on 127.0.0.1:0 to `target`; down, it sends to a port nothing listens on (the hub stopped) and cuts what it carries. */
async function gatewayProxy(target: number): Promise<Proxy> {
  const dead = await deadPort();
  let port = target;
  let stalled: RegExp | null = null;
  const carried = new Set<() => void>();
  const server = http.createServer((req, res) => {
    const up = http.request({ host: '127.0.0.1', port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.statusMessage, r.headers);
      if (stalled?.test(req.url ?? '')) r.once('data', (b: Buffer) => { r.pause(); res.write(b.subarray(0, STALL_BYTES)); });
      else r.pipe(res);
    });
    const cut = () => { up.destroy(); res.destroy(); };
    carried.add(cut);
    up.on('close', () => carried.delete(cut));
    up.on('error', () => {
      if (res.headersSent) res.destroy();
      else res.writeHead(502, 'Bad Gateway', { 'content-type': 'text/html' }).end(NGINX_502);
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stall(paths) { stalled = paths; },
    setDown(down) {
      port = down ? dead : target;
      if (down) for (const cut of carried) cut();
    },
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** Opens a view by its address, as a link or the menu does. */
const openView = (page: Page, hash: string) => page.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, hash);

const GATEWAY = "HTTP_502: 502 Bad Gateway, not the hub's answer (no edgefleet error code in it): a proxy in front of the hub answered for it: the hub is restarting, stopped or out of the proxy's reach";

describe('console: behind a reverse proxy', () => {
  let h: SmallHub;
  let proxy: Proxy;
  before(async () => {
    // Heartbeats 10 min apart: the tests below move the page's clock on by up to ~160 s, and the console's
    // stream watchdog (three heartbeats of silence on that clock, desktop/src/renderer/live.ts) then took the
    // stream for dead, reconnected and refetched the views; a signature check so started again removed the
    // TIMEOUT and its Retry button the test was about to click (a CI run, 2026-12-06). The proxy going down
    // ends the stream's connection itself, so no test here waits on the watchdog.
    h = await startSmallHub('ef-console-proxy-', ['dev-a'], { stream: { heartbeatMs: 600_000 } });
    proxy = await gatewayProxy(Number(new URL(h.http).port));
  });
  after(async () => {
    await proxy?.close();
    await h?.stop();
  });

  it('names the proxy\'s 502 as not the hub\'s with what to do, and fetches the failed views again once the hub is back', async () => {
    const page = await signIn(h.browser, proxy.url, h.token);
    const live = page.getByTestId('live');
    await live.filter({ hasText: 'live' }).waitFor();
    // An event seen, so the stream resumes from it (Last-Event-ID) rather than starting afresh.
    await h.api('PUT', '/devices/dev-a/tags', { tags: { site: 'west' }, reason: 'moved' });
    await page.locator('.vbody [data-key="dev-a"]').filter({ hasText: 'site=west' }).waitFor();
    // A sign-in page loaded before the hub went out of reach.
    const login = await h.browser.newPage();
    await login.goto(proxy.url);

    proxy.setDown(true);
    await live.filter({ hasText: `offline (retrying): ${GATEWAY}; the console retries when it is back` }).waitFor();
    await openView(page, '#/alerts');
    await page.getByRole('alert').filter({ hasText: `could not load the alerts: ${GATEWAY}; the console retries when it is back` }).waitFor();
    // The captures view reads once, and again only when told to (no timer, no event of its own).
    await openView(page, '#/captures');
    const capturesDown = page.getByRole('alert').filter({ hasText: `could not load captures: ${GATEWAY}; the console retries when it is back` });
    await capturesDown.waitFor();

    await login.getByLabel('Token').fill(h.token);
    await login.getByRole('button', { name: 'Sign in' }).click();
    await login.getByRole('alert').filter({ hasText: `${GATEWAY}; sign in again once it is back` }).waitFor();
    await login.close();

    // The hub ran all along: the stream resumes on the same run, and the captures view is read again unasked.
    proxy.setDown(false);
    await live.filter({ hasText: /^● live$/ }).waitFor();
    await page.getByText('No capture yet').waitFor();
    assert.equal(await capturesDown.count(), 0);

    // A write the proxy answered for is not sent again by the console.
    await openView(page, '#/devices/dev-a');
    await page.getByRole('button', { name: 'Set tags' }).click();
    const form = page.getByRole('form', { name: 'Set tags' });
    await form.getByLabel(/^Tags/).fill('site=east');
    await page.route('**/api/v1/devices/dev-a/tags', (r) => r.fulfill({ status: 502, contentType: 'text/html', body: NGINX_502 }));
    await form.getByRole('button', { name: 'Set tags' }).click();
    await form.getByRole('status').filter({ hasText: `${GATEWAY}; this was not sent again: send it once the header says live` }).waitFor();
    await page.unroute('**/api/v1/devices/dev-a/tags');
    // Known to be down (the stream answered for by the proxy): the write is not sent at all, and says so.
    proxy.setDown(true);
    await page.getByTestId('hub-down').filter({ hasText: `The hub is unreachable since` }).filter({ hasText: `Last error: ${GATEWAY}` }).waitFor();
    assert.equal(await form.getByRole('button', { name: 'Set tags' }).isDisabled(), true);
    proxy.setDown(false);
    await live.filter({ hasText: /^● live$/ }).waitFor();
    await form.getByRole('button', { name: 'Set tags' }).click();
    await form.waitFor({ state: 'detached' });
    await page.locator('.facts, main').getByText('site=east').first().waitFor();
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a read the hub never answers gives up at the deadline saying how it is fetched again, not that something may be applied', async () => {
    const page = await signIn(h.browser, proxy.url, h.token);
    await page.clock.install();
    await page.reload(); // the tab keeps its token: the session starts again under the fake clock
    await page.getByRole('heading', { name: 'Fleet', exact: true }).waitFor();
    await page.route('**/api/v1/captures**', () => {}); // taken, never answered
    await openView(page, '#/captures');
    await page.getByText('Loading captures…').waitFor();
    await page.clock.runFor(30_000);
    const box = page.getByRole('alert').filter({ hasText: 'could not load captures: TIMEOUT: the hub did not answer within 30 s (it may be overloaded or stopped); Retry, or the view is fetched again once the header says live' });
    await box.waitFor();
    assert.doesNotMatch(await box.textContent() ?? '', /may still be applied/);
    await page.unroute('**/api/v1/captures**');
    await box.getByRole('button', { name: 'Retry' }).click();
    await page.getByText('No capture yet').waitFor();
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a bundle download that stalls after its first bytes gives the signature check up at its deadline, and Retry checks again', async () => {
    await pushExampleBundle(h);
    const page = await signIn(h.browser, proxy.url, h.token);
    await page.getByRole('heading', { name: 'Fleet', exact: true }).waitFor();
    // Installed once the page runs (a reload under it sometimes left the app's first loads waiting on the
    // held clock): the timers made from here on, the signature check's deadline among them, run on the test's clock.
    await page.clock.install();
    proxy.stall(/\/bundle$/);
    const started = page.waitForResponse((r) => r.url().endsWith('/bundle'));
    await openView(page, '#/models/audio-energy/1.0.0');
    await page.getByText('Checking signatures in this console…').waitFor();
    await until(page, started); // its status and headers came: the answer's own deadline is behind it
    const box = page.getByTestId('signature-status').filter({ hasText: 'Could not check the signatures here: TIMEOUT: the hub started sending the bundle but its manifest and signatures did not arrive within 30 s (the hub, or a proxy in front of it, stalled mid-download)' });
    // The page may take the answer a moment after the browser saw it: time goes on in steps until the deadline passed.
    await page.clock.runFor(30_000);
    let shown = false;
    for (let i = 0; i < 20 && !(shown = await box.waitFor({ timeout: 1000 }).then(() => true, () => false)); i++) await page.clock.runFor(5_000);
    assert.ok(shown, `still: ${await page.getByTestId('model-detail').textContent()}`);
    proxy.stall(null);
    await box.getByRole('button', { name: 'Retry' }).click();
    await page.getByTestId('signature-status').filter({ hasText: '✔ Signed' }).waitFor();
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('"Try it" whose bundle download stalls mid-way gives up after 30 s without a byte (TIMEOUT), and Retry runs the samples', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ef-console-stall-'));
    try {
      await h.api('POST', '/models', new Uint8Array(readFileSync((await speechBundle(dir, h.keys, '1.0.0', SAMPLE_RATE_ENERGY)).path)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const page = await signIn(h.browser, proxy.url, h.token);
    await page.getByRole('heading', { name: 'Fleet', exact: true }).waitFor();
    await page.clock.install(); // the timers made from here on (the stall deadline's) run on the test's clock
    await openView(page, '#/models/speech/1.0.0');
    await page.getByTestId('signature-status').filter({ hasText: '✔ Signed' }).waitFor();
    proxy.stall(/\/bundle$/);
    const started = page.waitForResponse((r) => r.url().endsWith('/bundle'));
    const tryIt = page.getByTestId('try-it');
    await tryIt.getByRole('button', { name: /Try it: run 1 sample/ }).click();
    await until(page, started);
    const box = tryIt.getByRole('alert').filter({ hasText: /^Could not run the samples here: TIMEOUT: the bundle download stalled: no bytes for 30 s after 100 bytes \(the hub, or a proxy in front of it, stalled mid-download\)/ });
    // Time goes on in steps until the stall deadline passed (the page may take the first bytes a moment after the browser).
    let shown = false;
    for (let i = 0; i < 20 && !(shown = await box.waitFor({ timeout: 1000 }).then(() => true, () => false)); i++) await page.clock.runFor(5_000);
    assert.ok(shown, `still: ${await page.locator('main').textContent()}`);
    proxy.stall(null);
    await box.getByRole('button', { name: 'Retry' }).click();
    await tryIt.getByTestId('sample-verdict').filter({ hasText: 'matches' }).waitFor({ timeout: 30_000 });
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
