// Remote agent configuration end to end (issue 15 section 1), with a real hub and a real agent process:
// a fleet document set with `edgefleet config set` changes the summary window length of a running agent
// without a restart (its windows get the new length, same process) and the hub shows the version applied;
// a configuration the agent's schema refuses (as from a hub whose schema differs, written straight into
// hub.db) is reported with the field and the last good one stays, and the box's `status` shows it until a
// later one is applied; a setting that needs a restart makes the
// agent stop cleanly with exit code 75, and started again it runs and reports the new configuration.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { datasetRows, generateVibration } from '@edgefleet/examples';
import { startAgent, waitFor, type AgentHandle, type EnrolledAgent } from '@edgefleet/examples/fleet';
import { agentCli } from '../testkit/cli.js';
import { enrollAgents } from '../testkit/enroll.js';
import { RESTART_EXIT_CODE } from '@edgefleet/shared';
import { configTools, fixtureAndHub, infer, localWindows, type HubSetup } from './helpers.js';

describe('remote agent configuration', () => {
  let dir: string;
  let s: HubSetup;
  let dev: EnrolledAgent;
  let agent: AgentHandle | undefined;
  const rows = datasetRows(generateVibration({ rows: 4, seed: 9 }));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-config-'));
    s = await fixtureAndHub(dir);
    [dev] = await enrollAgents(s.hub, 1, { dataRoot: join(dir, 'agents'), id: () => 'cfg-1', tags: () => ({ site: 'north' }) }) as [EnrolledAgent];
  });
  after(async () => {
    await agent?.stop();
    await s?.hub.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const { cli, view } = configTools(() => s, () => dev.deviceId);
  const windowLengths = async () => new Set((await localWindows(dev.dataDir)).map((w) => w.lengthSec));

  it('applies a live setting without a restart, refuses a bad one keeping the last good, restarts cleanly for the rest', async () => {
    agent = await startAgent({ dataDir: dev.dataDir, config: { summaries: { windowSec: 3 }, sync: { reconnectMs: 300 } } });
    const pid = agent.process.child.pid;
    await s.hub.api('POST', '/deployments', { model: 'vibration-anomaly', version: '1.0.0', target: { all: true }, reason: 'config test' });
    await waitFor('v1 serving', async () => (await infer(agent!.url, rows.slice(0, 1))).status === 200, { timeoutMs: 90_000 });

    // 1. A live setting, through the CLI.
    const set = await cli(['set', 'fleet', '--set', 'summaries.windowSec=2', '--set', 'sync.outbox.messagesPerSec=50', '--reason', 'shorter windows for the test']);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /fleet is at version 1 \(2 settings\); sent to 1 devices\n {2}\+ summaries\.windowSec: 2\n/);
    const applied = await waitFor('the hub shows the configuration applied', async () => {
      const v = await view();
      return v.applied ? v : undefined;
    }, { timeoutMs: 30_000 });
    assert.deepEqual(applied.reported?.sources, [{ scope: 'fleet', version: 1 }]);
    assert.equal(applied.settings['summaries.windowSec']?.apply, 'live');
    // Observable: windows of the new length from the same process.
    await waitFor('2 s windows recorded', async () => {
      await infer(agent!.url, rows.slice(0, 2));
      return (await windowLengths()).has(2);
    }, { timeoutMs: 30_000, intervalMs: 500 });
    assert.equal(agent.process.child.exitCode, null, 'no restart');
    assert.equal(agent.process.child.pid, pid);

    const shown = await cli(['show', `device/${dev.deviceId}`, '--effective']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /applied:\s+yes/);
    assert.match(shown.stdout, /summaries\.windowSec\s+2\s+fleet@1\s+live/);

    // 2. A value the agent refuses: a fleet document the hub's own check did not see (written into hub.db
    // as a hub with another schema would), sent with the next document for this device.
    const db = new Database(join(s.hub.dataDir, 'hub.db'), { timeout: 10_000 });
    try {
      db.prepare('INSERT INTO config_documents (scope, version, settings, at, by, reason) VALUES (?, ?, ?, ?, ?, ?)')
        .run('fleet', 2, JSON.stringify({ 'summaries.windowSec': 0 }), new Date().toISOString(), 'test', 'a value this agent refuses');
    } finally {
      db.close();
    }
    const dset = await cli(['set', `device/${dev.deviceId}`, '--set', 'sync.outbox.batchSize=20', '--reason', 'device override']);
    assert.equal(dset.code, 0, dset.stderr);
    const refused = await waitFor('the device reports the refusal', async () => {
      const v = await view();
      return v.reported?.status === 'failed' ? v : undefined;
    }, { timeoutMs: 30_000 });
    assert.equal(refused.applied, false);
    assert.equal(refused.reported?.error?.code, 'CONFIG_INVALID');
    assert.equal(refused.reported?.error?.field, 'summaries.windowSec');
    assert.match(refused.reported?.error?.message ?? '', /summaries\.windowSec/);
    assert.equal(refused.reported?.sha256, applied.sha256, 'the last good configuration is still in effect');
    assert.deepEqual(refused.reported?.sources, [{ scope: 'fleet', version: 1 }]);
    // The operator on the box sees it too: which versions, which setting and why (edgefleet-agent status).
    const local = await agentCli(['status', '--data-dir', dev.dataDir]);
    assert.equal(local.code, 0, local.stderr);
    assert.match(local.stdout, new RegExp(`^remote config fleet@2, device/cfg-1@1 \\(${refused.reported!.error!.sha256.slice(0, 12)}\\) refused at \\S+, the last good one stays: `
      + 'summaries\\.windowSec: CONFIG_INVALID: .*summaries\\.windowSec', 'm'));
    const listed = await cli(['show', 'tag/site=north', '--devices']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /cfg-1\s+\S+\s+fleet@2,device\/cfg-1@1\s+\S+\s+failed \(CONFIG_INVALID: summaries\.windowSec\)\s+no/);
    const before2 = (await localWindows(dev.dataDir)).length;
    await waitFor('still 2 s windows', async () => {
      await infer(agent!.url, rows.slice(0, 1));
      const ws = await localWindows(dev.dataDir);
      return ws.length > before2 && ws.slice(before2).every((w) => w.lengthSec === 2);
    }, { timeoutMs: 30_000, intervalMs: 500 });

    // 3. Repair the fleet document with a setting that needs a restart: the agent exits with 75.
    const diff = await cli(['diff', 'fleet', '--from', '1', '--to', '2']);
    assert.equal(diff.code, 0, diff.stderr);
    assert.match(diff.stdout, /fleet@1 -> fleet@2\n {2}~ summaries\.windowSec: 2 -> 0\n {2}- sync\.outbox\.messagesPerSec: 50\n/);
    const fix = await cli(['set', 'fleet', '--replace', '--set', 'summaries.windowSec=2', '--set', 'runtime.intraOpThreads=1', '--reason', 'repair, and one intra-op thread']);
    assert.equal(fix.code, 0, fix.stderr);
    const exit = await Promise.race([agent.process.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 30_000).unref())]);
    assert.deepEqual(exit, { code: RESTART_EXIT_CODE, signal: null }, 'a clean stop with the restart exit code');
    // What systemd's Restart= does: start it again; it starts with the stored configuration.
    agent = await startAgent({ dataDir: dev.dataDir, config: { summaries: { windowSec: 3 }, sync: { reconnectMs: 300 } } });
    const restarted = await waitFor('the hub shows the new configuration applied', async () => {
      const v = await view();
      return v.applied ? v : undefined;
    }, { timeoutMs: 30_000 });
    assert.deepEqual(restarted.reported?.sources, [{ scope: 'fleet', version: 3 }, { scope: `device/${dev.deviceId}`, version: 1 }]);
    assert.equal(restarted.settings['runtime.intraOpThreads']?.apply, 'restart');
    const stored = JSON.parse(readFileSync(join(dev.dataDir, 'remote-config.json'), 'utf8')) as { sha256: string; confirmed?: boolean };
    assert.deepEqual([stored.sha256, stored.confirmed], [restarted.sha256, true], 'stored, and confirmed once the agent started with it');
    assert.equal(existsSync(join(dev.dataDir, 'remote-config.failed.json')), false);
    assert.doesNotMatch((await agentCli(['status', '--data-dir', dev.dataDir])).stdout, /refused/, 'a later configuration applied: the refusal is no longer shown');
    assert.equal((await infer(agent.url, rows.slice(0, 1))).status, 200);
    const vsFleet = await cli(['diff', `device/${dev.deviceId}`]);
    assert.equal(vsFleet.code, 0, vsFleet.stderr);
    assert.match(vsFleet.stdout, /fleet@3 -> device\/cfg-1 \(layered\)\n {2}\+ sync\.outbox\.batchSize: 20\n/);
  });
});
