// A version's request rate over the time it reported windows (docs/decisions/0117-rate-over-reported-span.md,
// docs/drift.md "Metrics"): a real hub (harness store on SQLite, then on PostgreSQL) with the embedded
// aedes broker on 127.0.0.1:0; two devices start sending windows of vib 1.0.0 in the last 15 minutes of
// a 6-hour range. The metrics API's `activeThroughput` is their rate (not 1/24 of it, as `throughput`
// is), per device and for the fleet; rows stored before the span was recorded read their whole hour;
// `edgefleet metrics` prints the rate as REQ/S.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { emptyLatency, type MetricsResponse, type SeqWindow } from '@edgefleet/shared';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { cliOver } from '../testing/cli.js';
import { startVibIngestHub, type IngestHub } from '../ingest/testing.js';

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
  let hub: IngestHub;
  before(async () => {
    hub = await startVibIngestHub('ef-active-rate-', ['dev-a', 'dev-b'], backend.database());
  });
  after(() => hub.stop());

  /** `n` one-minute windows from `fromMin` minutes before now, `perWindow` requests each (latency samples). */
  const windows = (fromMin: number, n: number, perWindow: number): SeqWindow[] => {
    const now = hub.h.clock.now().getTime();
    return Array.from({ length: n }, (_, i) => {
      const latency = emptyLatency();
      latency.counts[40] = perWindow;
      const start = new Date(now - (fromMin - i) * 60_000).toISOString();
      return { seq: i + 1, model: 'vib', version: '1.0.0', start, lengthSec: 60, count: perWindow, errors: {}, latency: { ...latency, sumMs: perWindow }, features: [], outputs: [], inputs: [] };
    });
  };
  const since = () => new Date(hub.h.clock.now().getTime() - 6 * 3600_000).toISOString();
  const metrics = async (by?: string): Promise<MetricsResponse> => {
    const r = await hub.h.req('GET', `/api/v1/models/vib/versions/1.0.0/metrics?since=${since()}${by ? `&by=${by}` : ''}`, { role: 'viewer' });
    assert.equal(r.status, 200, await r.clone().text());
    return (await r.json()) as MetricsResponse;
  };

  it('the rate is over the time the version reported, per device and for the fleet', async () => {
    // The clock is on the hour (12:00): dev-a from 11:45 to 12:00 at 1 request/s, dev-b from 11:50 to 11:55 at 2/s.
    await hub.send('dev-a', windows(15, 15, 60));
    await hub.send('dev-b', windows(10, 5, 120));
    const all = (await metrics()).groups[0]!;
    assert.equal(all.key, 'all');
    assert.equal(all.latency.count, 1500);
    assert.equal(all.activeSec, 900, '11:45 (the first window) to 12:00 (the last one\'s end)');
    assert.equal(all.activeThroughput, 1500 / 900);
    assert.equal(all.throughput, 1500 / (6 * 3600), 'throughput keeps its meaning: over the range');
    const byDevice = Object.fromEntries((await metrics('device')).groups.map((g) => [g.key, [g.activeSec, g.activeThroughput]]));
    assert.deepEqual(byDevice, { 'dev-a': [900, 1], 'dev-b': [300, 2] });
  });

  it('edgefleet metrics prints the rate over the reported time as REQ/S', async () => {
    const cli = await cliOver(hub.h.app, hub.h.tokens.viewer, hub.h.dir);
    try {
      const r = await cli.run('metrics', 'vib', '1.0.0', '--by', 'device', '--since', since(), '--until', hub.h.clock.now().toISOString());
      assert.equal(r.code, 0, r.err);
      const rows = r.out.trim().split('\n').slice(1).map((l) => l.split(/\s{2,}/));
      const col = (rows[0] as string[]).indexOf('REQ/S');
      assert.deepEqual(rows.slice(1).map((c) => [c[0], c[col]]), [['dev-a', '1.00'], ['dev-b', '2.00']]);
    } finally {
      cli.close();
    }
  });

  it('rollups stored before the span was recorded read their whole hour', async () => {
    hub.h.store.db.prepare('UPDATE rollups SET first_ms = NULL, last_ms = NULL, active_ms = NULL').run();
    hub.h.store.db.prepare('DELETE FROM rollup_fleet').run();
    const byDevice = Object.fromEntries((await metrics('device')).groups.map((g) => [g.key, g.activeSec]));
    assert.deepEqual(byDevice, { 'dev-a': 3600, 'dev-b': 3600 }, 'the hour 11:00-12:00, up to now');
    // New windows in the next hour widen it from the stored row's span.
    hub.h.clock.advance(10 * 60_000);
    await hub.send('dev-a', windows(5, 5, 60).map((w, i) => ({ ...w, seq: 100 + i })));
    const all = (await metrics()).groups[0]!;
    assert.equal(all.activeSec, 3600 + 600, '11:00 to 12:10');
    assert.equal(all.activeThroughput, 1800 / 4200);
  });
  it('a gap between windows (the box offline or idle) is not counted', async () => {
    // 12:10 -> 14:00; the hour 13:00-14:00. dev-a at 1 request/s from 13:00 to 13:10 and from 13:40 to
    // 13:50 (offline between), dev-b at 2/s from 13:20 to 13:30.
    hub.h.clock.advance(110 * 60_000);
    const at = (fromMin: number, n: number, perWindow: number, seq: number) => windows(fromMin, n, perWindow).map((w, i) => ({ ...w, seq: seq + i }));
    await hub.send('dev-a', [...at(60, 10, 60, 200), ...at(20, 10, 60, 300)]);
    await hub.send('dev-b', at(40, 10, 120, 200));
    const hour = `since=${new Date(hub.h.clock.now().getTime() - 3600_000).toISOString()}`;
    const read = async (by: string): Promise<MetricsResponse['groups']> => {
      const r = await hub.h.req('GET', `/api/v1/models/vib/versions/1.0.0/metrics?${hour}${by}`, { role: 'viewer' });
      assert.equal(r.status, 200, await r.clone().text());
      return ((await r.json()) as MetricsResponse).groups;
    };
    const byDevice = Object.fromEntries((await read('&by=device')).map((g) => [g.key, [g.latency.count, g.activeSec, g.activeThroughput]]));
    assert.deepEqual(byDevice, { 'dev-a': [1200, 1200, 1], 'dev-b': [1200, 600, 2] }, 'dev-a served 20 minutes, not the 50 from 13:00 to 13:50');
    const all = (await read(''))[0]!;
    assert.deepEqual([all.latency.count, all.activeSec, all.activeThroughput], [2400, 1800, 2400 / 1800], 'the fleet: 30 minutes of windows, not 50 of span');
  });
}
