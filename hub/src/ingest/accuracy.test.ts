// Labels and CBPE through the hub (docs/drift.md "Accuracy"): two devices on the embedded aedes broker
// (127.0.0.1, port 0) send windows of the example classifier (a real signed bundle whose manifest names
// its task) with label counts, confusion counts and confidence sums; ingest checks and stores them,
// rollups merge them across devices, the metrics API returns accuracy per group (observed and CBPE's
// expected), a window with impossible counts is acked but refused and counted nowhere, and an
// `accuracy` alert rule fires below its threshold with a stored drift report.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildExampleBundle, makeKeys, makeTrust } from '@edgefleet/examples';
import { emptyLatency, type Alert, type FeedbackCounts, type MetricsResponse } from '@edgefleet/shared';
import { Alerts } from '../alerts/service.js';
import { noopLogger } from '../mqtt/ports.js';
import type { Harness } from '../testing/harness.js';
import type { Parts } from '../testing/parts.js';
import { startIngestHub, type IngestHub } from './testing.js';

const MODEL = 'vibration-anomaly';
let root: string;

describe('accuracy and CBPE: ingest, rollups, metrics, alerts', () => {
  let hub: IngestHub;
  let h: Harness;
  let parts: Parts;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'ef-accuracy-'));
    const keys = makeKeys(join(root, 'keys'));
    const trust = makeTrust(root, keys).body;
    const bundle = await buildExampleBundle({ dir: join(root, 'bundles'), version: '1.0.0', keys });
    hub = await startIngestHub({ bundle, trust, keys, devices: { 'dev-a': { site: 'north' }, 'dev-b': { site: 'south' } } });
    ({ h, parts } = hub);
  });
  after(async () => {
    await hub.stop();
    rmSync(root, { recursive: true, force: true });
  });

  /** Publishes windows as the device and waits for the hub's ack of every seq. */
  async function send(id: string, windows: Array<{ seq: number; minutesAgo: number; count: number; feedback?: FeedbackCounts; confidence?: { n: number; sum: number } }>) {
    const now = h.clock.now().getTime();
    await hub.send(id, windows.map((w) => {
      const latency = emptyLatency();
      latency.counts[40] = w.count; // 1 ms each: bucket 40 holds samples of up to 10.24 ms
      const start = new Date(Math.floor((now - w.minutesAgo * 60_000) / 60_000) * 60_000).toISOString();
      return { seq: w.seq, model: MODEL, version: '1.0.0', start, lengthSec: 60, count: w.count, errors: {}, latency: { ...latency, sumMs: w.count }, features: [], outputs: [], inputs: [], ...(w.feedback ? { feedback: w.feedback } : {}), ...(w.confidence ? { confidence: w.confidence } : {}) };
    }));
  }

  const metrics = async (by?: string): Promise<MetricsResponse> => {
    const r = await h.req('GET', `/api/v1/models/${MODEL}/versions/1.0.0/metrics?since=${new Date(h.clock.now().getTime() - 3 * 3600_000).toISOString()}${by ? `&by=${by}` : ''}`, { role: 'viewer' });
    assert.equal(r.status, 200, await r.clone().text());
    return (await r.json()) as MetricsResponse;
  };

  it('merges label, confusion and confidence counts across devices; refuses impossible counts', async () => {
    // dev-a: 60 labels, 45 right; dev-b: 40 labels, 35 right, over two windows (the second only labels, no predictions).
    await send('dev-a', [{ seq: 1, minutesAgo: 50, count: 100, feedback: { labelled: 60, correct: 45, confusion: [30, 5, 10, 15] }, confidence: { n: 100, sum: 85 } }]);
    await send('dev-b', [
      { seq: 1, minutesAgo: 40, count: 100, feedback: { labelled: 30, correct: 27, confusion: [15, 1, 2, 12] }, confidence: { n: 100, sum: 90 } },
      { seq: 2, minutesAgo: 30, count: 0, feedback: { labelled: 10, correct: 8, confusion: [5, 1, 1, 3] } },
      // impossible: more right than labelled; and a confusion matrix that does not sum to the labels
      { seq: 3, minutesAgo: 20, count: 10, feedback: { labelled: 40, correct: 50 } },
      { seq: 4, minutesAgo: 20, count: 10, feedback: { labelled: 4, correct: 1, confusion: [1, 0, 0, 1] } },
    ]);
    assert.deepEqual(h.store.telemetry.countFor('dev-b'), { windows: 2, events: 0 }, 'the impossible windows are not stored');
    assert.equal(parts.ingest.guard.refusals('dev-b')?.windows.inconsistent_counts, 2);

    const all = (await metrics()).groups[0]!;
    assert.equal(all.predictions, 200);
    assert.deepEqual(all.accuracy, {
      labelled: 100, correct: 80, observed: 0.8, expected: 0.875, confidenceRows: 200, classes: ['normal', 'anomalous'],
      confusion: [[50, 7], [13, 30]], mae: null, rmse: null,
    });
    const bySite = await metrics('tag:site');
    const north = bySite.groups.find((g) => g.key === 'north')!.accuracy;
    const south = bySite.groups.find((g) => g.key === 'south')!.accuracy;
    assert.equal(north.observed, 0.75);
    assert.equal(north.expected, 0.85);
    assert.equal(south.observed, 35 / 40);
    assert.deepEqual(south.confusion, [[20, 2], [3, 15]]);
  });

  it('an accuracy rule fires below its threshold (a performance drop) with the drift report, not above it', async () => {
    const alerts = new Alerts({ store: h.store, clock: h.clock, logger: noopLogger, metrics: h.metrics });
    const rule = async (name: string, threshold: number) => {
      const r = await h.req('POST', '/api/v1/alert-rules', { role: 'operator', json: { name, metric: 'accuracy', model: MODEL, threshold, windowSec: 3 * 3600 } });
      assert.equal(r.status, 201, await r.clone().text());
    };
    await rule('accuracy below 85 %', 0.85);
    await rule('accuracy below 70 %', 0.7);
    const noModel = await h.req('POST', '/api/v1/alert-rules', { role: 'operator', json: { name: 'x', metric: 'accuracy', threshold: 0.9 } });
    assert.equal(noModel.status, 400);
    alerts.evaluate();
    const list = ((await (await h.req('GET', '/api/v1/alerts', { role: 'viewer' })).json()) as { alerts: Alert[] }).alerts;
    assert.equal(list.length, 1, JSON.stringify(list));
    const a = list[0]!;
    assert.deepEqual([a.rule, a.metric, a.key, a.state, a.value], ['accuracy below 85 %', 'accuracy', `${MODEL}@1.0.0`, 'firing', 0.8]);
    assert.ok(a.reportId !== null, 'a drift report is stored with it');
  });
});
