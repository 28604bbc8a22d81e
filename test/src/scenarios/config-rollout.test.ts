// Configuration rollouts with a real hub process and real agent processes serving the example ONNX model
// (issue 15 section 1, docs/rollouts.md "Configuration rollouts"): `edgefleet config set --rollout` with a
// configuration that makes every request wait a second for company (dynamic batching "on" with the
// longest queue delay; settings the agent takes by a clean restart, which this test's supervisor does as
// systemd would) is stopped at the canary by its latency gate and rolled back: the previous document is
// written again, the canary restarts onto it, and the other agents were never sent the bad one. Then a
// good configuration walks canary -> all and every agent reports it applied.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, startAgents, trafficLoop, vibrationRows, waitFor, type AgentHandle, type EnrolledAgent, type TrafficLoop } from '@edgefleet/examples/fleet';
import { operator } from '../testkit/cli.js';
import { enrollAgents } from '../testkit/enroll.js';
import { RESTART_EXIT_CODE, type AuditEntry, type ConfigDocumentInfo, type DeviceConfigView, type Rollout } from '@edgefleet/shared';
import { MODEL, fixtureAndHub, getJson, type HubSetup } from './helpers.js';

const HUB_CONFIG = { rollouts: { tickMs: 300, jitter: 0.1 } };
const AGENT_CONFIG = { summaries: { windowSec: 2 }, sync: { reconnectMs: 300 } };

describe('configuration rollouts on a real fleet', () => {
  let dir: string;
  let s: HubSetup;
  let devs: EnrolledAgent[];
  /** Replaced in place when an agent restarts (the traffic loop reads the array on every request). */
  const agents: AgentHandle[] = [];
  const restarts: number[] = [];
  let stopping = false;
  let traffic: TrafficLoop | undefined;

  /** What systemd's Restart= does for the exit code 75 a restart setting asks for. */
  const supervise = (i: number): void => {
    agents[i]!.process.exited.then(async (exit) => {
      if (stopping || exit.code !== RESTART_EXIT_CODE) return;
      agents[i] = await startAgent({ dataDir: devs[i]!.dataDir, config: AGENT_CONFIG });
      restarts[i] = (restarts[i] ?? 0) + 1;
      supervise(i);
    }).catch((err: unknown) => console.error(`restarting agent ${i} failed`, err));
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-cfgroll-'));
    s = await fixtureAndHub(dir, { config: HUB_CONFIG });
    devs = await enrollAgents(s.hub, 3, { dataRoot: join(dir, 'agents') });
    agents.push(...await startAgents(devs.map((d) => ({ dataDir: d.dataDir, config: AGENT_CONFIG }))));
    for (const i of devs.keys()) {
      restarts.push(0);
      supervise(i);
    }
  });
  after(async () => {
    stopping = true;
    await traffic?.stop();
    for (const a of agents) await a.stop();
    await s?.hub.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = (args: string[]) => operator(args, { env: { EDGEFLEET_HUB: s.hub.http, EDGEFLEET_TOKEN: s.hub.adminToken } });
  const rollout = (id: string) => s.hub.api<Rollout>('GET', `/rollouts/${id}`);
  const view = (id: string) => s.hub.api<DeviceConfigView>('GET', `/devices/${id}/config`);
  // 1% with min=1: exactly one canary of the three whatever their places (a new rollout id places devices at random).
  // A bake is the least a wave runs: its gates still wait for minPredictions (docs/rollouts.md "Gates").
  const POLICY = ['--rollout', '--wave', 'canary:1%:bake=5s:min=1', '--wave', 'all:100%:bake=2s', '--gate', 'minPredictions=40', '--gate', 'stuckSec=120', '--gate', 'latencySlackMs=50'];

  it('a configuration that slows the canary is rolled back by its gates; a good one reaches every wave', async () => {
    await s.hub.api('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { all: true }, reason: 'baseline' });
    for (const a of agents) await waitFor(`${a.dataDir}: v1 ready`, async () => (await getJson(`${a.url}/v2/models/${MODEL}/ready`))?.json?.ready === true, { timeoutMs: 90_000 });
    const base = await cli(['config', 'set', 'fleet', '--set', 'log.level=info', '--reason', 'baseline']);
    assert.equal(base.code, 0, base.stderr);
    for (const d of devs) await waitFor(`${d.deviceId}: baseline applied`, async () => (await view(d.deviceId)).applied, { timeoutMs: 30_000 });
    // One request in flight per agent: the slowed canary answers one a second, so 8 rows a request
    // reach the gates' 40 predictions in 5 s.
    traffic = trafficLoop(agents, vibrationRows({ seed: 11, rowsPerRequest: 8 }), 10);

    // 1. A bad configuration: every request waits a second for company.
    const bad = await cli(['config', 'set', 'fleet', '--set', 'runtime.batching=on', '--set', 'runtime.maxQueueDelayUs=1000000', '--reason', 'batch harder', ...POLICY]);
    assert.equal(bad.code, 0, bad.stderr);
    const id = /rollout (ro-[0-9a-f]{10}): fleet v1 -> v2 over 3 device\(s\)/.exec(bad.stdout)?.[1];
    assert.ok(id, bad.stdout);
    const first = await rollout(id);
    const canary = first.devices!.filter((d) => d.notifiedAt !== null).map((d) => d.deviceId);
    assert.equal(canary.length, 1);
    const i = devs.findIndex((d) => d.deviceId === canary[0]);
    for (const d of devs.filter((x) => x.deviceId !== canary[0])) {
      const v = await view(d.deviceId);
      assert.deepEqual(v.sources, [{ scope: 'fleet', version: 1 }], `${d.deviceId} keeps the previous document`);
    }
    const stopped = await waitFor('the bad configuration rolled back', async () => {
      const r = await rollout(id);
      if (r.state === 'completed') throw new Error(`the bad configuration completed: ${JSON.stringify(r.waves.map((w) => w.gates))}`);
      return r.state === 'rolled_back' ? r : undefined;
    }, { timeoutMs: 150_000, intervalMs: 250 });
    assert.deepEqual(stopped.waves.map((w) => w.state), ['failed', 'skipped']);
    const gates = Object.fromEntries(stopped.waves[0]!.gates.map((g) => [g.name, g]));
    assert.equal(gates['latency_p95']?.verdict, 'fail', JSON.stringify(gates));
    assert.ok((gates['latency_p95']?.value ?? 0) > 500, `the canary waited: p95 ${gates['latency_p95']?.value} ms`);
    assert.equal(gates['config_applied']?.verdict, 'pass');
    assert.equal(gates['restarts']?.verdict, 'pass', 'one restart, to take the settings');
    const doc = await s.hub.api<ConfigDocumentInfo>('GET', '/config/fleet');
    assert.deepEqual([doc.version, doc.settings], [3, { 'log.level': 'info' }], 'the previous document written again');
    // The canary restarts onto it; the others never got the bad one.
    await waitFor('the canary back on the previous settings', async () => {
      const v = await view(canary[0]!);
      return v.applied && v.sources[0]?.version === 3;
    }, { timeoutMs: 60_000 });
    assert.ok((restarts[i] ?? 0) >= 2, `the canary restarted to take the bad settings and again to drop them (${restarts[i]})`);
    assert.deepEqual(restarts.filter((_, k) => k !== i), [0, 0], 'no other agent restarted');
    const audit = await s.hub.api<{ entries: AuditEntry[] }>('GET', '/audit');
    assert.match(audit.entries.find((e) => e.target === id && e.action === 'rollout.wave_failed')?.reason ?? '', /latency_p95 \d/);

    // 2. A good configuration, applied live, goes to every wave.
    const good = await cli(['config', 'set', 'fleet', '--set', 'summaries.checkpointSec=3', '--reason', 'checkpoint less often', ...POLICY]);
    assert.equal(good.code, 0, good.stderr);
    const gid = /rollout (ro-[0-9a-f]{10})/.exec(good.stdout)![1]!;
    const done = await waitFor('the good configuration completed', async () => {
      const r = await rollout(gid);
      if (r.state === 'rolled_back' || r.state === 'paused') throw new Error(`good configuration ${r.state}: ${r.stateReason}; ${JSON.stringify(r.waves.map((w) => w.gates))}`);
      return r.state === 'completed' ? r : undefined;
    }, { timeoutMs: 150_000, intervalMs: 250 });
    assert.deepEqual(done.config, { scope: 'fleet', version: 4, fromVersion: 3 });
    for (const d of devs) {
      await waitFor(`${d.deviceId}: v4 applied`, async () => {
        const v = await view(d.deviceId);
        return v.applied && v.sources[0]?.version === 4;
      }, { timeoutMs: 30_000 });
    }
    const shown = await cli(['rollout', 'show', gid]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /config fleet v3 -> v4/);
    assert.match(shown.stdout, /config_applied\s+1\s+>= 0\.95/);
  });
});
