// Re-tagging devices out of a running model rollout's tags with `edgefleet devices tag`, against a real hub
// process and real agent processes (docs/rollouts.md "Cohorts", decision 0093): the box the rollout told
// is refused (CONFLICT naming the rollout, its tags unchanged, still serving the new version); the box not
// told yet is re-tagged and leaves the rollout, still serving the version it ran.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@edgefleet/examples/fleet';
import { datasetRows, generateVibration, runCli } from '@edgefleet/examples';
import type { AuditList, DeviceInfo, Rollout } from '@edgefleet/shared';
import { MODEL, getJson, infer } from './helpers.js';
import { rolloutFleet } from './rollout-fleet.js';

describe('re-tagging devices out of a running rollout', () => {
  const f = rolloutFleet({
    name: 'ef-retag-', hubConfig: { rollouts: { tickMs: 300, jitter: 0.1 } }, agents: 2, bundles: [],
    tags: (i): Record<string, string> => (i === 0 ? { site: 'north', ring: 'canary' } : { site: 'north' }),
  });
  const probe = datasetRows(generateVibration({ rows: 1, seed: 5 }));
  const cli = (args: string[]) => runCli('hub/src/cli/main.ts', args, { env: { EDGEFLEET_HUB: f.hub.http, EDGEFLEET_TOKEN: f.hub.adminToken } });

  it('refuses the told box and lets the box not told leave', async () => {
    const { hub, agents, devs } = f;
    const [told, waiting] = devs.map((d) => d.deviceId) as [string, string];
    await hub.api('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { all: true }, reason: 'baseline' });
    for (const a of agents) await waitFor(`${a.dataDir}: v1 ready`, async () => (await getJson(`${a.url}/v2/models/${MODEL}/ready`))?.json?.ready === true, { timeoutMs: 90_000 });
    const r = await hub.api<Rollout>('POST', '/rollouts', {
      model: MODEL, version: '2.0.0', target: { tags: { site: 'north' } }, reason: 'retrained',
      waves: [{ name: 'canary', tags: { ring: 'canary' }, bakeSec: 3600 }, { name: 'all', percent: 100, bakeSec: 1 }],
    });
    await waitFor('the canary box serving 2.0.0', async () => (await infer(agents[0]!.url, probe)).json?.model_version === '2.0.0', { timeoutMs: 90_000, intervalMs: 250 });

    const no = await cli(['devices', 'tag', told, '--tag', 'site=south', '--reason', 'moved']);
    assert.equal(no.code, 1, no.stdout);
    assert.match(no.stderr, new RegExp(`error \\[CONFLICT\\]: hub: rollout ${r.id} \\(${MODEL} 2\\.0\\.0, running\\) told ${told} already and its target is tags site=north: `));
    assert.deepEqual((await hub.api<DeviceInfo>('GET', `/devices/${told}`)).tags, { site: 'north', ring: 'canary' });

    const yes = await cli(['devices', 'tag', waiting, '--tag', 'site=south', '--reason', 'moved']);
    assert.equal(yes.code, 0, yes.stderr);
    const after = await hub.api<Rollout>('GET', `/rollouts/${r.id}`);
    assert.deepEqual(after.devices?.map((d) => d.deviceId), [told], 'the box not told left the rollout');
    const audit = await hub.api<AuditList>('GET', `/audit?action=device.tags&target=${waiting}`);
    assert.deepEqual((audit.entries.at(-1)?.details as { leftRollouts?: string[] }).leftRollouts, [r.id]);
    assert.equal((await infer(agents[1]!.url, probe)).json?.model_version, '1.0.0');
    assert.equal((await infer(agents[0]!.url, probe)).json?.model_version, '2.0.0');
  });
});
