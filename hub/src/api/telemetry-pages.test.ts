// GET /devices/{id}/windows and /events answer bounded pages (docs/hub.md "REST API"): 500 rows by
// default, at most 5,000 (5,001 is refused naming the bound), at most 8 MiB of stored JSON however large
// the rows, and a `next` cursor that reaches every row exactly once, oldest first (or newest first with
// `order=newest`); events past the
// 10,000 a single read used to stop at are reached too. `?since=` is a time, not text: the window at
// exactly `since` is in whether it is written with or without milliseconds or with an offset, on the two
// routes and on /models/{name}/totals. A real hub.db (and a real PostgreSQL), the real REST app.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeviceEvent, EventPage, ModelTotals, SeqWindow, WindowPage } from '@edgefleet/shared';
import { makeHarness, type Harness } from '../testing/harness.js';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { PAGE_CHARS } from '../store/telemetry-pages.js';

const T0 = Date.parse('2026-10-01T00:00:00.000Z');

/** A window of `model`; `bins` long histograms make it large. */
function win(seq: number, start: string, model = 'vib', bins = 3): SeqWindow {
  return {
    seq, model, version: '1.0.0', start, lengthSec: 60, count: 5, errors: {}, latency: { counts: [5], sumMs: 5 }, outputs: [], inputs: [],
    features: [{ kind: 'numeric', name: 'rms', hist: { counts: Array.from({ length: bins }, () => 1), under: 0, over: 0 }, moments: { n: 5, mean: 1, m2: 0, min: 1, max: 1 }, nulls: 0, nans: 0 }],
  };
}
const event = (seq: number, at: string): DeviceEvent => ({ seq, at, kind: 'download_started', message: `event ${seq}` });
/** Three windows at each minute, so pages split rows of one start. */
const minuteOf = (seq: number) => new Date(T0 + Math.floor((seq - 1) / 3) * 60_000).toISOString();

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

async function get<T>(h: Harness, path: string): Promise<{ status: number; body: T & { error?: { code: string; message: string } } }> {
  const r = await h.req('GET', `/api/v1${path}`, { role: 'viewer' });
  return { status: r.status, body: (await r.json()) as T & { error?: { code: string; message: string } } };
}

type Row = { seq: number; deviceId: string };

/** Every page of `path` from its first, following `next`: the rows and the size of each page. */
async function allPages(h: Harness, path: string, key: 'windows' | 'events'): Promise<{ rows: Row[]; sizes: number[] }> {
  const rows: Row[] = [];
  const sizes: number[] = [];
  let next: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const r: { status: number; body: { windows?: Row[]; events?: Row[]; next: string | null } } = await get(h, `${path}${next === null ? '' : `${sep}after=${encodeURIComponent(next)}`}`);
    assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
    const page = r.body[key] ?? [];
    rows.push(...page);
    sizes.push(page.length);
    next = r.body.next;
  } while (typeof next === 'string' && sizes.length < 100);
  return { rows, sizes };
}

function suite(): void {
  test('windows: 500 a page by default, 5,000 at most (5,001 refused), every window once by next, oldest first', async () => {
    const h = makeHarness({ database: backend.database() });
    try {
      for (const id of ['p-1', 'p-2']) h.store.devices.create(id, 'x'.repeat(32), {}, null, h.clock.now());
      const seqs = Array.from({ length: 5003 }, (_, i) => i + 1);
      // Stored newest first: the order is by start, then seq, not by arrival.
      h.store.telemetry.putWindows('p-1', [...seqs].reverse().map((s) => win(s, minuteOf(s))), h.clock.now());
      h.store.telemetry.putWindows('p-2', [win(1, minuteOf(1))], h.clock.now());

      const first = await get<WindowPage>(h, '/devices/p-1/windows');
      assert.equal(first.body.windows.length, 500);
      assert.equal(first.body.next, `${minuteOf(500)},500`);
      const full = await get<WindowPage>(h, '/devices/p-1/windows?limit=5000');
      assert.deepEqual(full.body.windows.map((w) => w.seq), seqs.slice(0, 5000));
      const rest = await get<WindowPage>(h, `/devices/p-1/windows?limit=5000&after=${encodeURIComponent(full.body.next ?? '')}`);
      assert.deepEqual([rest.body.windows.map((w) => w.seq), rest.body.next], [[5001, 5002, 5003], null]);

      const { rows, sizes } = await allPages(h, '/devices/p-1/windows?limit=700', 'windows');
      assert.deepEqual(rows.map((w) => w.seq), seqs, 'each window once, in (start, seq) order');
      assert.deepEqual(sizes, [700, 700, 700, 700, 700, 700, 700, 103]);
      assert.ok(rows.every((w) => w.deviceId === 'p-1'));
      // A filter holds on every page.
      assert.deepEqual((await allPages(h, '/devices/p-1/windows?model=other', 'windows')).rows, []);

      const over = await get<WindowPage>(h, '/devices/p-1/windows?limit=5001');
      assert.equal(over.status, 400);
      assert.match(over.body.error?.message ?? '', /limit "5001" \(query parameter limit\): expected a whole number from 1 to 5000/);
      for (const bad of ['17', 'yesterday,3', `${minuteOf(1)},-1`, `${minuteOf(1)},01`]) {
        const r = await get<WindowPage>(h, `/devices/p-1/windows?after=${encodeURIComponent(bad)}`);
        assert.equal(r.status, 400, bad);
        assert.match(r.body.error?.message ?? '', /after ".*" \(query parameter after\): expected the `next` of the page before/, bad);
      }
    } finally {
      h.close();
    }
  });

  test('windows: a page holds at most 8 MiB of stored windows, however few that is', async () => {
    const h = makeHarness({ database: backend.database() });
    try {
      h.store.devices.create('big', 'x'.repeat(32), {}, null, h.clock.now());
      const big = (s: number) => win(s, minuteOf(s), 'vib', 20_000);
      const { seq: _s, ...stored } = big(1);
      const size = JSON.stringify(stored).length; // every window the same size (its seq is a column)
      h.store.telemetry.putWindows('big', Array.from({ length: 300 }, (_, i) => big(i + 1)), h.clock.now());
      const fit = Math.floor(PAGE_CHARS / size);
      assert.ok(fit < 300 && fit > 1, `${fit} windows of ${size} characters in a page`);
      const { rows, sizes } = await allPages(h, '/devices/big/windows?limit=5000', 'windows');
      assert.deepEqual(sizes, Array.from({ length: Math.ceil(300 / fit) }, (_, i) => Math.min(fit, 300 - i * fit)));
      assert.equal(new Set(rows.map((w) => w.seq)).size, 300);
    } finally {
      h.close();
    }
  });

  test('events: pages of 500 by default and 5,000 at most reach all 10,050, past the 10,000 one read stopped at', async () => {
    const h = makeHarness({ database: backend.database() });
    try {
      h.store.devices.create('e-1', 'x'.repeat(32), {}, null, h.clock.now());
      const seqs = Array.from({ length: 10_050 }, (_, i) => i + 1);
      h.store.telemetry.putEvents('e-1', seqs.map((s) => event(s, minuteOf(s))), h.clock.now());
      const { rows, sizes } = await allPages(h, '/devices/e-1/events', 'events');
      assert.equal(sizes.length, 21);
      assert.deepEqual(rows.map((e) => e.seq), seqs);
      assert.deepEqual((await allPages(h, '/devices/e-1/events?limit=5000', 'events')).sizes, [5000, 5000, 50]);
      // Newest first: the latest 200 (the console's timeline), then older ones after its next.
      const latest = await get<EventPage>(h, '/devices/e-1/events?order=newest&limit=200');
      assert.deepEqual(latest.body.events.map((e) => e.seq), seqs.slice(-200).reverse());
      const older = await get<EventPage>(h, `/devices/e-1/events?order=newest&limit=200&after=${encodeURIComponent(latest.body.next ?? '')}`);
      assert.deepEqual(older.body.events.map((e) => e.seq), seqs.slice(-400, -200).reverse());
      assert.deepEqual((await allPages(h, '/devices/e-1/events?order=newest&limit=5000', 'events')).rows.map((e) => e.seq), [...seqs].reverse());
      assert.equal((await get<EventPage>(h, '/devices/e-1/events?order=latest')).status, 400);
      const over = await get<EventPage>(h, '/devices/e-1/events?limit=5001');
      assert.equal(over.status, 400);
      assert.match(over.body.error?.message ?? '', /expected a whole number from 1 to 5000/);
    } finally {
      h.close();
    }
  });

  test('?since= is a time: the row at exactly it is in, written without milliseconds or with an offset', async () => {
    const h = makeHarness({ database: backend.database() });
    try {
      h.store.devices.create('t-1', 'x'.repeat(32), {}, null, h.clock.now());
      const times = ['2026-10-01T00:04:59.999Z', '2026-10-01T00:05:00.000Z', '2026-10-01T00:05:00.001Z', '2026-10-01T01:00:00.000Z'];
      h.store.telemetry.putWindows('t-1', times.map((t, i) => win(i + 1, t, 'tb')), h.clock.now());
      h.store.telemetry.putEvents('t-1', times.map((t, i) => event(i + 11, t)), h.clock.now());
      for (const since of ['2026-10-01T00:05:00Z', '2026-10-01T00:05:00.000Z', '2026-10-01T02:05:00+02:00', '2026-09-30T23:35:00-00:30']) {
        const q = encodeURIComponent(since);
        assert.deepEqual((await get<WindowPage>(h, `/devices/t-1/windows?since=${q}`)).body.windows.map((w) => w.seq), [2, 3, 4], since);
        assert.deepEqual((await get<EventPage>(h, `/devices/t-1/events?since=${q}`)).body.events.map((e) => e.seq), [12, 13, 14], since);
        const totals = (await get<ModelTotals>(h, `/models/tb/totals?since=${q}`)).body;
        assert.deepEqual([totals.windows, totals.since], [3, '2026-10-01T00:05:00.000Z'], since);
      }
      assert.deepEqual((await get<WindowPage>(h, '/devices/t-1/windows?since=2026-10-01T00:05:00.001Z')).body.windows.map((w) => w.seq), [3, 4]);
      assert.equal((await get<WindowPage>(h, '/devices/t-1/windows?since=soon')).status, 400);
    } finally {
      h.close();
    }
  });
}
