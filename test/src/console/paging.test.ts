// The console's paged lists (deployments, rollouts, captures: newest first, 100 a page; docs/console.md)
// in a real Chromium against a real hub: after "Show older" loaded an older page, a refresh of the list
// (a live event for deployments and rollouts, a stop from a capture's page for captures) shows the new
// newest rows and keeps the older rows the operator loaded, with the "Show older" cursor unchanged; so
// does opening a rollout or capture of an older page. The records are made over the hub's REST API
// before the page opens.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Locator } from 'playwright-core';
import { buildMultiBundle } from '@edgefleet/examples';
import { newCaptureKeyFile, type Capture, type Deployment, type Rollout } from '@edgefleet/shared';
import { signIn, type ConsolePage } from './helpers.js';
import { startSmallHub, type SmallHub } from './small-hub.js';

const PAGE = 100;

describe('console: paged lists keep the older pages loaded', () => {
  let h: SmallHub;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-console-paging-'));
    h = await startSmallHub('ef-console-paging-hub-', ['dev-a', 'dev-b'], { capture: { publicKey: newCaptureKeyFile().public } });
    const b = await buildMultiBundle({ dir: join(dir, 'bundle'), keys: h.keys, version: '1.0.0' });
    await h.api('POST', '/models', new Uint8Array(readFileSync(b.path)));
  });
  after(async () => {
    await h?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const live = async (page: ConsolePage) => page.getByTestId('live').filter({ hasText: 'live' }).waitFor();
  /** Waits until `table` shows `n` rows (and no more). */
  const rows = async (table: Locator, n: number) => {
    await table.locator('tbody tr').nth(n - 1).waitFor();
    assert.equal(await table.locator('tbody tr').count(), n);
  };
  const deploy = (reason: string) => h.api<Deployment>('POST', '/deployments', { model: 'audio-energy', version: '1.0.0', target: { devices: ['dev-a'] }, reason });

  it('deployments: a live event after "Show older" keeps the older rows and the cursor', async () => {
    // Two pages and one more: the third page holds deployment 1 alone.
    for (let i = 1; i <= 2 * PAGE + 1; i++) await deploy(`paging ${i}`);
    const page = await signIn(h.browser, h.http, h.token);
    await live(page);
    await page.keyboard.press('3');
    const table = page.getByRole('table', { name: 'Deployments' });
    const older = page.getByRole('status', { name: 'Older deployments' });
    await rows(table, PAGE);
    await older.getByRole('button', { name: 'Show older' }).click();
    await rows(table, 2 * PAGE);

    const newest = await deploy('after show older'); // its audit entry reaches the page live
    await table.getByRole('link', { name: String(newest.id), exact: true }).waitFor();
    await rows(table, 2 * PAGE + 1);
    assert.equal(await table.locator('tbody tr').last().getByRole('link').textContent(), '2', 'the older page is still shown');
    await older.getByRole('button', { name: 'Show older' }).click(); // the cursor still points below deployment 2
    await rows(table, 2 * PAGE + 2);
    assert.equal(await table.locator('tbody tr').last().getByRole('link').textContent(), '1');
    assert.equal(await older.count(), 0, 'nothing older left');
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('rollouts: a live rollout event after "Show older" keeps the older rows', async () => {
    const start = async (reason: string) => {
      // A tag no device has: a rollout over dev-b would be refused once dev-b is given 1.0.0 (nothing to roll out).
      const r = await h.api<Rollout>('POST', '/rollouts', { model: 'audio-energy', version: '1.0.0', target: { tags: { ring: 'paging' } }, waves: [{ name: 'all', percent: 100, bakeSec: 0 }], reason });
      await h.api('POST', `/rollouts/${r.id}/abort`, { reason: 'paging test' });
      return r;
    };
    const first = await start('the oldest');
    for (let i = 2; i <= PAGE + 1; i++) await start(`paging ${i}`);
    const page = await signIn(h.browser, h.http, h.token);
    await live(page);
    await page.keyboard.press('5');
    const table = page.getByRole('table', { name: 'Rollouts' });
    await rows(table, PAGE);
    await page.getByRole('status', { name: 'Older rollouts' }).getByRole('button', { name: 'Show older' }).click();
    await rows(table, PAGE + 1);
    assert.equal(await table.locator('tbody tr').last().getAttribute('data-rollout'), first.id);

    const newest = await start('after show older'); // its `rollout` events reach the page live
    await table.locator(`tr[data-rollout="${newest.id}"]`).waitFor();
    await rows(table, PAGE + 2);
    assert.equal(await table.locator('tbody tr').last().getAttribute('data-rollout'), first.id, 'the older page is still shown');
    // Opening a rollout of the older page keeps the list as it was (the address changes, the view stays).
    await table.locator(`tr[data-rollout="${first.id}"]`).getByRole('link').click();
    await page.getByTestId('rollout-detail').getByText('the oldest').first().waitFor();
    await table.locator(`tr[data-rollout="${first.id}"].selected`).waitFor();
    await rows(table, PAGE + 2);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('captures: stopping an older capture from its page keeps it in the list', async () => {
    const open = (target: { devices: string[] }, reason: string) => h.api<Capture>('POST', '/captures', { model: 'audio-energy', target, rate: 0.5, maxRows: 10, durationSec: 3600, reason });
    const oldest = await open({ devices: ['dev-b'] }, 'the oldest one');
    for (let i = 2; i <= PAGE + 1; i++) {
      const c = await open({ devices: ['dev-a'] }, `paging ${i}`);
      await h.api('DELETE', `/captures/${c.id}?reason=paging`);
    }
    const page = await signIn(h.browser, h.http, h.token);
    await page.keyboard.press('8');
    const table = page.getByRole('table', { name: 'Captures' });
    await rows(table, PAGE);
    await page.getByRole('status', { name: 'Older captures' }).getByRole('button', { name: 'Show older' }).click();
    const row = table.locator(`tr[data-capture="${oldest.id}"]`);
    await row.getByText('capturing').waitFor();
    await row.getByRole('link', { name: String(oldest.id), exact: true }).click();
    const detail = page.getByTestId('capture-detail');
    await detail.getByRole('button', { name: 'Stop capture' }).click();
    const stop = detail.getByRole('form', { name: 'Stop capture' });
    await stop.getByLabel('Reason').fill('enough rows');
    await stop.getByRole('button', { name: 'Stop capture' }).click();
    await detail.getByTestId('capture-state').filter({ hasText: 'stopped' }).waitFor();
    await row.getByText('stopped').waitFor(); // the list fetched again, the older row kept
    await rows(table, PAGE + 1);
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
