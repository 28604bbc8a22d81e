// The console's captures view in a real Chromium against a real hub (docs/console.md): the operator
// sees each capture's state and, on one capture, its devices; stops a running capture and purges the
// stopped one's chunks, each with a reason, the state following without a reload; a viewer sees the
// captures and no action. A stop another operator sent first is refused (CONFLICT) in the form, which says why it
// no longer applies, and the page shows the capture stopped, offering the purge. A capture whose read fails says why
// (the hub's code and message) with Retry.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMultiBundle } from '@edgefleet/examples';
import { newCaptureKeyFile, type Capture } from '@edgefleet/shared';
import { signIn } from './helpers.js';
import { startSmallHub, type SmallHub } from './small-hub.js';

describe('console: captures view', () => {
  let h: SmallHub;
  let dir: string;
  let capture: Capture;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-console-captures-'));
    h = await startSmallHub('ef-console-captures-hub-', ['dev-a', 'dev-b'], { capture: { publicKey: newCaptureKeyFile().public } });
    const b = await buildMultiBundle({ dir: join(dir, 'bundle'), keys: h.keys, version: '1.0.0' });
    await h.api('POST', '/models', new Uint8Array(readFileSync(b.path)));
    capture = await h.api<Capture>('POST', '/captures', { model: 'audio-energy', target: { tags: { site: 'north' } }, rate: 0.5, maxRows: 100, durationSec: 3600, reason: 'summer rows for the retrain' });
  });
  after(async () => {
    await h?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an operator stops a capture and purges its chunks; the view follows', async () => {
    const page = await signIn(h.browser, h.http, h.token);
    await page.keyboard.press('8');
    const row = page.locator(`tr[data-capture="${capture.id}"]`);
    await row.getByText('capturing').waitFor();
    await row.getByRole('link', { name: String(capture.id) }).click();
    const detail = page.getByTestId('capture-detail');
    await detail.getByRole('table', { name: 'Capture devices' }).getByText('dev-b').waitFor();
    assert.equal(await detail.getByRole('button', { name: 'Purge chunks' }).count(), 0, 'a running capture is stopped first');

    await detail.getByRole('button', { name: 'Stop capture' }).click();
    const stop = detail.getByRole('form', { name: 'Stop capture' });
    await stop.getByRole('button', { name: 'Stop capture' }).click();
    await stop.getByText('a reason is required').waitFor();
    await stop.getByLabel('Reason').fill('enough rows');
    await stop.getByRole('button', { name: 'Stop capture' }).click();
    await detail.getByTestId('capture-state').filter({ hasText: 'stopped' }).waitFor();
    await row.getByText('stopped').waitFor();

    await detail.getByRole('button', { name: 'Purge chunks' }).click();
    const purge = detail.getByRole('form', { name: 'Purge chunks' });
    await purge.getByLabel('Reason').fill('fetched into the training set');
    await purge.getByRole('button', { name: 'Purge chunks' }).click();
    await detail.getByTestId('capture-state').filter({ hasText: 'purged' }).waitFor();
    assert.match(await detail.getByTestId('capture-purged').textContent() ?? '', /by admin: fetched into the training set \(0 bytes deleted\)/);
    await row.getByText('purged').waitFor();
    assert.equal(await detail.locator('[aria-label="Capture actions"]').getByRole('button').count(), 0, 'nothing left to do');
    assert.deepEqual(await detail.locator('[aria-label="Capture actions"]').getByRole('status').allTextContents(), ['stopped', 'purged'], 'the answers stay');
    const stored = await h.api<Capture>('GET', `/captures/${capture.id}`);
    assert.deepEqual([stored.stopped?.reason, stored.purged?.reason], ['enough rows', 'fetched into the training set']);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a viewer sees the captures and no action; a capture whose read fails says why with Retry', async () => {
    const viewer = await h.api<{ token: string }>('POST', '/tokens', { name: 'captures-viewer', role: 'viewer' });
    const other = await h.api<Capture>('POST', '/captures', { model: 'audio-energy', target: { devices: ['dev-a'] }, rate: 1, maxRows: 10, durationSec: 3600, reason: 'a second one' });
    const page = await signIn(h.browser, h.http, viewer.token);
    await page.keyboard.press('8');
    const read = (u: URL) => u.pathname === `/api/v1/captures/${other.id}`;
    await page.route(read, (r) => r.fulfill({ status: 503, json: { error: { code: 'DATABASE_UNAVAILABLE', message: 'the database is not reachable' } } }));
    await page.locator(`tr[data-capture="${other.id}"]`).getByRole('link', { name: String(other.id) }).click();
    const box = page.getByRole('alert').filter({ hasText: `could not load capture ${other.id}: DATABASE_UNAVAILABLE: the database is not reachable` });
    await box.waitFor();
    await page.unroute(read);
    await box.getByRole('button', { name: 'Retry' }).click();
    await page.getByTestId('capture-detail').getByTestId('capture-state').filter({ hasText: 'capturing' }).waitFor();
    for (const action of ['Stop capture', 'Purge chunks']) assert.equal(await page.getByRole('button', { name: action }).count(), 0, `a viewer must not see ${action}`);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a stop another operator sent first: the hub\'s CONFLICT in the form, the capture shown stopped', async () => {
    const mine = await h.api<Capture>('POST', '/captures', { model: 'audio-energy', target: { devices: ['dev-b'] }, rate: 1, maxRows: 10, durationSec: 3600, reason: 'a third one' });
    const page = await signIn(h.browser, h.http, h.token);
    await page.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, `#/captures/${mine.id}`);
    const detail = page.getByTestId('capture-detail');
    await detail.getByRole('button', { name: 'Stop capture' }).click();
    const stop = detail.getByRole('form', { name: 'Stop capture' });
    await stop.getByLabel('Reason').fill('mine');
    const other = await h.api<Capture>('DELETE', `/captures/${mine.id}?reason=${encodeURIComponent('the other operator')}`);
    await stop.getByRole('button', { name: 'Stop capture' }).click();
    await stop.getByRole('status').filter({ hasText: /^CONFLICT: capture \d+ was already stopped/ }).waitFor();
    await detail.getByTestId('capture-state').filter({ hasText: 'stopped' }).waitFor();
    assert.equal(await stop.getByTestId('action-gone').textContent(), `Stop capture: not sent: capture ${mine.id} was stopped by admin at ${other.stopped?.at.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC')}: the other operator`);
    assert.equal(await stop.getByLabel('Reason').inputValue(), 'mine');
    await stop.getByRole('button', { name: 'Cancel' }).click();
    await detail.getByRole('button', { name: 'Purge chunks' }).waitFor();
    await page.locator(`tr[data-capture="${mine.id}"]`).getByText('stopped').waitFor();
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
