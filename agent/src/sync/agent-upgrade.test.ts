// An agent upgraded under a model it was too old for installs it at its next start, with a real hub
// process, its real broker and real agent processes (the same build started as 0.1.0, then as 0.2.0
// through EDGEFLEET_AGENT_VERSION_OVERRIDE). Before, the version stayed blocked under the applied document:
// the agent logged "desired document already applied: nothing to do" and the deployment showed the stale
// AGENT_TOO_OLD for ever, until an operator deployed the same version again (decision 0126).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { enrollAgents, pushBundle, startAgent, startHub, waitFor, type AgentHandle, type HubHandle } from '@edgefleet/examples/fleet';
import { makeKit, mlpBundle } from '../testing.js';

const row = { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [0.5, -1, 2, 0.25] }] };
type Dep = { id: number; devices: Array<{ deviceId: string; status: string; reason?: string | null }> };

test('an agent upgraded past a version\'s minAgentVersion installs it at start, without a new deployment', async () => {
  const kit = makeKit('ef-agent-upgrade-');
  let hub: HubHandle | undefined;
  let agent: AgentHandle | undefined;
  try {
    hub = await startHub({ dataDir: join(kit.dir, 'hub'), trustPath: kit.trust.path, hubKeyPath: kit.keys.files.hub.keyPath });
    const h = hub;
    for (const [version, minAgentVersion] of [['1.0.0', '0.1.0'], ['2.0.0', '0.2.0']] as const) {
      await pushBundle(h, (await mlpBundle(kit, version, { runtime: { minAgentVersion } })).path);
    }
    const [box] = await enrollAgents(h, 1, { dataRoot: join(kit.dir, 'agents'), id: () => 'box-1' });
    const served = async (a: AgentHandle) => {
      const res = await fetch(`${a.url}/v2/models/mlp/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(row) });
      return res.status === 200 ? ((await res.json()) as { model_version: string }).model_version : undefined;
    };
    const status = (id: number) => h.api<Dep>('GET', `/deployments/${id}`).then((d) => d.devices.find((x) => x.deviceId === 'box-1'));

    agent = await startAgent({ dataDir: box!.dataDir, env: { EDGEFLEET_AGENT_VERSION_OVERRIDE: '0.1.0' } });
    const d1 = await h.api<Dep>('POST', '/deployments', { model: 'mlp', version: '1.0.0', target: { devices: ['box-1'] }, reason: 'baseline' });
    await waitFor('1.0.0 served', async () => (await served(agent!)) === '1.0.0' || undefined, { timeoutMs: 60_000 });
    await waitFor('hub: 1.0.0 active', async () => (await status(d1.id))?.status === 'active' || undefined, { timeoutMs: 30_000 });
    const d2 = await h.api<Dep>('POST', '/deployments', { model: 'mlp', version: '2.0.0', target: { devices: ['box-1'] }, reason: 'needs 0.2.0' });
    const failed = await waitFor('hub: 2.0.0 failed', async () => {
      const x = await status(d2.id);
      return x?.status === 'failed' ? x : undefined;
    }, { timeoutMs: 60_000 });
    assert.match(failed.reason ?? '', /^AGENT_TOO_OLD: mlp@2\.0\.0 needs agent 0\.2\.0 or newer: this agent is 0\.1\.0/);
    assert.equal(await served(agent), '1.0.0', 'the box keeps serving what it ran');
    await agent.stop();

    // The same box, its agent upgraded: the applied document is taken again at start and 2.0.0 installs.
    agent = await startAgent({ dataDir: box!.dataDir, env: { EDGEFLEET_AGENT_VERSION_OVERRIDE: '0.2.0' } });
    await waitFor('2.0.0 served after the upgrade', async () => (await served(agent!)) === '2.0.0' || undefined, { timeoutMs: 60_000 });
    await waitFor('hub: 2.0.0 active', async () => (await status(d2.id))?.status === 'active' || undefined, { timeoutMs: 30_000 });
    assert.ok(agent.process.output().stderr.includes('"msg":"mlp@2.0.0 failed under another agent version (AGENT_TOO_OLD: mlp@2.0.0 needs agent 0.2.0 or newer: this agent is 0.1.0): tried again with agent 0.2.0"'), agent.process.output().stderr);
  } finally {
    await agent?.stop();
    await hub?.stop();
    kit.cleanup();
  }
});
