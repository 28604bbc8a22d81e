// Rates over requests, not predictions (docs/drift.md "Metrics"): a real agent process runs the
// example model on batched rows and refuses malformed requests; its windows count the answered rows
// in `count` and every request, refused ones too, as one latency sample. The hub's metrics give the
// invalid-input rate as refused requests over all requests, throughput as requests per second of the
// part of the range that has passed, activeThroughput as requests per second of the windows' span
// (docs/decisions/0117-rate-over-reported-span.md), and an invalid_input_rate alert fires on that rate.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INPUT_NAME, N_FEATURES, makeFixture } from '@edgefleet/examples';
import { pushBundle, startAgent, startHub, waitFor, type AgentHandle, type HubHandle } from '@edgefleet/examples/fleet';
import { enrollAgents } from '../testkit/enroll.js';
import type { Alert, DeviceInfo, MetricsResponse } from '@edgefleet/shared';
import { infer, MODEL } from './helpers.js';

const GOOD = 6; // requests of ROWS rows each, answered
const ROWS = 4;
const BAD = 6; // requests refused as invalid input

describe('metrics rates and throughput over requests', () => {
  let dir: string;
  let hub: HubHandle | undefined;
  let agent: AgentHandle | undefined;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ef-rates-'));
  });
  after(async () => {
    await agent?.stop();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts refused requests against all requests, and an invalid_input_rate alert fires on it', async () => {
    const fx = await makeFixture(join(dir, 'fx'));
    hub = await startHub({ dataDir: join(dir, 'hub'), trustPath: fx.trustPath, hubKeyPath: fx.keys.files.hub.keyPath, config: { alerts: { evaluateEveryMs: 1000 } } });
    await pushBundle(hub, fx.v1);
    const [dev] = await enrollAgents(hub, 1, { dataRoot: join(dir, 'agents'), id: () => 'rates-1' });
    agent = await startAgent({ dataDir: dev!.dataDir, config: { summaries: { windowSec: 5 } } });
    const id = dev!.deviceId;
    await hub.api('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { devices: [id] }, reason: 'rates' });
    await waitFor('1.0.0 active on the device', async () => {
      const d = await hub!.api<DeviceInfo>('GET', `/devices/${id}`);
      return d.models.some((m) => m.version === '1.0.0' && m.status === 'active');
    }, { timeoutMs: 90_000 });

    const started = Date.now();
    const row = Array.from({ length: N_FEATURES }, (_, i) => i / N_FEATURES);
    for (let i = 0; i < GOOD; i++) assert.equal((await infer(agent.url, Array.from({ length: ROWS }, () => row))).status, 200);
    for (let i = 0; i < BAD; i++) {
      const res = await fetch(`${agent.url}/v2/models/${MODEL}/infer`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ name: INPUT_NAME, datatype: 'FP32', shape: [1, N_FEATURES + 1], data: [...row, 0] }] }),
      });
      assert.equal(res.status, 400, await res.text());
    }

    const since = new Date(started - 60_000).toISOString();
    const until = new Date(started + 2 * 3600_000).toISOString(); // a range reaching past now: throughput over the part that passed
    const path = `/models/${MODEL}/versions/1.0.0/metrics?since=${since}&until=${until}`;
    const t0 = Date.now();
    const m = await waitFor('every request at the hub', async () => {
      const r = await hub!.api<MetricsResponse>('GET', path);
      const g = r.groups[0];
      return g && g.predictions === GOOD * ROWS && g.errors.input === BAD ? { r, g, at: Date.now() } : undefined;
    }, { timeoutMs: 60_000 });
    const { g } = m;
    const requests = GOOD + BAD;
    assert.equal(g.latency.count, requests, 'one latency sample per request, refused ones too');
    assert.equal(g.invalidInputRate, BAD / requests, 'refused requests over all requests (not over answered rows)');
    assert.equal(g.modelErrorRate, 0);
    const from = Date.parse(m.r.since);
    assert.ok(Date.parse(m.r.until) - Date.now() > 3600_000, `the range ${m.r.since} .. ${m.r.until} reaches past now`);
    const lo = requests / ((m.at - from) / 1000);
    const hi = requests / ((t0 - from) / 1000);
    assert.ok(g.throughput >= lo * 0.999 && g.throughput <= hi * 1.001, `throughput ${g.throughput} req/s: expected ${lo}..${hi} (requests over the time that passed)`);
    // The version's rate: over its windows' span (5 s windows from just before the first request to the last one's end), not the hour.
    assert.ok(g.activeSec >= 5 && g.activeSec <= (m.at - started) / 1000 + 5, `activeSec ${g.activeSec}: expected the windows' span, 5..${(m.at - started) / 1000 + 5} s`);
    assert.equal(g.activeThroughput, requests / g.activeSec);

    await hub.api('POST', '/alert-rules', { name: 'refusals', metric: 'invalid_input_rate', model: MODEL, threshold: 0.4 });
    const fired = await waitFor('the invalid_input_rate alert firing', async () => {
      const { alerts } = await hub!.api<{ alerts: Alert[] }>('GET', '/alerts?state=firing');
      return alerts.find((a) => a.rule === 'refusals');
    }, { timeoutMs: 30_000 });
    assert.equal(fired.key, `${MODEL}@1.0.0`);
    assert.equal(fired.value, BAD / requests);
  });
});
