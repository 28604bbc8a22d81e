// Scenario (decision 0066, docs/hub.md "Undeploy"): a model leaves boxes only by an operator's explicit
// removal, with real processes. A hub and two agents: every box runs 1.0.0 (deployment to all), the
// canary runs 2.0.0 (a tag deployment). `edgefleet undeploy` of the canary deployment stops the model on
// the canary (its local API answers 410 MODEL_REMOVED with the operator's reason; no fallback to the
// older 1.0.0; `edgefleet-agent status` lists it removed) and the hub sees the removal done; the stable
// box keeps serving. A redeploy serves again.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datasetRows, generateVibration, runCli } from '@edgefleet/examples';
import { startAgent, waitFor, type AgentHandle, type EnrolledAgent } from '@edgefleet/examples/fleet';
import { enrollAgents } from '../testkit/enroll.js';
import { MODEL, fixtureAndHub, infer, type HubSetup } from './helpers.js';

const HUB_CLI = 'hub/src/cli/main.ts';
const AGENT_CLI = 'agent/src/cli/main.ts';

describe('undeploy through a real hub and agents', () => {
  let dir: string;
  let s: HubSetup;
  let canary: EnrolledAgent;
  let stable: EnrolledAgent;
  const agents: AgentHandle[] = [];
  const rows = datasetRows(generateVibration({ rows: 2, seed: 5 }));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-undeploy-'));
    s = await fixtureAndHub(dir);
    [canary, stable] = await enrollAgents(s.hub, 2, { dataRoot: join(dir, 'agents'), id: (i) => ['u-canary', 'u-stable'][i] as string, tags: (i) => ({ ring: i === 0 ? 'canary' : 'stable' }) }) as [EnrolledAgent, EnrolledAgent];
  });
  after(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await s?.hub.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const served = async (a: AgentHandle) => (await infer(a.url, rows.slice(0, 1))).json?.model_version as string | undefined;
  const cli = (args: string[]) => runCli(HUB_CLI, [...args, '--hub', s.hub.http, '--token', s.hub.adminToken]);

  it('stops the model on the canary only, says why to the box\'s callers, and a redeploy serves again', async () => {
    const [a1, a2] = await Promise.all([canary, stable].map((d) => startAgent({ dataDir: d.dataDir }))) as [AgentHandle, AgentHandle];
    agents.push(a1, a2);
    await s.hub.api('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { all: true }, reason: 'everyone' });
    const dep = await s.hub.api<{ id: number }>('POST', '/deployments', { model: MODEL, version: '2.0.0', target: { tags: { ring: 'canary' } }, reason: 'canary' });
    await waitFor('canary on 2.0.0, stable on 1.0.0', async () => ((await served(a1)) === '2.0.0' && (await served(a2)) === '1.0.0' ? true : undefined), { timeoutMs: 90_000 });

    const dry = await cli(['undeploy', String(dep.id), '--reason', '2.0.0 retired', '--dry-run', '--json']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual((JSON.parse(dry.stdout) as { deviceIds: string[] }).deviceIds, ['u-canary']);
    const done = await cli(['undeploy', String(dep.id), '--reason', '2.0.0 retired']);
    assert.equal(done.code, 0, done.stderr);

    // The canary stops serving the model (no fallback to the older deployment's 1.0.0), naming the reason.
    const refused = await waitFor('the canary answers MODEL_REMOVED', async () => {
      const r = await infer(a1.url, rows.slice(0, 1));
      return r.status === 410 ? r : undefined;
    }, { timeoutMs: 60_000 });
    const error = refused.json as { error: string; code: string };
    assert.equal(error.code, 'MODEL_REMOVED');
    assert.match(error.error, /2\.0\.0 retired/);
    const ready = await fetch(`${a1.url}/v2/models/${MODEL}/ready`);
    assert.equal(ready.status, 410);
    assert.equal(await served(a2), '1.0.0', 'the stable box keeps serving');

    // The box reports the model removed: the hub's row is `removed`; `edgefleet-agent status` on the box says so.
    await waitFor('the hub sees the removal done', async () => {
      const d = await s.hub.api<{ devices: Array<{ deviceId: string; status: string }> }>('GET', `/deployments/${dep.id}`);
      return d.devices.find((x) => x.deviceId === 'u-canary')?.status === 'removed' ? true : undefined;
    }, { timeoutMs: 60_000 });
    const st = await runCli(AGENT_CLI, ['status', '--json', '--data-dir', canary.dataDir]);
    assert.equal(st.code, 0, st.stderr);
    const box = JSON.parse(st.stdout) as { models: Array<{ name: string }>; removed: Array<{ name: string; reason: string; installed: string[] }> };
    assert.deepEqual([box.models.map((m) => m.name), box.removed.map((r) => [r.name, r.reason, r.installed.includes('2.0.0')])], [[], [[MODEL, '2.0.0 retired', true]]]);
    const again = await cli(['undeploy', String(dep.id), '--reason', 'twice']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /undeployed already/);

    // A deployment of the model again wins over the removal: the canary serves the kept version.
    await s.hub.api('POST', '/deployments', { model: MODEL, version: '2.0.0', target: { devices: ['u-canary'] }, reason: 'back' });
    await waitFor('the canary serves 2.0.0 again', async () => ((await served(a1)) === '2.0.0' ? true : undefined), { timeoutMs: 90_000 });
  });
});
