// GET /api/v1/models/{name}/totals over more windows than any one read takes: the real REST app served
// on 127.0.0.1:0 over a real hub.db holding 102,500 windows (more than the 100,000 a single read of
// windows returns). The totals count every stored window exactly, a second version stored after them
// still makes a version-less request 400, `?since=` bounds the windows, and the store hands them out in
// pages of bounded size, each window once (docs/hub.md "REST API").
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { ModelTotals, SeqWindow } from '@edgefleet/shared';
import { makeHarness, type Harness } from '../testing/harness.js';

const DEVICES = ['d-a', 'd-b', 'd-c', 'd-d'];
const PER_DEVICE = 25_625; // 102,500 windows in all
const T0 = Date.parse('2026-01-01T00:00:00.000Z');

/** A one-minute window; every device has one at each minute, so pages split rows of the same start. */
function win(seq: number, version: string, minute: number, count: number): SeqWindow {
  const bins = [count - (seq % 3), seq % 3, 0];
  return {
    seq, model: 'vib', version, start: new Date(T0 + minute * 60_000).toISOString(), lengthSec: 60, count,
    errors: seq % 10 === 0 ? { INFERENCE_FAILED: 1 } : {}, latency: { counts: [count], sumMs: count }, outputs: [], inputs: [],
    features: [{ kind: 'numeric', name: 'rms', hist: { counts: bins, under: 0, over: 0 }, moments: { n: count, mean: 1, m2: 0, min: 1, max: 1 }, nulls: 0, nans: 0 }],
  };
}
const countOf = (seq: number) => 1 + (seq % 7);

describe('model totals over a long history', () => {
  let h: Harness;
  let server: ReturnType<typeof serve>;
  let url: string;
  const get = async (query: string) => {
    const res = await fetch(`${url}/api/v1/models/vib/totals${query}`, { headers: { authorization: `Bearer ${h.tokens.viewer}` } });
    return { status: res.status, body: (await res.json()) as ModelTotals & { error?: { code: string; message: string } } };
  };

  before(async () => {
    h = makeHarness();
    for (const id of DEVICES) h.store.devices.create(id, 'x'.repeat(32), {}, null, h.clock.now());
    for (let from = 1; from <= PER_DEVICE; from += 5000) {
      const seqs = Array.from({ length: Math.min(5000, PER_DEVICE - from + 1) }, (_, i) => from + i);
      h.store.telemetry.putWindowsMany(DEVICES.map((deviceId) => ({ deviceId, windows: seqs.map((s) => win(s, '1.0.0', s - 1, countOf(s))) })), h.clock.now());
    }
    // Another version's window, newer than every 1.0.0 window.
    h.store.telemetry.putWindows('d-a', [win(PER_DEVICE + 1, '2.0.0', PER_DEVICE + 10, 5)], h.clock.now());
    server = serve({ fetch: h.app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
    h.close();
  });

  /** The exact sums of the 1.0.0 windows from seq `first` on, per device (as the devices would count them). */
  function expected(first: number) {
    let count = 0;
    let failed = 0;
    let second = 0;
    for (let s = first; s <= PER_DEVICE; s++) {
      count += countOf(s);
      failed += s % 10 === 0 ? 1 : 0;
      second += s % 3;
    }
    const n = DEVICES.length;
    return { windows: n * (PER_DEVICE - first + 1), count: n * count, errors: failed ? { INFERENCE_FAILED: n * failed } : {}, bins: [n * (count - second), n * second, 0] };
  }

  it('counts every stored window of the version, not the oldest 100,000', async () => {
    const want = expected(1);
    const { status, body } = await get('?version=1.0.0');
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(
      [body.windows, body.devices, body.count, body.latencyCount, body.errors, body.errorKinds.model, (body.features['rms'] as { counts: number[] }).counts],
      [want.windows, DEVICES.length, want.count, want.count, want.errors, want.errors.INFERENCE_FAILED, want.bins],
    );
  });

  it('without ?version= refuses windows of two versions, also when the second is stored after the first 100,000', async () => {
    const { status, body } = await get('');
    assert.equal(status, 400, JSON.stringify(body).slice(0, 200));
    assert.equal(body.error?.message, 'model "vib" has windows of versions 1.0.0, 2.0.0: add ?version=');
  });

  it('?since= counts the windows starting at or after it', async () => {
    const first = PER_DEVICE - 1234;
    const want = expected(first);
    const { body } = await get(`?version=1.0.0&since=${new Date(T0 + (first - 1) * 60_000).toISOString()}`);
    assert.deepEqual([body.windows, body.count], [want.windows, want.count]);
  });

  it('the store reads the windows in pages of bounded size, each window exactly once', () => {
    const seen = new Set<string>();
    let pages = 0;
    for (const page of h.store.telemetry.windowPages({ model: 'vib', version: '1.0.0' }, 999)) {
      pages++;
      assert.ok(page.length <= 999, `a page of ${page.length}`);
      for (const w of page) seen.add(`${w.deviceId}/${w.seq}`);
    }
    assert.deepEqual([seen.size, pages], [DEVICES.length * PER_DEVICE, Math.ceil((DEVICES.length * PER_DEVICE) / 999)]);
  });
});
