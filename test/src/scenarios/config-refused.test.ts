// A configuration the hub accepts and a box refuses, with a real hub process and real agent processes
// (docs/rollouts.md "Configuration rollouts", docs/decisions/0088-one-configuration-rollout-per-device.md):
// api.maxBodyBytes of 32 MiB passes the hub's check (gRPC is off by default) but not a box whose local
// configuration turns gRPC on (16 calls × 32 MiB past 4 × api.maxInflightBodyBytes). The staging ring is
// that box: it refuses, the wave fails and is rolled back, the other box is never sent it, and the rollout
// still says which box refused and why once the box is back on the previous document and reports no refusal.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '@edgefleet/examples';
import { startAgents, waitFor, type AgentHandle, type EnrolledAgent } from '@edgefleet/examples/fleet';
import { enrollAgents } from '../testkit/enroll.js';
import type { DeviceConfigView, Rollout } from '@edgefleet/shared';
import { fixtureAndHub, type HubSetup } from './helpers.js';

describe('a configuration a box refuses, rolled through a ring', () => {
  let dir: string;
  let s: HubSetup;
  let devs: EnrolledAgent[];
  let agents: AgentHandle[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-cfgrefused-'));
    s = await fixtureAndHub(dir, { config: { rollouts: { tickMs: 300, jitter: 0.1 } } });
    devs = await enrollAgents(s.hub, 2, { dataRoot: join(dir, 'agents') });
    agents = await startAgents(devs.map((d, i) => ({ dataDir: d.dataDir, config: { sync: { reconnectMs: 300 }, ...(i === 0 ? { api: { grpc: { enabled: true, port: 0 } } } : {}) } })));
  });
  after(async () => {
    for (const a of agents) await a.stop();
    await s?.hub.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = (args: string[]) => runCli('hub/src/cli/main.ts', args, { env: { EDGEFLEET_HUB: s.hub.http, EDGEFLEET_TOKEN: s.hub.adminToken } });
  const view = (id: string) => s.hub.api<DeviceConfigView>('GET', `/devices/${id}/config`);

  it('is rolled back at the ring, and the rollout names the box and its refusal', async () => {
    const [ring, other] = devs.map((d) => d.deviceId) as [string, string];
    assert.equal((await cli(['devices', 'tag', ring, '--tag', 'grp=ring', '--reason', 'grpc box'])).code, 0);
    assert.equal((await cli(['config', 'set', 'fleet', '--set', 'log.level=info', '--reason', 'baseline'])).code, 0);
    for (const id of [ring, other]) await waitFor(`${id}: baseline applied`, async () => (await view(id)).applied, { timeoutMs: 30_000 });

    const set = await cli(['config', 'set', 'fleet', '--set', 'api.maxBodyBytes=33554432', '--reason', 'bigger bodies', '--rollout', '--wave', 'ring:tag=grp=ring:bake=1s', '--wave', 'all:100%:bake=1s']);
    assert.equal(set.code, 0, set.stderr);
    const id = /rollout (ro-[0-9a-f]{10})/.exec(set.stdout)![1]!;
    const r = await waitFor('rolled back', async () => {
      const x = await s.hub.api<Rollout>('GET', `/rollouts/${id}`);
      if (x.state === 'completed') throw new Error('a refused configuration completed');
      return x.state === 'rolled_back' ? x : undefined;
    }, { timeoutMs: 60_000, intervalMs: 250 });
    assert.match(r.stateReason ?? '', /^wave ring failed its gates: config_applied 0 /);
    // Back on the previous settings, the box reports them applied and no refusal any more.
    await waitFor('the ring box back on the previous document', async () => {
      const v = await view(ring);
      return v.applied && v.sources[0]?.version === 3;
    }, { timeoutMs: 30_000 });
    assert.equal((await view(ring)).reported?.error, undefined, 'the box reports no refusal now');
    assert.deepEqual((await view(other)).sources, [{ scope: 'fleet', version: 3 }], 'the other box was never sent version 2');

    const shown = await cli(['rollout', 'show', id]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`config_applied .* 1 refused the configuration: ${ring} \\(CONFIG_INVALID .*api\\.grpc\\.maxCalls × api\\.maxBodyBytes is 16 × 32 MiB`));
    assert.match(shown.stdout, new RegExp(`${ring} .* ring .* rolled_back`));
  });
});
