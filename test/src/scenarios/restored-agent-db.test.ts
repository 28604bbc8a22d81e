// A box whose data dir is put back from a backup (docs/operations.md "Upgrades": to go back, restore the
// backup taken before the upgrade) numbers its outbox again from where the backup stood, below seqs the
// hub already holds from it. The hub stores a (device, seq) once and acks a resend, so every window and
// event numbered into that range was acked and dropped: silently lost. The hub's acks carry the highest
// seq it holds from the device; an agent behind it moves what it has not had acked above it
// (docs/agent.md "Outbox"). Real hub and agent processes, the data dir copied as an operator would.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datasetRows, generateVibration } from '@edgefleet/examples';
import { hubEvents, hubWindows, startAgent, waitFor, type AgentHandle, type EnrolledAgent } from '@edgefleet/examples/fleet';
import { enrollAgents } from '../testkit/enroll.js';
import { MODEL, fixtureAndHub, infer, outboxWindows, type HubSetup } from './helpers.js';

const CONFIG = { summaries: { windowSec: 1, checkpointSec: 1 }, sync: { reconnectMs: 300, outbox: { resendAfterMs: 2000 } } };

describe('an agent data dir restored from a backup', () => {
  let dir: string;
  let s: HubSetup;
  let dev: EnrolledAgent;
  let agent: AgentHandle | undefined;
  const rows = datasetRows(generateVibration({ rows: 4, seed: 11 }));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-restored-db-'));
    s = await fixtureAndHub(dir);
    [dev] = await enrollAgents(s.hub, 1, { dataRoot: join(dir, 'agents'), id: () => 'restored-1' }) as [EnrolledAgent];
  });
  after(async () => {
    await agent?.stop();
    await s?.hub.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Serves `n` one-row requests spread over a few 1 s windows, then stops the agent once the hub has them all. */
  const phase = async (n: number, want: number) => {
    agent = await startAgent({ dataDir: dev.dataDir, config: CONFIG });
    await waitFor('v1 served', async () => ((await infer(agent!.url, rows.slice(0, 1))).status === 200 ? true : undefined), { timeoutMs: 90_000 });
    for (let i = 1; i < n; i++) {
      assert.equal((await infer(agent.url, rows.slice(0, 1))).status, 200);
      await new Promise((r) => setTimeout(r, 100));
    }
    await waitFor('the outbox drained', async () => (await outboxWindows(dev.dataDir)) === 0 ? true : undefined, { timeoutMs: 60_000, intervalMs: 500 });
    const stored = async () => (await hubWindows(s.hub.api, dev.deviceId, `model=${MODEL}`)).reduce((sum, w) => sum + w.count, 0);
    await waitFor(`the hub counts ${want} predictions`, async () => ((await stored()) >= want ? true : undefined), { timeoutMs: 20_000, intervalMs: 500 }).catch(() => undefined);
    await agent.stop();
    agent = undefined;
    return stored();
  };

  it('the windows recorded after the restore reach the hub', async () => {
    await s.hub.api('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { devices: [dev.deviceId] }, reason: 'restore test' });
    assert.equal(await phase(20, 20), 20);
    const backup = join(dir, 'backup');
    cpSync(dev.dataDir, backup, { recursive: true });
    assert.equal(await phase(20, 40), 40);
    // Back to the backup, as after an upgrade rolled back.
    rmSync(dev.dataDir, { recursive: true, force: true });
    cpSync(backup, dev.dataDir, { recursive: true });
    assert.equal(await phase(20, 60), 60, 'every prediction served after the restore is counted at the hub');
    const windows = await hubWindows(s.hub.api, dev.deviceId, `model=${MODEL}`);
    assert.equal(new Set(windows.map((w) => w.seq)).size, windows.length, 'no seq stored twice');
    const told = (await hubEvents(s.hub.api, dev.deviceId)).filter((e) => e.code === 'SEQ_BEHIND_HUB');
    assert.equal(told.length, 1, 'the box told the hub what it did');
  });
});
