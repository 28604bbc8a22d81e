// `promote --full` on a real fleet (docs/rollouts.md "Promoting to the full fleet"): a real hub process and
// three real agent processes running real ONNX models. v2 starts in a staging ring (the agent tagged
// env=staging) with a long bake; the operator promotes it to the full fleet: the ring is still judged against
// the production agents on v1, and once it passes the last wave takes both of them at once, the canary
// between skipped; every agent then serves 2.0.0.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { trafficLoop, vibrationRows, waitFor, type AgentHandle } from '@edgefleet/examples/fleet';
import type { AuditEntry, Rollout } from '@edgefleet/shared';
import { datasetRows, generateVibration } from '@edgefleet/examples';
import { MODEL, getJson, infer } from './helpers.js';
import { rolloutFleet } from './rollout-fleet.js';

const HUB_CONFIG = { rollouts: { tickMs: 300, jitter: 0.1 } };
// The ring's bake is long: promote --full cuts it. The gates as in rollout.test.ts (why each, there).
const WAVES = [{ name: 'staging', tags: { env: 'staging' }, bakeSec: 3600 }, { name: 'canary', percent: 1, minDevices: 1, bakeSec: 3600 }, { name: 'all', percent: 100, bakeSec: 2 }];
const GATES = { minPredictions: 600, stuckSec: 90, outputPsi: 0.5, latencySlackMs: 20 };

describe('promote --full on a real fleet', () => {
  const f = rolloutFleet({ name: 'ef-rollout-full-', hubConfig: HUB_CONFIG, agents: 3, tags: (i) => ({ env: i === 0 ? 'staging' : 'prod' }), bundles: [] });
  const probe = datasetRows(generateVibration({ rows: 1, seed: 5 }));
  const serving = async (a: AgentHandle) => (await infer(a.url, probe)).json?.model_version as string | undefined;

  it('the staging ring promoted to the full fleet: judged, then both production agents at once, the canary skipped', async () => {
    const { agents, devs, hub } = f;
    const rollout = (id: string) => hub.api<Rollout>('GET', `/rollouts/${id}`);
    await hub.api('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { all: true }, reason: 'baseline' });
    for (const a of agents) await waitFor(`${a.dataDir}: v1 ready`, async () => (await getJson(`${a.url}/v2/models/${MODEL}/ready`))?.json?.ready === true, { timeoutMs: 90_000 });
    f.traffic = trafficLoop(agents, vibrationRows({ seed: 11, rowsPerRequest: 10, shift: true }), 15);

    const r = await hub.api<Rollout>('POST', '/rollouts', { model: MODEL, version: '2.0.0', target: { all: true }, waves: WAVES, gates: GATES, reason: 'retrained on summer data' });
    await waitFor('the ring baking', async () => (await rollout(r.id)).waves[0]?.state === 'baking' || undefined, { timeoutMs: 30_000, intervalMs: 100 });
    const promoted = await hub.api<Rollout>('POST', `/rollouts/${r.id}/promote`, { reason: 'staging ran the night', full: true });
    assert.equal(promoted.waves[0]?.full?.reason, 'staging ran the night');
    assert.deepEqual(promoted.devices?.filter((d) => d.notifiedAt !== null).map((d) => d.deviceId), [devs[0]?.deviceId], 'only the ring told so far');

    const done = await waitFor('the rollout completed', async () => {
      const x = await rollout(r.id);
      if (x.state === 'rolled_back' || x.state === 'paused') throw new Error(`rollout ${x.state}: ${x.stateReason}; ${JSON.stringify(x.waves.map((w) => w.gates))}`);
      return x.state === 'completed' ? x : undefined;
    }, { timeoutMs: 120_000, intervalMs: 250 });
    assert.deepEqual(done.waves.map((w) => w.state), ['passed', 'skipped', 'passed']);
    const ring = Object.fromEntries((done.waves[0]?.gates ?? []).map((g) => [g.name, g]));
    assert.ok((ring['predictions']?.samples.control ?? 0) >= GATES.minPredictions, 'the ring was judged against the production agents on 1.0.0');
    for (const a of agents) await waitFor(`${a.dataDir}: serving 2.0.0`, async () => (await serving(a)) === '2.0.0', { timeoutMs: 60_000 });
    const audit = (await hub.api<{ entries: AuditEntry[] }>('GET', '/audit')).entries.filter((e) => e.target === r.id);
    const next = audit.find((e) => e.action === 'rollout.wave_next');
    assert.deepEqual([(next?.details as { next?: string }).next, (next?.details as { skipped?: string[] }).skipped], ['all', ['canary']]);
  });
});
