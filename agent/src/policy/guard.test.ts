// Policy on a standalone box (never enrolled, no hub): a version installed with the real
// `edgefleet-agent install` whose manifest policy is breached (p95 latency above 1 µs: every real
// prediction is slower) is rolled back to the previous version, with the breach recorded as events;
// whether the CLI installed it while the daemon ran or before the daemon started. A CLI rollback
// ends the watch instead of starting one.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli } from '@edgefleet/examples';
import { waitFor } from '@edgefleet/examples/fleet';
import { pino } from 'pino';
import type { Agent } from '../agent.js';
import { PolicyGuard } from './guard.js';
import { makeKit, mlpBundle, provision, req, row, startAgent, type Kit } from '../testing.js';

const CLI = 'agent/src/cli/main.ts';
const SLOW = { maxP95LatencyMs: 0.001, minRequests: 5, observationWindowSec: 3600 };

describe('policy rollback on a standalone box', () => {
  let kit: Kit;
  let v1: string;
  let bad: string;
  let good: string;
  let n = 0;
  const agents: Agent[] = [];
  before(async () => {
    kit = makeKit('ef-policy-');
    v1 = (await mlpBundle(kit, '1.0.0', { seed: 1 })).path;
    bad = (await mlpBundle(kit, '2.0.0', { seed: 2, policy: SLOW })).path;
    good = (await mlpBundle(kit, '3.0.0', { seed: 3 })).path;
  });
  after(async () => {
    for (const a of agents) await a.stop();
    kit.cleanup();
  });

  /** A data dir with trust and 1.0.0 installed by the agent's commands (in this process: setup). */
  async function dataDir(): Promise<string[]> {
    const d = ['--data-dir', join(kit.dir, `data-${++n}`)];
    await provision(d[1]!, kit.trust.path, [v1]);
    return d;
  }
  async function start(d: string[]): Promise<Agent> {
    const a = await startAgent(d[1]!, {}, { reconcileMs: 50 });
    agents.push(a);
    assert.equal(a.sync, undefined, 'standalone: no hub link');
    return a;
  }
  const served = async (a: Agent) => (await req(a.url, 'POST', '/v2/models/mlp/infer', row([1, 2, 3, 4]))).json?.model_version as string;

  async function expectRollback(a: Agent): Promise<void> {
    for (let i = 0; i < 12; i++) assert.equal((await req(a.url, 'POST', '/v2/models/mlp/infer', row([1, 2, 3, i]))).status, 200);
    await waitFor('rolled back to 1.0.0', async () => (await served(a)) === '1.0.0');
    assert.deepEqual(a.models.getActive('mlp') && [a.models.getActive('mlp')!.active, a.models.getActive('mlp')!.previous], ['1.0.0', '2.0.0']);
    const events = a.events.list();
    const breach = events.find((e) => e.kind === 'policy_breach' && e.version === '2.0.0');
    assert.ok(breach, `policy_breach recorded: ${JSON.stringify(events.map((e) => e.kind))}`);
    assert.equal(breach.code, 'POLICY_BREACH');
    assert.match(breach.message, /policy breached after \d+ requests: p95 latency .* > 0\.001 ms/);
    assert.ok((breach.data?.requests as number) >= 5, JSON.stringify(breach.data));
    assert.ok((breach.data?.p95Ms as number) > 0.001, JSON.stringify(breach.data));
    const rolled = events.find((e) => e.kind === 'rolled_back' && e.code === 'POLICY_BREACH');
    assert.ok(rolled, 'rolled_back recorded with the reason');
    assert.match(rolled.message, /rolled back mlp from 2\.0\.0 to 1\.0\.0: policy breached/);
    assert.equal(a.policy?.watching('mlp'), undefined, 'the rolled-back-to version is not watched');
  }

  it('rolls back a version the CLI installed while the daemon runs', async () => {
    const d = await dataDir();
    const a = await start(d);
    assert.equal(await served(a), '1.0.0');
    assert.equal(a.policy?.watching('mlp'), undefined, 'the first version has nothing to roll back to');
    const r = await runCli(CLI, ['install', bad, ...d]);
    assert.equal(r.code, 0, r.stderr);
    await waitFor('2.0.0 serving and watched', async () => (await served(a)) === '2.0.0' && a.policy?.watching('mlp') === '2.0.0');
    await expectRollback(a);
    // A standalone box says why it is back on 1.0.0 without its daemon's log.
    const st = await runCli(CLI, ['status', ...d]);
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, /^model {8}mlp 1\.0\.0 active \(previous 2\.0\.0; .*\)\n {2}rolled back \S+ \[POLICY_BREACH\]: rolled back mlp from 2\.0\.0 to 1\.0\.0: policy breached after \d+ requests: p95 latency/m);
    const json = JSON.parse((await runCli(CLI, ['status', '--json', ...d])).stdout) as { models: Array<{ rolledBack: { code: string; message: string } | null }> };
    assert.equal(json.models[0]?.rolledBack?.code, 'POLICY_BREACH');
  });

  it('resumes the watch at start for a version installed while the daemon was down', async () => {
    const d = await dataDir();
    const r = await runCli(CLI, ['install', bad, ...d]);
    assert.equal(r.code, 0, r.stderr);
    const a = await start(d);
    assert.equal(await served(a), '2.0.0');
    assert.equal(a.policy?.watching('mlp'), '2.0.0');
    await expectRollback(a);
  });

  it('a switch stamped ahead of the clock (booted at 1970, no NTP yet) is watched for one window at most, not the years between', async (t) => {
    const d = await dataDir();
    assert.equal((await runCli(CLI, ['install', bad, ...d])).code, 0);
    const a = await start(d);
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const guard = new PolicyGuard({ models: a.models, events: a.events, manager: a.manager, emit: () => undefined, logger: pino({ level: 'silent' }), now: () => 0 });
    t.after(() => guard.stop());
    guard.start();
    assert.equal(guard.watching('mlp'), '2.0.0');
    t.mock.timers.tick(SLOW.observationWindowSec * 1000);
    assert.equal(guard.watching('mlp'), undefined, 'over after one window');
  });

  it('a rollback by the CLI ends the watch; it starts no new one', async () => {
    const d = await dataDir();
    const a = await start(d);
    assert.equal((await runCli(CLI, ['install', good, ...d])).code, 0);
    await waitFor('3.0.0 watched', () => a.policy?.watching('mlp') === '3.0.0');
    assert.equal((await runCli(CLI, ['rollback', 'mlp', ...d])).code, 0);
    await waitFor('1.0.0 serving again', async () => (await served(a)) === '1.0.0');
    assert.equal(a.policy?.watching('mlp'), undefined);
    assert.equal(a.events.list().filter((e) => e.kind === 'policy_breach').length, 0);
  });
});
