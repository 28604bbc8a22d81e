// A rollout's shadow stage on a real fleet (issue 10 §4; docs/rollouts.md "Shadow stage"): a real hub
// process and real agent processes running the example model. The deliberately regressed 3.0.0 is run in
// shadow beside 1.0.0 on the first wave's devices; their windows report the shadow runs, the
// shadow_agreement gate fails, and the rollout ends rolled back with no device ever told to switch, every
// box answering with 1.0.0 throughout. Short bakes, 2 s windows and a fast tick via config keep it quick.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { trafficLoop, vibrationRows, waitFor } from '@edgefleet/examples/fleet';
import type { AuditEntry, Rollout } from '@edgefleet/shared';
import { MODEL, getJson, localWindows } from './helpers.js';
import { rolloutFleet } from './rollout-fleet.js';

const HUB_CONFIG = { rollouts: { tickMs: 300, jitter: 0.1 } };
const WAVES = [{ name: 'canary', percent: 34, minDevices: 1, bakeSec: 12 }, { name: 'all', percent: 100, bakeSec: 4 }];
const SHADOW = { sampleRate: 1, bakeSec: 4, minAgreement: 0.95, minSamples: 60, tolerance: 0.01, threshold: 0.5 };

describe('rollout shadow stage on a real fleet', () => {
  const f = rolloutFleet({ name: 'ef-shadow-rollout-', hubConfig: HUB_CONFIG, agents: 2, bundles: [['3.0.0', { shift: true, example: { regress: true } }]] });

  it('the regressed 3.0.0 fails shadow_agreement in shadow and the rollout ends before any device switched', async () => {
    const { hub, agents, devs } = f;
    await hub.api('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { all: true }, reason: 'baseline' });
    for (const a of agents) await waitFor(`${a.dataDir}: v1 ready`, async () => (await getJson(`${a.url}/v2/models/${MODEL}/ready`))?.json?.ready === true, { timeoutMs: 90_000 });
    // Summer traffic: 3.0.0 calls healthy compressors anomalous where 1.0.0 does not.
    const traffic = (f.traffic = trafficLoop(agents, vibrationRows({ seed: 11, rowsPerRequest: 4, shift: true }), 20));

    const r = await hub.api<Rollout>('POST', '/rollouts', { model: MODEL, version: '3.0.0', target: { all: true }, waves: WAVES, shadow: SHADOW, reason: 'relabelled batch' });
    assert.deepEqual(r.waves.map((w) => w.name), ['shadow', 'canary', 'all']);
    let last: Rollout | undefined;
    const stopped = await waitFor('3.0.0 stopped in shadow', async () => {
      const x = (last = await hub.api<Rollout>('GET', `/rollouts/${r.id}`));
      if (x.state === 'completed' || x.currentWave > 0) throw new Error(`the regressed version left the shadow stage: ${JSON.stringify(x.waves.map((w) => w.gates))}`);
      return x.state === 'rolled_back' ? x : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250 }).catch(async (err: Error) => {
      const local = await Promise.all(devs.map(async (d) => (await localWindows(d.dataDir)).map((w) => ({ v: w.version, c: w.count, s: w.shadow }))));
      const logs = agents.map((a) => a.process.output().stderr.split('\n').filter((l) => /shadow|error|warn/i.test(l)).slice(-8).join('\n')).join('\n---\n');
      throw new Error(`local: ${JSON.stringify(local).slice(0, 3000)}; logs: ${logs}; ` + `${err.message}; the rollout: ${JSON.stringify({ state: last?.state, reason: last?.stateReason, waves: last?.waves })}; devices: ${JSON.stringify(last?.devices)}`);
    });
    const gate = stopped.waves[0]?.gates.find((g) => g.name === 'shadow_agreement');
    assert.equal(gate?.verdict, 'fail', JSON.stringify(stopped.waves[0]?.gates));
    assert.ok((gate?.value ?? 1) < 0.95 && (gate?.samples.wave ?? 0) >= SHADOW.minSamples, JSON.stringify(gate));
    assert.deepEqual(stopped.waves.slice(1).map((w) => w.state), ['skipped', 'skipped']);
    const deployments = await hub.api<{ deployments: Array<{ version: string }> }>('GET', '/deployments');
    assert.deepEqual(deployments.deployments.map((d) => d.version), ['1.0.0'], 'no device was ever told to switch to 3.0.0');
    const acts = (await hub.api<{ entries: AuditEntry[] }>('GET', '/audit')).entries.filter((e) => e.target === r.id).map((e) => e.action);
    assert.deepEqual(acts.filter((a) => a === 'rollout.wave_deploying').length, 1, `only the shadow stage deployed: ${acts.join(', ')}`);

    // Every answer came from 1.0.0; the shadow device's own windows hold the shadow runs of 3.0.0.
    const t = [...traffic.stats];
    await traffic.stop();
    f.traffic = undefined;
    assert.ok(t.every((x) => x.ok > 0 && x.failed === 0 && x.lastVersion === '1.0.0'), JSON.stringify(t));
    const runs = await Promise.all(devs.map(async (d) => (await localWindows(d.dataDir)).flatMap((w) => w.version === '1.0.0' ? (w.shadow ?? []) : []).filter((x) => x.version === '3.0.0').reduce((n, x) => n + x.runs, 0)));
    const inShadow = stopped.devices?.filter((d) => d.wave === 'shadow').length ?? 0;
    assert.ok(inShadow >= 1);
    assert.equal(runs.filter((n) => n > 0).length, inShadow, `the shadow stage's devices (${inShadow}) ran 3.0.0 in shadow: ${runs.join(', ')}`);
  });
});
