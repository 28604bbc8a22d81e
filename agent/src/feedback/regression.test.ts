// Labels for a regressor (docs/agent.md "Feedback", docs/drift.md "Accuracy") with a real ONNX session:
// the window's error sums must stay what the hub takes, or the hub refuses the whole window (acked and
// dropped) with every prediction and label in it. A label past ±MAX_MAGNITUDE (1e200 from a unit bug)
// is a 400 naming the item and the range, counting nothing of the request; a prediction no error sum
// can hold (an infinity) is `no_prediction`. Before, both were answered `counted` and the window's
// sqErrorSum became Infinity (null on the wire): the probe saw 20 predictions and 11 labels vanish at
// the hub (`schema_invalid`). /metrics counts the labels by how they were answered.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { bundleFromOnnx, GraphBuilder } from '@edgefleet/examples';
import { MAX_MAGNITUDE, TelemetryBatch, fastTelemetryBatch, parseWire, type SummaryWindow } from '@edgefleet/shared';
import type { Agent } from '../agent.js';
import { makeKit, req, startAgent, type Kit } from '../testing.js';

const FEEDBACK = '/edgefleet/v1/feedback';
// The agent's clock stands still, mid-window: a label is counted in the window open when it arrives
// (docs/drift.md "Accuracy"), and on the real clock a 60 s window boundary between the prediction and its
// labels (a loaded machine makes that gap longer) split them into two windows, failing the count below.
const T0 = Date.UTC(2026, 5, 1, 12, 0, 30);

describe('feedback: labels for a regressor', () => {
  let kit: Kit;
  let agent: Agent;

  before(async () => {
    kit = makeKit();
    // rul_hours = x: the prediction is the input, so the test knows every error.
    const g = new GraphBuilder('rul');
    g.op('Identity', [g.input('x', 'FP32', ['N', 1])], {}, 'rul_hours');
    g.output('rul_hours', 'FP32', ['N', 1]);
    const spec = { datatype: 'FP32' as const, shape: [-1, 1] };
    const b = await bundleFromOnnx({
      dir: join(kit.dir, 'bundles'), onnx: g.build(), name: 'rul', version: '1.0.0', keys: kit.keys,
      io: { inputs: [{ name: 'x', ...spec }], outputs: [{ name: 'rul_hours', ...spec }] },
      task: { kind: 'regression', output: 'rul_hours', index: 0 },
    });
    agent = await startAgent(join(kit.dir, 'data'), { allowNonFinite: true }, { clock: { now: () => T0 } });
    agent.trust.put(kit.trust.doc, 1);
    await agent.manager.install(b.path);
  });
  after(async () => {
    await agent.stop();
    kit.cleanup();
  });

  it('refuses a label past ±MAX_MAGNITUDE and counts no label for an infinite prediction, so the window reaches the hub', async () => {
    const r = await req(agent.url, 'POST', '/v2/models/rul/infer', { id: 'r1', inputs: [{ name: 'x', datatype: 'FP32', shape: [3, 1], data: [10, 'Infinity', 20] }] });
    assert.equal(r.status, 200, r.text);
    for (const label of [1e200, -1e145, MAX_MAGNITUDE * 1.5]) {
      const bad = await req(agent.url, 'POST', FEEDBACK, { items: [{ id: 'r1', row: 0, label: 12 }, { id: 'r1', row: 2, label }] });
      assert.equal(bad.status, 400, bad.text);
      assert.equal(bad.json.code, 'BAD_REQUEST');
      assert.match(bad.json.error, /^items\[1\]\.label -?[\d.]+e\+\d+: expected a finite number within ±1e\+144 \(model rul@1\.0\.0 is a regressor\)$/);
    }
    const ok = await req(agent.url, 'POST', FEEDBACK, { items: [{ id: 'r1', row: 0, label: 12 }, { id: 'r1', row: 1, label: 5 }, { id: 'r1', row: 2, label: -MAX_MAGNITUDE }] });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.json.items.map((i: { status: string }) => i.status), ['counted', 'no_prediction', 'counted']);
    assert.equal(ok.json.counted, 2, 'nothing of the refused requests was counted');
    // /metrics: labels by how they were answered (refused requests count none), and what is remembered.
    assert.equal((await req(agent.url, 'POST', FEEDBACK, { items: [{ id: 'never-sent', label: 1 }, { id: 'r1', label: 3 }] })).json.unknown, 1);
    const metrics = (await req(agent.url, 'GET', '/metrics')).text;
    for (const [status, n] of [['counted', 2], ['unknown', 1], ['already_labelled', 1], ['no_prediction', 1]] as const) {
      assert.match(metrics, new RegExp(`^edgefleet_agent_feedback_labels_total\\{status="${status}"\\} ${n}$`, 'm'));
    }
    assert.match(metrics, /^edgefleet_agent_feedback_remembered_rows 3$/m);
    assert.match(metrics, /^edgefleet_agent_feedback_remembered_bytes 372$/m, '320 + 2 a character of "r1" + 16 a row of 3 (entryBytes)');

    await agent.stop();
    const db = new Database(join(kit.dir, 'data', 'agent.db'), { readonly: true });
    const windows = (db.prepare('SELECT json FROM summary_windows ORDER BY start_ms').all() as Array<{ json: string }>).map((w) => JSON.parse(w.json) as SummaryWindow);
    db.close();
    assert.equal(windows.length, 1);
    const w = windows[0]!;
    assert.equal(w.count, 3, "the three rows predicted");
    const err = MAX_MAGNITUDE + 20;
    assert.deepEqual(w.feedback, { labelled: 2, correct: 0, absErrorSum: 2 + err, sqErrorSum: 4 + err * err });
    // As the outbox sends it: the hub's wire schema takes it (an Infinity would be null and refuse it all).
    const batch = JSON.parse(JSON.stringify({ schema: 'edgefleet.telemetry/v1', deviceId: 'box-1', windows: [{ ...w, seq: 1 }] })) as unknown;
    assert.ok(fastTelemetryBatch(batch));
    assert.deepEqual(parseWire(TelemetryBatch, batch, 'batch'), batch);
  });
});
