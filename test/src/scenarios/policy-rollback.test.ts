// Fault test (issue 5): a version that fails its policy after the switch (p95 latency above a tiny
// limit after a few requests) while the agent is cut off from the hub (a TCP proxy between agent and
// broker, down): the agent rolls back locally, records the measured values, and the hub learns why on
// reconnect (deployment status rolled_back with the reason; the events stored). The same document is
// not retried; a newer document naming the version is.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datasetRows, generateVibration } from '@edgefleet/examples';
import { pushBundle, startAgent, waitFor, type AgentHandle, type EnrolledAgent } from '@edgefleet/examples/fleet';
import { enrollAgents } from '../testkit/enroll.js';
import type { DeviceEvent } from '@edgefleet/shared';
import { startFlakyProxy, type FlakyProxy } from '../faults/flaky-proxy.js';
import { MODEL, bigBundle, fixtureAndHub, getJson, infer, type HubSetup } from './helpers.js';

type Dep = { devices: Array<{ deviceId: string; status: string; reason: string | null }> };

describe('local rollback by policy while offline', () => {
  let dir: string;
  let s: HubSetup;
  let dev: EnrolledAgent;
  let proxy: FlakyProxy;
  let agent: AgentHandle | undefined;
  const rows = datasetRows(generateVibration({ rows: 8, seed: 5 }));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-policy-'));
    s = await fixtureAndHub(dir);
    // Any real prediction takes longer than 1 µs: the policy is breached after minRequests.
    const bad = await bigBundle(join(dir, 'fx', 'bundles'), s.fx.keys, '3.0.0', { hidden: 64, policy: { maxP95LatencyMs: 0.001, minRequests: 5, observationWindowSec: 3600 } });
    await pushBundle(s.hub, bad.path);
    [dev] = await enrollAgents(s.hub, 1, { dataRoot: join(dir, 'agents'), id: () => 'policy-1' }) as [EnrolledAgent];
    proxy = await startFlakyProxy({ targetPort: Number(new URL(s.hub.mqtt).port), seed: 11 });
  });
  after(async () => {
    await agent?.stop();
    await proxy?.close();
    await s?.hub.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const deployed = (id: number) => s.hub.api<Dep>('GET', `/deployments/${id}`).then((d) => d.devices.find((x) => x.deviceId === dev.deviceId));
  const version = async () => (await infer(agent!.url, rows.slice(0, 1))).json?.model_version as string | undefined;

  it('rolls back offline, the hub learns why on reconnect, and the version is not retried until a newer document', async () => {
    agent = await startAgent({ dataDir: dev.dataDir, config: { summaries: { windowSec: 2 }, sync: { brokerUrl: `mqtt://127.0.0.1:${proxy.port}`, reconnectMs: 300 } } });
    await s.hub.api('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { devices: [dev.deviceId] }, reason: 'policy test: baseline' });
    await waitFor('v1 serving', async () => (await version()) === '1.0.0', { timeoutMs: 90_000 });
    const d3 = await s.hub.api<{ id: number }>('POST', '/deployments', { model: MODEL, version: '3.0.0', target: { devices: [dev.deviceId] }, reason: 'policy test: slow version' });
    await waitFor('3.0.0 active and reported', async () => (await version()) === '3.0.0' && (await deployed(d3.id))?.status === 'active', { timeoutMs: 90_000 });

    // Cut the hub link, then send traffic: the breach and the rollback happen offline.
    proxy.setDown(true);
    proxy.cutAll();
    for (let i = 0; i < 12; i++) await infer(agent.url, rows.slice(0, 2));
    await waitFor('rolled back to 1.0.0 locally', async () => (await version()) === '1.0.0', { timeoutMs: 30_000 });
    const offline = await deployed(d3.id);
    assert.equal(offline?.status, 'active', 'the hub cannot know yet: the link is down');

    proxy.setDown(false);
    const st = await waitFor('hub: deployment rolled back with the reason', async () => {
      const x = await deployed(d3.id);
      return x?.status === 'rolled_back' ? x : undefined;
    }, { timeoutMs: 60_000 });
    assert.match(st.reason ?? '', /POLICY_BREACH: .*p95 latency .* > 0\.001 ms/);
    const { events } = await s.hub.api<{ events: DeviceEvent[] }>('GET', `/devices/${dev.deviceId}/events`);
    const breach = events.find((e) => e.kind === 'policy_breach' && e.version === '3.0.0');
    assert.ok(breach, `policy_breach event stored: ${JSON.stringify(events.map((e) => e.kind))}`);
    assert.equal(breach.code, 'POLICY_BREACH');
    assert.ok((breach.data?.requests as number) >= 5, `measured requests recorded: ${JSON.stringify(breach.data)}`);
    assert.ok((breach.data?.p95Ms as number) > 0.001, `measured p95 recorded: ${JSON.stringify(breach.data)}`);
    assert.equal(breach.data?.maxP95LatencyMs, 0.001);
    assert.ok(events.some((e) => e.kind === 'rolled_back' && e.version === '3.0.0'), 'rolled_back event stored');
    await waitFor('hub: the device reports 1.0.0 active', async () => {
      const d = await s.hub.api<{ models: Array<{ name: string; version: string }> }>('GET', `/devices/${dev.deviceId}`);
      return d.models.some((m) => m.name === MODEL && m.version === '1.0.0');
    }, { timeoutMs: 30_000 });

    // The retained document (same seq) comes back on every reconnect: the agent logs that it has
    // applied it already and does nothing, so the rolled-back version is not retried.
    const logged = (re: RegExp) => { const o = agent!.process.output(); return (o.stdout + o.stderr).split('\n').filter((l) => re.test(l)).length; };
    const seen = logged(/desired document already applied/);
    proxy.cutAll();
    await waitFor('the agent got the retained document again and decided it is already applied', () => logged(/desired document already applied/) > seen, { timeoutMs: 30_000, intervalMs: 100 });
    assert.equal(await version(), '1.0.0', 'the rolled-back version is not retried for the same document');
    assert.equal((await getJson(`${agent.url}/v2/models/${MODEL}/versions/3.0.0/ready`))?.json?.ready ?? false, false);

    // A newer document naming it again is honoured.
    const again = await s.hub.api<{ id: number }>('POST', '/deployments', { model: MODEL, version: '3.0.0', target: { devices: [dev.deviceId] }, reason: 'policy test: try again' });
    await waitFor('3.0.0 active again after a newer document', async () => (await version()) === '3.0.0' && (await deployed(again.id))?.status === 'active', { timeoutMs: 60_000 });
  });
});
