// Fault test (issue 5): an agent offline for a simulated week with traffic continuing. The agent runs
// in-process (createAgent) with an injected clock advanced 30 minutes at a time, its hub link behind a
// TCP proxy that is down; the hub is a real process. Predictions keep being served, the backlog stays
// within summaries.budgetBytes (compaction events recorded), and after reconnect the hub's totals
// equal the device's own.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createAgent, AgentConfig, type Agent } from '@edgefleet/agent';
import { datasetRows, generateVibration } from '@edgefleet/examples';
import { hubWindows, waitFor, type EnrolledAgent } from '@edgefleet/examples/fleet';
import { enrollAgents } from '../testkit/enroll.js';
import { windowTotals } from '@edgefleet/shared';
import { startFlakyProxy, type FlakyProxy } from '../faults/flaky-proxy.js';
import { MODEL, fixtureAndHub, infer, localWindows, outboxWindows, withAgentDb, type HubSetup } from './helpers.js';

// A week of minute windows is ~1.9 MB here (table + outbox); compacted to hourly for the current day and
// daily before it, it needs ~180 KB: the budget forces compaction but leaves room to drop nothing.
const BUDGET = 256 * 1024;

describe('offline for a simulated week', () => {
  let dir: string;
  let s: HubSetup;
  let dev: EnrolledAgent;
  let proxy: FlakyProxy;
  let agent: Agent | undefined;
  let now = Date.now();
  const rows = datasetRows(generateVibration({ rows: 64, seed: 13 }));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-offline-week-'));
    // Only the agent lives through the week (its clock is injected); the hub runs on real time, so the
    // device's windows are up to a week in the hub's future: allow that here (plausibility.ts).
    s = await fixtureAndHub(dir, { config: { ingest: { futureToleranceMs: 8 * 86_400_000 } } });
    [dev] = await enrollAgents(s.hub, 1, { dataRoot: join(dir, 'agents'), id: () => 'week-1' }) as [EnrolledAgent];
    proxy = await startFlakyProxy({ targetPort: Number(new URL(s.hub.mqtt).port), seed: 7 });
  });
  after(async () => {
    await agent?.stop();
    await proxy?.close();
    await s?.hub.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const size = () => withAgentDb(dev.dataDir, (db) =>
    (db.prepare('SELECT (SELECT COALESCE(SUM(LENGTH(json)), 0) FROM summary_windows) + (SELECT COALESCE(SUM(LENGTH(payload)), 0) FROM outbox) AS n').get() as { n: number }).n);

  it('serves all week, keeps the backlog within budget, and the hub totals equal the device totals after reconnect', async () => {
    const config = AgentConfig.parse({
      dataDir: dev.dataDir, api: { host: '127.0.0.1', port: 0 }, log: { level: 'silent' },
      summaries: { windowSec: 60, budgetBytes: BUDGET },
      sync: { brokerUrl: `mqtt://127.0.0.1:${proxy.port}`, reconnectMs: 300, outbox: { messagesPerSec: 200, resendAfterMs: 3000 } },
    });
    agent = createAgent(config, { logger: pino({ level: 'silent' }), reconcileMs: 0, clock: { now: () => now }, retentionIntervalMs: 100 });
    await agent.start();
    await s.hub.api('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { devices: [dev.deviceId] }, reason: 'offline week: baseline' });
    await waitFor('v1 serving', async () => (await infer(agent!.url, rows.slice(0, 1))).json?.model_version === '1.0.0', { timeoutMs: 90_000 });

    proxy.setDown(true);
    proxy.cutAll();
    await waitFor('the hub link is down', () => agent!.sync?.isConnected() === false, { timeoutMs: 10_000, intervalMs: 100 });
    // The budget is enforced in the transaction that writes closed windows, so every committed state
    // is within it, whenever the recorder's flush timer and the retention timer happen to run: the
    // size is sampled after every step, with no pause for either timer.
    let served = 0;
    let maxSize = 0;
    for (let step = 0; step < 7 * 48; step++) {
      now += 30 * 60_000;
      const r = await infer(agent.url, rows.slice(step % 60, (step % 60) + 3));
      assert.equal(r.status, 200, `step ${step}: ${JSON.stringify(r.json)}`);
      served += 3;
      maxSize = Math.max(maxSize, size());
    }
    now += 30 * 60_000; // the last window closes; the recorder's 1 s flush timer writes it
    await waitFor('every prediction is in a stored window', async () =>
      (await localWindows(dev.dataDir)).reduce((n, w) => n + w.count, 0) >= served, { timeoutMs: 60_000, intervalMs: 250 });
    maxSize = Math.max(maxSize, size());
    assert.ok(maxSize <= BUDGET, `the backlog stayed within ${BUDGET} bytes (max seen ${maxSize})`);
    const compacted = agent.events.list({ kind: 'backlog_compacted' });
    assert.ok(compacted.length > 0, `compaction events were recorded (max backlog ${maxSize} bytes, ${(await localWindows(dev.dataDir)).length} windows)`);
    assert.equal(agent.events.list({ kind: 'backlog_dropped' }).length, 0, 'nothing was dropped: compaction alone kept the budget');

    proxy.setDown(false);
    await waitFor('outbox drained after reconnect', async () => (await outboxWindows(dev.dataDir)) === 0, { timeoutMs: 120_000, intervalMs: 1000 });
    const theirs = await hubWindows(s.hub.api, dev.deviceId, `model=${MODEL}`);
    assert.equal(new Set(theirs.map((w) => w.seq)).size, theirs.length, 'no seq stored twice');
    const mine = await localWindows(dev.dataDir);
    const totals = await s.hub.api<Record<string, unknown>>('GET', `/models/${MODEL}/totals?version=1.0.0`);
    const want = JSON.parse(JSON.stringify(windowTotals(mine))) as Record<string, unknown>;
    for (const k of ['count', 'errors', 'latencyCount', 'features', 'outputs', 'inputs']) {
      assert.deepEqual(totals[k], want[k], `hub totals.${k} equals the device's own`);
    }
    assert.ok((totals.count as number) >= served);
    const hubEvents = (await s.hub.api<{ events: Array<{ kind: string }> }>('GET', `/devices/${dev.deviceId}/events`)).events;
    assert.ok(hubEvents.some((e) => e.kind === 'backlog_compacted'), 'the hub learned of the compaction');
  });
});
