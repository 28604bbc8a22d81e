// The console's live stream against a real hub in a real Chromium (docs/console.md "Live updates and
// tabs"): a stream the hub refuses (429, too many streams for the token) shows the hub's code and
// message in the header until a slot frees; the web console's tabs release their stream while hidden,
// so an eighth tab of one browser still loads (Chromium opens at most 6 HTTP/1.1 connections per host,
// and each visible tab holds one), and a tab shown again resumes with Last-Event-ID (or refetches when
// it had seen no event). Headless tabs are all "visible": hiding one is emulated in the page
// (document.visibilityState and its event).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { startSmallHub, type SmallHub } from './small-hub.js';

/** Emulates the tab being hidden (another tab in front) or shown again (a string: no DOM types here). */
function setVisible(page: Page, visible: boolean): Promise<void> {
  return page.evaluate(`
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => ${JSON.stringify(visible ? 'visible' : 'hidden')} });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => ${!visible} });
    document.dispatchEvent(new Event('visibilitychange'));`);
}

describe('console: the live stream, refused and shared between tabs', () => {
  let h: SmallHub;
  before(async () => { h = await startSmallHub('ef-console-streams-', ['dev-a', 'dev-b']); });
  after(() => h?.stop());

  /** A tab of `ctx` signed in (the token kept for the tab, as after the login form). */
  async function tab(ctx: BrowserContext): Promise<Page> {
    const page = await ctx.newPage();
    await page.addInitScript(`sessionStorage.setItem('edgefleet.token', ${JSON.stringify(h.token)})`);
    await page.goto(`${h.http}/#/fleet`, { timeout: 10_000 });
    return page;
  }

  it('a refused stream shows the hub\'s code and message, then goes live when a slot frees', async () => {
    // The hub allows 8 streams per token (hub/src/api/stream.ts): hold them all from here.
    // Each held stream is read up to its hello (the hub has counted it) and its reader kept, so none is
    // let go before the test ends.
    const held = await Promise.all(Array.from({ length: 8 }, async () => {
      const ac = new AbortController();
      const res = await fetch(`${h.http}/api/v1/stream`, { headers: { authorization: `Bearer ${h.token}` }, signal: ac.signal });
      assert.equal(res.status, 200);
      const reader = res.body!.getReader();
      const first = await reader.read();
      assert.match(new TextDecoder().decode(first.value), /event: hello/);
      return { ac, reader };
    }));
    const ctx = await h.browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const page = await tab(ctx);
      const live = page.getByTestId('live');
      // Every state the header shows until the refusal, so a failure says what was seen instead.
      const seen = new Set<string>();
      const refused = /^○ offline \(retrying\): RATE_LIMITED: too many open streams for this token: at most 8; close one/;
      for (const until = Date.now() + 25_000; ;) {
        const text = (await live.textContent({ timeout: 5_000 }).catch(() => null)) ?? '(no live indicator)';
        seen.add(text);
        if (refused.test(text)) break;
        assert.ok(Date.now() < until, `the refusal was never shown; the header showed: ${[...seen].join(' | ')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      held.pop()?.ac.abort();
      await live.filter({ hasText: '● live' }).waitFor({ timeout: 15_000 });
    } finally {
      for (const { ac } of held) ac.abort();
      await ctx.close();
    }
  });

  it('eight tabs of one browser load when the hidden ones release their streams; a tab shown again catches up', async () => {
    const ctx = await h.browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const tabs: Page[] = [];
      for (let i = 0; i < 8; i++) {
        const page = await tab(ctx); // the 7th never loaded while six tabs each held a connection
        await page.getByTestId('live').filter({ hasText: '● live' }).waitFor({ timeout: 10_000 });
        if (i === 0) {
          // The first tab sees an event, so it has an id to resume from.
          await h.api('PUT', '/devices/dev-b/tags', { tags: { site: 'east' }, reason: 'moved' });
          await page.locator('.vbody [data-key="dev-b"]').getByText('site=east').waitFor({ timeout: 10_000 });
        }
        await setVisible(page, false); // the next tab comes to the front
        tabs.push(page);
      }
      const [first, second] = tabs as [Page, Page];
      assert.equal(await second.getByTestId('live').textContent(), '○ paused (tab hidden)');
      // While every tab is hidden, dev-a moves. Shown again, the first tab resumes where it left off
      // (Last-Event-ID: the hub replays what it missed).
      await h.api('PUT', '/devices/dev-a/tags', { tags: { site: 'south' }, reason: 'moved' });
      const resumed = first.waitForRequest((r) => r.url().endsWith('/api/v1/stream'));
      await setVisible(first, true);
      assert.match((await resumed).headers()['last-event-id'] ?? '', /^\S+-\d+$/, 'the resumed stream carries Last-Event-ID');
      await first.getByTestId('live').filter({ hasText: '● live' }).waitFor({ timeout: 10_000 });
      await first.locator('.vbody [data-key="dev-a"]').getByText('site=south').waitFor({ timeout: 10_000 });
      // The second tab had seen no event (the hello carries no id): shown again, it refetches.
      await setVisible(first, false);
      const reopened = second.waitForRequest((r) => r.url().endsWith('/api/v1/stream'));
      await setVisible(second, true);
      assert.equal((await reopened).headers()['last-event-id'], undefined);
      await second.locator('.vbody [data-key="dev-a"]').getByText('site=south').waitFor({ timeout: 10_000 });
    } finally {
      await ctx.close();
    }
  });

  it('in the desktop app (its bridge present) a hidden window keeps its stream, so alerts still notify', async () => {
    const ctx = await h.browser.newContext({ viewport: { width: 1280, height: 800 }, extraHTTPHeaders: { authorization: `Bearer ${h.token}` } });
    try {
      await ctx.addInitScript('window.edgefleetDesktop = { onNavigate() {}, notify: () => Promise.resolve({}) };');
      const page = await ctx.newPage();
      await page.goto(`${h.http}/#/fleet`);
      await page.getByTestId('live').filter({ hasText: '● live' }).waitFor({ timeout: 10_000 });
      let reopened = false;
      page.on('request', (r) => { if (r.url().endsWith('/api/v1/stream')) reopened = true; });
      await setVisible(page, false);
      await h.api('PUT', '/devices/dev-b/tags', { tags: { site: 'west' }, reason: 'moved' });
      await page.locator('.vbody [data-key="dev-b"]').getByText('site=west').waitFor({ timeout: 10_000 });
      assert.equal(await page.getByTestId('live').textContent(), '● live');
      assert.equal(reopened, false);
    } finally {
      await ctx.close();
    }
  });
});
