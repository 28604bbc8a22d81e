// Shared by the console's browser tests and benchmark: build the renderer (esbuild, ~1 s), and launch
// Debian's Chromium through playwright-core (never a downloaded browser) with the flags a shared,
// headless CI machine needs. Screenshots go to .data/screenshots/console (gitignored).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot, runCli, waitFor } from '@edgefleet/examples';
import { bundleSizes } from './bundle-size.js';

export const CHROMIUM = process.env['EDGEFLEET_CHROMIUM'] ?? '/usr/bin/chromium';
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

/**
 * Builds desktop/dist/renderer (atomically replaced, so a running hub never serves half a build), unless
 * the test runner built it for the whole run (scripts/test.mjs sets EDGEFLEET_RENDERER_BUILT): test files
 * run side by side, and one rebuilding it while another's hub serves it left that page without a script.
 */
export async function buildRenderer(): Promise<void> {
  if (process.env['EDGEFLEET_RENDERER_BUILT'] === '1') return;
  const r = await runCli(join(repoRoot(), 'desktop', 'scripts', 'build-renderer.mjs'), ['--quiet']);
  if (r.code !== 0) throw new Error(`renderer build failed: ${r.stderr}`);
}

/** Debian's Chromium; its close() first drops every open page's routes (see dropRoutes). */
export async function launchChromium(): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true });
  const close = browser.close.bind(browser);
  browser.close = async (options) => {
    await Promise.all(browser.contexts().flatMap((c) => c.pages()).map(dropRoutes));
    await close(options);
  };
  return browser;
}

/**
 * Drops `page`'s routes, and with them any error its handlers throw from now on. A handler still at work when its
 * page closes (one that read a route.fetch() answer after the console had moved on) otherwise rejects with
 * "Response has been disposed" after its test ended, and node:test fails the whole file for it.
 */
export async function dropRoutes(page: Page): Promise<void> {
  await page.unrouteAll({ behavior: 'ignoreErrors' }).catch(() => undefined);
}

export function screenshotDir(): string {
  const dir = join(repoRoot(), '.data', 'screenshots', 'console');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A page collecting uncaught errors and CSP violations in `errors`. */
export type ConsolePage = Page & { errors: string[] };

/**
 * Opens the console at `url` (1280×800, dark, in `timezoneId` if given) and signs in with `token`; resolves once the
 * fleet view shows and the other views' code is in (unless `allViews` is false). `prepare` runs on the page before it loads (routes that edit the hub's answers: every request
 * of the page goes through them, none was sent before, and no reload is needed).
 */
export async function signIn(browser: Browser, url: string, token: string, opts: { timezoneId?: string; prepare?: (page: Page) => Promise<unknown>; allViews?: boolean } = {}): Promise<ConsolePage> {
  const { prepare, allViews = true, ...context } = opts;
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme: 'dark', ...context }) as ConsolePage;
  const close = page.close.bind(page);
  page.close = async (options) => {
    await dropRoutes(page);
    await close(options);
  };
  await prepare?.(page);
  const fetched = new Set<string>();
  page.on('requestfinished', (r) => fetched.add(new URL(r.url()).pathname.replace('/assets/', '')));
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error' && /Content Security Policy|Refused/.test(m.text())) page.errors.push(m.text()); });
  await page.goto(url);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Fleet', exact: true }).waitFor();
  // The other views' code, fetched once the fleet is drawn (desktop/src/renderer/ui/lazy.tsx), all in, as it is
  // a moment after a sign-in: a test that then takes the hub away still opens any view.
  const { files } = bundleSizes();
  if (allViews) await waitFor('every view\'s code fetched', () => files.every((f) => fetched.has(f)), { timeoutMs: 30_000 });
  return page;
}
