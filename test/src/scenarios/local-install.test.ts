// A version installed on a connected box by `edgefleet-agent install` beside the running daemon (a USB
// stick on an enrolled box): the daemon switches to it, and its first windows reach the hub and are
// stored, not refused as `unassigned_version` and acked away (the agent reports a newly installed version
// before it sends windows naming it; agent/src/sync/client.ts publishOutbox).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datasetRows, generateVibration, runCli } from '@edgefleet/examples';
import { startAgent, waitFor, type AgentHandle, type EnrolledAgent } from '@edgefleet/examples/fleet';
import { enrollAgents } from '../testkit/enroll.js';
import type { DeviceInfo } from '@edgefleet/shared';
import { MODEL, fixtureAndHub, infer, type HubSetup } from './helpers.js';

describe('a local install on a connected box', () => {
  let dir: string;
  let s: HubSetup;
  let dev: EnrolledAgent;
  let agent: AgentHandle | undefined;
  const rows = datasetRows(generateVibration({ rows: 4, seed: 3 }));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-local-install-'));
    s = await fixtureAndHub(dir);
    [dev] = await enrollAgents(s.hub, 1, { dataRoot: join(dir, 'agents'), id: () => 'usb-1' }) as [EnrolledAgent];
  });
  after(async () => {
    await agent?.stop();
    await s?.hub.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const served = async () => (await infer(agent!.url, rows.slice(0, 1))).json?.model_version as string | undefined;
  type Windows = { windows: Array<{ version: string; count: number }> };

  it('the new version\'s first windows are stored by the hub, none refused', { timeout: 180_000 }, async () => {
    agent = await startAgent({ dataDir: dev.dataDir, config: { summaries: { windowSec: 1 } } });
    await s.hub.api('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { devices: [dev.deviceId] }, reason: 'local install test: baseline' });
    await waitFor('1.0.0 serving', async () => (await served()) === '1.0.0', { timeoutMs: 90_000 });
    const r = await runCli('agent/src/cli/main.ts', ['install', s.fx.v2, '--data-dir', dev.dataDir]);
    assert.equal(r.code, 0, r.stderr);
    // It says how long the switch lasts: the hub assigns 1.0.0 and wins at its next document or a restart.
    assert.match(r.stderr, new RegExp(`^note: this box is enrolled as usb-1 and its hub assigns ${MODEL}@1\\.0\\.0 \\(desired seq \\d+\\): the agent switches back to it at the next desired document or its next start\\. To keep ${MODEL}@2\\.0\\.0 here, deploy it from the hub\\.\\n$`));
    // Traffic from the moment the daemon serves it: its first window closes within a second.
    await waitFor('2.0.0 serving', async () => (await served()) === '2.0.0', { timeoutMs: 30_000, intervalMs: 20 });
    for (let i = 0; i < 20; i++) await infer(agent.url, rows.slice(0, 2));
    await waitFor('2.0.0 windows stored', async () => {
      const w = await s.hub.api<Windows>('GET', `/devices/${dev.deviceId}/windows?model=${MODEL}&version=2.0.0`);
      return w.windows.reduce((n, x) => n + x.count, 0) >= 40 || undefined;
    }, { timeoutMs: 60_000 });
    const d = await s.hub.api<DeviceInfo>('GET', `/devices/${dev.deviceId}`);
    assert.equal(d.ingestRefused, undefined, `nothing refused: ${JSON.stringify(d.ingestRefused)}`);
    assert.ok(d.models.some((m) => m.version === '2.0.0'), 'the hub knows the box runs 2.0.0');
    // Back to the version the hub assigns: nothing to note.
    const back = await runCli('agent/src/cli/main.ts', ['activate', MODEL, '1.0.0', '--data-dir', dev.dataDir]);
    assert.deepEqual([back.code, back.stderr], [0, '']);
  });
});
