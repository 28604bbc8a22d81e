// The loop example end to end (examples/src/loop/run.ts; docs/drift.md "The loop, end to end"): real
// hub and agent processes, summer traffic on 1.0.0, a drift.psi alert whose retrain webhook reaches
// the example's receiver (signature checked), a capture of the drifted devices opened with the
// operators' key, 1.1.0 trained on those rows, signed, pushed and rolled out canary -> all. Short
// windows, bakes and minimum predictions through the options keep it within a minute or so, and two agents
// (a canary and one judged against it) do what three did with a third less traffic to serve.
// Also: the receiver refuses unsigned, wrongly signed and stale webhooks; a stop signal ends the loop.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VIBRATION_FEATURES, datasetRows, generateVibration, labelCaptured, runLoop, startReceiver, verifySignature, type LoopOptions } from '@edgefleet/examples';
import type { CapturedRow } from '@edgefleet/shared';

function options(dir: string, lines: string[]): LoopOptions {
  return {
    // 40 requests/s of 4 rows: the canary (one device) reaches the gates' 600 predictions in ~4 s, not 15.
    // The drift (PSI ~5 against 0.2) holds from the first verdict: 4 s of it fire the alert.
    agents: 2, dataDir: join(dir, 'fleet'), out: join(dir, 'out'), keepData: false, windowSec: 2, rate: 40, bakeSec: 3,
    minPredictions: 600, driftMinPredictions: 200, alertForSec: 4, captureRequests: 40, stepTimeoutSec: 90, small: false,
    log: (l) => { lines.push(l); },
  };
}

describe('the loop example', () => {
  it('drift alert -> capture -> retrain -> pack, sign, push -> rollout completed, every agent on the new version', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ef-loop-'));
    const lines: string[] = [];
    try {
      const r = await runLoop(options(dir, lines), new Promise<string>(() => {}));
      const out = lines.join('\n');
      assert.ok(r.alertId > 0, 'an alert fired');
      assert.ok(r.reportId !== null && r.reportId > 0, 'the retrain webhook carried a drift report');
      assert.ok(r.drifted.length > 0, `devices named drifted: ${out}`);
      assert.ok(r.capturedRequests > 0 && r.capturedRequests <= r.drifted.length * 40, `${r.capturedRequests} captured request(s)`);
      assert.ok(r.labelledRows >= r.capturedRequests, `${r.labelledRows} labelled rows from ${r.capturedRequests} requests`);
      assert.equal(r.version, '1.1.0');
      assert.ok(r.accuracy.retrained > 0.8 && r.accuracy.previous > 0.5, JSON.stringify(r.accuracy));
      assert.equal(r.rolloutState, 'completed');
      assert.deepEqual(Object.values(r.serving), ['1.1.0', '1.1.0']);
      assert.equal(r.refused, 0);
      for (const evidence of [`alert    ${r.alertId}`, `capture  ${r.captureId}`, 'model    vibration-anomaly 1.1.0', `rollout  ${r.rolloutId} (completed)`]) {
        assert.ok(out.includes(evidence), `printed: ${evidence}`);
      }
      assert.match(out, /stopped cleanly \(2 agent\(s\), hub\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a stop signal during the loop stops the fleet and says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ef-loop-stop-'));
    const lines: string[] = [];
    try {
      let stop!: (s: string) => void;
      const signal = new Promise<string>((r) => { stop = r; });
      const run = runLoop({ ...options(dir, lines), agents: 1 }, signal);
      // Stop once the fleet runs and the loop waits for the alert.
      const started = Date.now();
      while (!lines.some((l) => l.includes('waiting for the drift alert')) && Date.now() - started < 60_000) await new Promise((r) => setTimeout(r, 200));
      stop('SIGTERM');
      await assert.rejects(run, /^Error: interrupted \(SIGTERM\)/);
      assert.ok(lines.some((l) => /stopped cleanly \(1 agent\(s\), hub\)/.test(l)), lines.join('\n'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the receiver takes only webhooks signed with the secret within 5 minutes', async () => {
    const secret = 'a-secret-of-the-training-pipeline';
    const body = JSON.stringify({ schema: 'edgefleet.alert/v1', type: 'retrain.requested', alert: { id: 1 } });
    const sign = (t: number, s = secret) => `t=${t},v1=${createHmac('sha256', s).update(`${t}.${body}`).digest('hex')}`;
    const now = Math.floor(Date.now() / 1000);
    assert.equal(verifySignature(secret, body, sign(now), now), true);
    assert.equal(verifySignature(secret, body, sign(now, 'another-secret-entirely'), now), false);
    assert.equal(verifySignature(secret, `${body} `, sign(now), now), false);
    assert.equal(verifySignature(secret, body, sign(now - 301), now), false);
    assert.equal(verifySignature(secret, body, undefined, now), false);
    assert.equal(verifySignature(secret, body, 'v1=abc', now), false);

    const got: unknown[] = [];
    const rc = await startReceiver(secret, (e) => got.push(e), () => {});
    try {
      const post = (sig?: string) => fetch(rc.url, { method: 'POST', body, headers: sig ? { 'x-edgefleet-signature': sig } : {} });
      assert.equal((await post()).status, 401);
      assert.equal((await post(sign(now, 'another-secret-entirely'))).status, 401);
      assert.equal((await post(sign(now - 3600))).status, 401);
      assert.equal(got.length, 0);
      assert.equal((await post(sign(Math.floor(Date.now() / 1000)))).status, 202);
      assert.equal(got.length, 1);
      assert.equal(rc.refused, 3);
    } finally {
      await rc.stop();
    }
  });

  it('captured rows get the labels of the traffic\'s dataset; unknown rows and malformed requests are dropped', () => {
    const d = generateVibration({ rows: 50, seed: 3, shift: true });
    const rows = datasetRows(d);
    const request = (rs: number[][]): CapturedRow => ({
      device: 'edge-1', time: new Date().toISOString(), model: 'vibration-anomaly', version: '1.0.0', outputs: {},
      inputs: Object.fromEntries(VIBRATION_FEATURES.map((f) => [f.name, rs.map((r) => r[f.index])])),
    });
    const unknown = rows[0]!.map((v, i) => (i === 0 ? v + 1 : v));
    const malformed = request([rows[1]!]);
    malformed.inputs['rpm'] = [];
    const got = labelCaptured([request(rows.slice(0, 4)), request([rows[10]!, unknown]), malformed], d);
    assert.equal(got.requests, 3);
    assert.equal(got.data.rows, 5);
    assert.equal(got.unlabelled, 2);
    assert.deepEqual(Array.from(got.data.y), [0, 1, 2, 3, 10].map((r) => d.y[r]));
    assert.deepEqual(Array.from(got.data.x.subarray(12 * 4, 12 * 5)), Array.from(d.x.subarray(12 * 10, 12 * 11)));
  });
});
