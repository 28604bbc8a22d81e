// The audit view's filters in a real Chromium against a real hub (docs/console.md, Audit log): Since is
// a date and time field read as UTC (the page runs at UTC+05:30, so a local reading would be off by
// 5.5 hours), the filters are kept in the address (a reload and the back button keep them), an address
// whose since is not a time and a field half filled in are refused in the page, naming the field and
// what it expects, without asking the hub.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@edgefleet/examples';
import type { AuditList } from '@edgefleet/shared';
import { signIn } from './helpers.js';
import { startSmallHub, type SmallHub } from './small-hub.js';

describe('console: audit filters', () => {
  let h: SmallHub;
  let cut = '';
  before(async () => {
    h = await startSmallHub('ef-console-audit-', ['dev-a', 'dev-b']);
    await h.api('PUT', '/devices/dev-a/tags', { tags: { site: 'south' }, reason: 'before the cut' });
    // The next whole second after that entry: entries from then on are "since" it.
    const first = (await h.api<AuditList>('GET', '/audit?order=desc&limit=1')).entries[0]!;
    cut = new Date(Math.floor(Date.parse(first.at) / 1000) * 1000 + 1000).toISOString();
    await waitFor('the hub clock past the cut', () => Date.now() > Date.parse(cut) + 50, { timeoutMs: 5_000 });
    await h.api('PUT', '/devices/dev-b/tags', { tags: { site: 'east' }, reason: 'after the cut' });
  });
  after(() => h?.stop());

  it('since is UTC, kept in the address with the other filters, through a reload and back', async () => {
    const page = await signIn(h.browser, h.http, h.token, { timezoneId: 'Asia/Kolkata' });
    await page.keyboard.press('4');
    const rows = page.getByLabel('Audit entries').locator('tbody tr');
    await page.getByLabel('Audit entries').getByText('before the cut').waitFor();
    const since = page.getByLabel('Since (UTC)');
    await since.fill(cut.slice(0, 19)); // the field's own form, YYYY-MM-DDTHH:MM:SS
    // What the field shows for it: Chromium leaves out seconds that are zero (a cut at 15:07:00 reads
    // "15:07"), so this test, run at any second, expects the browser's form of the same time.
    const shown = cut.slice(0, 19).replace(/:00$/, '');
    await page.getByLabel('Action').fill('device.tags');
    await page.getByRole('button', { name: 'Filter' }).click();
    await waitFor('filtered', async () => (await rows.count()) === 1);
    assert.match(await rows.first().textContent() ?? '', /after the cut/);
    const url = new URL(page.url());
    assert.deepEqual(Object.fromEntries(new URLSearchParams(url.hash.replace(/^#\/audit\?/, ''))), { action: 'device.tags', since: cut.replace('.000Z', 'Z') });
    await page.reload();
    await page.getByLabel('Audit entries').getByText('after the cut').waitFor();
    assert.equal(await rows.count(), 1, 'the reload keeps the filters');
    assert.equal(await since.inputValue(), shown);
    assert.equal(await page.getByLabel('Action').inputValue(), 'device.tags');
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByLabel('Audit entries').getByText('before the cut').waitFor();
    assert.equal(new URL(page.url()).hash, '#/audit');
    await page.goBack();
    await waitFor('back to the filtered log', async () => (await rows.count()) === 1 && (await since.inputValue()) === shown);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a since that is not a time, in the address or half typed, is refused in the page', async () => {
    const page = await signIn(h.browser, h.http, h.token);
    const asked: string[] = [];
    page.on('request', (r) => { if (r.url().includes('/api/v1/audit')) asked.push(r.url()); });
    await page.goto(`${h.http}/#/audit?since=yesterday`);
    const error = page.getByTestId('since-error');
    assert.equal(await error.textContent(), 'since "yesterday": expected a date and time in UTC between 1970-01-01 00:00 and 9999-12-31 23:59:59, such as 2026-12-01 09:30');
    await page.getByText('Nothing is shown until Since holds a date and time.').waitFor();
    assert.equal(await page.getByLabel('Since (UTC)').getAttribute('aria-invalid'), 'true');
    assert.deepEqual(asked, [], 'the hub was not asked');

    await page.goto(`${h.http}/#/audit`);
    await page.getByLabel('Audit entries').getByText('after the cut').waitFor();
    const since = page.getByLabel('Since (UTC)');
    await since.fill('2026-12-01T09:30');
    await since.focus();
    await page.keyboard.press('Backspace'); // clears the focused part (the month): no whole value left
    assert.equal(await since.inputValue(), '');
    const n = asked.length;
    await page.getByRole('button', { name: 'Filter' }).click();
    await error.filter({ hasText: /^Since: expected a date and time in UTC between .*, or nothing$/ }).waitFor();
    assert.equal(new URL(page.url()).hash, '#/audit', 'the address is unchanged');
    assert.equal(asked.length, n, 'the hub was not asked');
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
