// Scenario (decision 0031), real processes on 127.0.0.1 port 0: a hub (`edgefleet-hub run`) and an
// enrolled agent (`edgefleet-agent run`). A deployment of v2 with a maintenance window that is closed
// now: the box downloads v2 at once, keeps serving v1, and the hub shows the device `deferred` with the
// window's next opening. Then the box's update lock defers a deployment without a window (UPDATE_LOCKED
// on the hub) until the app removes the lock: the box switches and the hub shows it active.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datasetRows, generateVibration } from '@edgefleet/examples';
import { startAgent, waitFor, type AgentHandle, type EnrolledAgent } from '@edgefleet/examples/fleet';
import { enrollAgents } from '../testkit/enroll.js';
import { MODEL, fixtureAndHub, infer, type HubSetup } from './helpers.js';

type Dep = { id: number; devices: Array<{ deviceId: string; status: string; reason: string | null }> };

describe('maintenance window and update lock, hub and agent processes', () => {
  let dir: string;
  let s: HubSetup;
  let dev: EnrolledAgent;
  let agent: AgentHandle | undefined;
  const rows = datasetRows(generateVibration({ rows: 2, seed: 3 }));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-window-'));
    s = await fixtureAndHub(dir);
    [dev] = await enrollAgents(s.hub, 1, { dataRoot: join(dir, 'agents'), id: () => 'window-1' }) as [EnrolledAgent];
  });
  after(async () => {
    await agent?.stop();
    await s?.hub.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const row = (id: number) => s.hub.api<Dep>('GET', `/deployments/${id}`).then((d) => d.devices.find((x) => x.deviceId === dev.deviceId));
  const version = async () => (await infer(agent!.url, rows.slice(0, 1))).json?.model_version as string | undefined;
  const lock = async (method: string, body?: unknown) => {
    const res = await fetch(`${agent!.url}/edgefleet/v1/update-lock`, { method, headers: { 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    return { status: res.status, json: (await res.json()) as { locked: boolean; until?: string } };
  };

  it('defers outside the window and under the lock, shown on the hub; switches when the lock goes', async () => {
    agent = await startAgent({ dataDir: dev.dataDir, config: { sync: { reconnectMs: 300 } } });
    await s.hub.api('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { devices: [dev.deviceId] }, reason: 'baseline' });
    await waitFor('v1 serving', async () => (await version()) === '1.0.0', { timeoutMs: 90_000 });

    // A daily one-hour window opening twelve hours from now (UTC): closed for the whole test.
    const opens = new Date(Math.floor(Date.now() / 3600_000) * 3600_000 + 12 * 3600_000);
    const d2 = await s.hub.api<Dep>('POST', '/deployments', { model: MODEL, version: '2.0.0', target: { devices: [dev.deviceId] }, reason: 'at night', window: { cron: `0 ${opens.getUTCHours()} * * *`, durationSec: '1h' } });
    const deferred = await waitFor('hub: deferred outside the window', async () => {
      const x = await row(d2.id);
      return x?.status === 'deferred' ? x : undefined;
    }, { timeoutMs: 90_000 });
    assert.match(deferred.reason ?? '', new RegExp(`^OUTSIDE_WINDOW: outside the maintenance window "0 ${opens.getUTCHours()} \\* \\* \\*" for 1h in UTC: it opens at ${opens.toISOString()}`));
    assert.equal(await version(), '1.0.0', 'v1 keeps serving');

    // The app locks; a deployment without a window (same version) now waits for the lock instead.
    const l = await lock('POST', { ttlSec: 3600, reason: 'calibration run' });
    assert.equal(l.status, 200);
    const d3 = await s.hub.api<Dep>('POST', '/deployments', { model: MODEL, version: '2.0.0', target: { devices: [dev.deviceId] }, reason: 'now, please' });
    const locked = await waitFor('hub: deferred by the update lock', async () => {
      const x = await row(d3.id);
      return x?.status === 'deferred' && x.reason?.startsWith('UPDATE_LOCKED') ? x : undefined;
    }, { timeoutMs: 60_000 });
    assert.match(locked.reason ?? '', /update lock is in force until .* \(calibration run\)/);
    assert.equal(await version(), '1.0.0');

    assert.equal((await lock('DELETE')).json.locked, false);
    await waitFor('switched to v2 once the lock was removed', async () => (await version()) === '2.0.0', { timeoutMs: 30_000 });
    await waitFor('hub: active', async () => (await row(d3.id))?.status === 'active', { timeoutMs: 30_000 });
  });
});
