// readPages follows `next` to the last page, stops once it holds maxRows (saying where it stopped) and
// on an empty page; pagePath adds `after` encoded, to a path with or without a query.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pagePath, readPages, type RowPage } from './pages.js';

/** 0..n-1 in pages of `size`; the cursor is the last row's number. */
function pager(n: number, size: number, asked: Array<string | null>) {
  return async (after: string | null): Promise<RowPage<number>> => {
    asked.push(after);
    const from = after === null ? 0 : Number(after) + 1;
    const rows = Array.from({ length: Math.max(0, Math.min(size, n - from)) }, (_, i) => from + i);
    return { rows, next: from + size < n ? String(from + size - 1) : null };
  };
}

test('readPages reads every page, or stops at maxRows with the cursor where it stopped', async () => {
  const asked: Array<string | null> = [];
  assert.deepEqual(await readPages(pager(7, 3, asked)), { rows: [0, 1, 2, 3, 4, 5, 6], next: null });
  assert.deepEqual(asked, [null, '2', '5']);
  assert.deepEqual(await readPages(pager(7, 3, []), 4), { rows: [0, 1, 2, 3, 4, 5], next: '5' });
  assert.deepEqual(await readPages(pager(0, 3, []), 4), { rows: [], next: null });
  assert.deepEqual(await readPages(async () => ({ rows: [], next: 'x' })), { rows: [], next: null }, 'an empty page ends it');
});

test('pagePath adds after, encoded', () => {
  assert.equal(pagePath('/devices/a/events', null), '/devices/a/events');
  assert.equal(pagePath('/devices/a/events', '2026-10-01T02:05:00.000+02:00,7'), '/devices/a/events?after=2026-10-01T02%3A05%3A00.000%2B02%3A00%2C7');
  assert.equal(pagePath('/devices/a/windows?model=m', 'x,1'), '/devices/a/windows?model=m&after=x%2C1');
});
