// Console benchmark (issue 12): the web console as it ships (renderer bundle built by esbuild, served
// by a real hub process) in Debian's Chromium. The devices are rows written into the hub's database
// (they never connect: this measures the console and GET /devices, not the broker).
// Measured, each against a baseline from the same run:
//  - console ready (first contentful paint and the first device rows rendered, marked by the fleet
//    view) with 1,000 devices, vs the same page with 10 devices; the budget is < 1 s;
//  - with 10,000 devices: ready time, and table responsiveness: scrolling to a random place until its
//    rows are in the DOM (p95 of 30 jumps), and a search keystroke until the filtered rows show, vs the
//    same with 1,000 devices;
//  - the renderer's code against its budgets: what loads at start, and all of it with the other views' chunks
//    (test/src/console/bundle-size.ts; docs/console.md "Bundle size").
// Run: node --conditions=source --import tsx test/bench/console.bench.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Browser } from 'playwright-core';
import { makeFixture } from '@edgefleet/examples';
import { startHub } from '@edgefleet/examples/fleet';
import { buildRenderer, launchChromium } from '../src/console/helpers.js';
import { START_BUDGET, TOTAL_BUDGET, bundleSizes } from '../src/console/bundle-size.js';

const dir = mkdtempSync(join(tmpdir(), 'ef-bench-console-'));
await buildRenderer();
const fx = await makeFixture(join(dir, 'fx'));
const hub = await startHub({ dataDir: join(dir, 'hub'), trustPath: fx.trustPath, hubKeyPath: fx.keys.files.hub.keyPath });
let browser: Browser | null = null;
let failed = false;

const db = new Database(join(dir, 'hub', 'hub.db'));
let have = 0;
/** Grows the fleet to `n` devices (written straight into hub.db; the hub reads it per request). */
function fleetOf(n: number): void {
  const ins = db.prepare('INSERT INTO devices (id, secret_hash, tags, facts, created_at, last_seen, online) VALUES (?, ?, ?, ?, ?, ?, ?)');
  // The tag filter's rows too (hub/src/store/device-tags.ts), as DevicesRepo.create writes them.
  const tagIns = db.prepare('INSERT INTO device_tags (device_id, key, value) VALUES (?, ?, ?)');
  // And the search's (hub/src/store/device-search.ts: id and tags JSON in lower case, no versions; its triggers index it).
  const searchIns = db.prepare('INSERT INTO device_search (device_id, text) VALUES (?, ?)');
  const now = Date.now();
  db.transaction(() => {
    for (let i = have; i < n; i++) {
      const id = `bench-${String(i).padStart(5, '0')}`;
      const tags = { site: `site-${i % 20}`, ring: i % 10 === 0 ? 'canary' : 'main' };
      for (const [k, v] of Object.entries(tags)) tagIns.run(id, k, v);
      searchIns.run(id, `${id}\n${JSON.stringify(tags)}`);
      ins.run(id, 'x', JSON.stringify(tags),
        JSON.stringify({ os: 'linux', arch: 'arm64', cpus: 4, memoryMb: 2048, agentVersion: '0.1.0' }), new Date(now - 86400_000).toISOString(), new Date(now - (i % 600) * 1000).toISOString(), i % 3 === 0 ? 0 : 1);
    }
  })();
  have = n;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? NaN;
const ratio = (what: string, v: number, base: number, unit: string) => console.log(`${what}: ${v.toFixed(0)} ${unit} vs ${base.toFixed(0)} ${unit} = ${(v / base).toFixed(2)}x`);

async function measure(n: number): Promise<{ readyMs: number; scrollP95: number; searchMs: number }> {
  fleetOf(n);
  // bypassCSP: the measuring snippets are evaluated strings, which the console's CSP (rightly) refuses.
  const page = await browser!.newPage({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
  await page.addInitScript(`sessionStorage.setItem('edgefleet.token', ${JSON.stringify(hub.adminToken)})`);
  const readyOf = async () => {
    await page.goto('about:blank'); // a fresh document each time (a same-URL goto only changes the hash)
    await page.goto(`${hub.http}/#/fleet`);
    await page.waitForFunction("performance.getEntriesByName('edgefleet:devices-rendered').length > 0", null, { timeout: 30_000 });
    return page.evaluate<number>(`Math.max(
      performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? 0,
      performance.getEntriesByName('edgefleet:devices-rendered')[0]?.startTime ?? 0)`);
  };
  await readyOf(); // warm: the first load compiles the bundle
  const readies: number[] = [];
  for (let i = 0; i < 3; i++) readies.push(await readyOf());
  // In-page timing: set the scroll position (or type), then count frames until the rows are in the DOM.
  const untilRows = (act: string, done: string) => page.evaluate<number>(`(async () => {
    const t0 = performance.now();
    ${act};
    while (performance.now() - t0 < 5000) {
      await new Promise((r) => requestAnimationFrame(r));
      if (${done}) return performance.now() - t0;
    }
    return NaN;
  })()`);
  const scrolls: number[] = [];
  for (let i = 0; i < 30; i++) {
    // Among the rows the view holds: the first page (FLEET_PAGE, docs/decisions/0089-fleet-view-filtered-by-the-hub.md).
    const row = Math.floor((((i * 7919) % 1000) / 1000) * Math.min(n, 200));
    scrolls.push(await untilRows(`document.querySelector('.vbody').scrollTop = ${row * 32}`, `document.querySelector('[aria-rowindex="${row + 1}"]')`));
  }
  // The search is the hub's since decision 0089: this includes the 300 ms the view waits for typing to pause.
  const searchMs = await untilRows(
    "const input = document.querySelector('#fleet-search'); input.value = 'bench-000'; input.dispatchEvent(new Event('input', { bubbles: true }))",
    `document.querySelector('[data-testid="device-count"]')?.textContent?.startsWith('${Math.min(100, n)} of')`,
  );
  console.log(`  ${n} devices: ready ${Math.min(...readies).toFixed(0)} ms (of ${readies.map((r) => r.toFixed(0)).join(', ')}), scroll p95 ${pct(scrolls, 0.95).toFixed(1)} ms, search ${searchMs.toFixed(0)} ms`);
  await page.close();
  return { readyMs: Math.min(...readies), scrollP95: pct(scrolls, 0.95), searchMs };
}

try {
  browser = await launchChromium();
  const small = await measure(10);
  const k1 = await measure(1000);
  const k10 = await measure(10_000);
  ratio('console ready, 1,000 devices vs 10', k1.readyMs, small.readyMs, 'ms');
  ratio('console ready, 1,000 devices vs the 1 s budget', k1.readyMs, 1000, 'ms');
  ratio('console ready, 10,000 devices vs 1,000', k10.readyMs, k1.readyMs, 'ms');
  ratio('table scroll to a random row (p95 of 30), 10,000 devices vs 1,000', Math.max(1, k10.scrollP95), Math.max(1, k1.scrollP95), 'ms');
  ratio('search keystroke until filtered rows show, 10,000 devices vs 1,000', k10.searchMs, k1.searchMs, 'ms');
  const sizes = bundleSizes();
  ratio(`renderer code loaded at start (${sizes.startFiles.length} files) vs its ${START_BUDGET / 1024} KiB budget`, sizes.start / 1024, START_BUDGET / 1024, 'KiB');
  ratio(`renderer code in all (${sizes.files.length} files) vs its ${TOTAL_BUDGET / 1024} KiB budget`, sizes.total / 1024, TOTAL_BUDGET / 1024, 'KiB');
  if (k1.readyMs > 1000) { console.log('FAIL: console ready with 1,000 devices over 1 s'); failed = true; }
  if (sizes.start > START_BUDGET || sizes.total > TOTAL_BUDGET) { console.log('FAIL: renderer code over budget'); failed = true; }
} finally {
  await browser?.close();
  db.close();
  await hub.stop();
  rmSync(dir, { recursive: true, force: true });
}
if (failed) process.exit(1);
