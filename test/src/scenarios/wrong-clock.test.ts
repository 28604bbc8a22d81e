// Scenario (issue 16 item 2): a box whose clock is 30 days ahead, against a real hub process. The
// agent runs in-process with an injected clock (wall clock + 30 days); it enrolled while its clock
// was right. The hub records its clock offset (GET /devices/{id}, `edgefleet devices ls`), shows the
// deployment whose document the box refuses as expired as `refused` with the reason while the box
// keeps serving, and files the box's windows at the hub's time instead of refusing them as
// future_start.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createAgent, AgentConfig, type Agent } from '@edgefleet/agent';
import { datasetRows, generateVibration, runCli } from '@edgefleet/examples';
import { hubWindows, waitFor, type EnrolledAgent } from '@edgefleet/examples/fleet';
import { enrollAgents } from '../testkit/enroll.js';
import type { Deployment, DeviceInfo } from '@edgefleet/shared';
import { MODEL, fixtureAndHub, infer, type HubSetup } from './helpers.js';

const AHEAD = 30 * 86_400_000;

describe('a box whose clock is 30 days ahead', () => {
  let dir: string;
  let s: HubSetup;
  let dev: EnrolledAgent;
  let agent: Agent | undefined;
  const rows = datasetRows(generateVibration({ rows: 8, seed: 21 }));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-wrong-clock-'));
    s = await fixtureAndHub(dir);
    [dev] = await enrollAgents(s.hub, 1, { dataRoot: join(dir, 'agents'), id: () => 'ahead-1' }) as [EnrolledAgent];
  });
  after(async () => {
    await agent?.stop();
    await s?.hub.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is measured, shown, refused-not-pending, and its windows are placed by the hub clock', async () => {
    const config = AgentConfig.parse({
      dataDir: dev.dataDir, api: { host: '127.0.0.1', port: 0 }, log: { level: 'silent' },
      summaries: { windowSec: 2 }, sync: { brokerUrl: s.hub.mqtt, reconnectMs: 300 },
    });
    agent = createAgent(config, { logger: pino({ level: 'silent' }), reconcileMs: 0, clock: { now: () => Date.now() + AHEAD } });
    await agent.start();
    await agent.manager.install(s.fx.v1); // its trust (365 days) is still valid at +30 days

    const info = await waitFor('hub: the device clock offset', async () => {
      const d = await s.hub.api<DeviceInfo>('GET', `/devices/${dev.deviceId}`);
      return d.clock ? d : undefined;
    }, { timeoutMs: 60_000 });
    assert.ok(Math.abs(info.clock!.offsetMs - AHEAD) < 60_000, `offset ${info.clock!.offsetMs} ms`);
    const ls = await runCli('hub/src/cli/main.ts', ['devices', 'ls', '--hub', s.hub.http, '--token', s.hub.adminToken]);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /CLOCK/);
    assert.match(ls.stdout, new RegExp(`${dev.deviceId}\\s.*\\+30d`));

    // The hub's document (issued now, valid 14 days) is expired on this box: refused, not pending.
    const dep = await s.hub.api<Deployment>('POST', '/deployments', { model: MODEL, version: '2.0.0', target: { devices: [dev.deviceId] }, reason: 'wrong clock' });
    const row = await waitFor('hub: the deployment shows refused', async () => {
      const d = await s.hub.api<Deployment>('GET', `/deployments/${dep.id}`);
      const x = d.devices.find((y) => y.deviceId === dev.deviceId);
      return x?.status === 'refused' ? { x, d } : undefined;
    }, { timeoutMs: 60_000 });
    assert.match(row.x.reason ?? '', /^DOCUMENT_EXPIRED: desired-state document seq \d+ expired at/);
    assert.equal(row.d.counts.refused, 1);
    assert.equal(row.d.counts.active, 0);
    const served = await infer(agent.url, rows.slice(0, 2));
    assert.equal(served.status, 200, JSON.stringify(served.json));
    assert.equal(served.json.model_version, '1.0.0', 'it keeps serving what it runs');

    // Its windows (stamped 30 days ahead) are stored at the hub's time, not refused as future_start.
    const windows = await waitFor('hub: the device windows stored', async () => {
      await infer(agent!.url, rows.slice(2, 4));
      const w = await hubWindows(s.hub.api, dev.deviceId, `model=${MODEL}`);
      return w.length > 0 ? w : undefined;
    }, { timeoutMs: 60_000, intervalMs: 1000 });
    for (const w of windows) assert.ok(Math.abs(Date.parse(w.start) - Date.now()) < 10 * 60_000, `window ${w.seq} placed at ${w.start}`);
    const after = await s.hub.api<DeviceInfo & { ingestRefused?: { windows: Record<string, number> } }>('GET', `/devices/${dev.deviceId}`);
    assert.ok((after.clock?.shiftedWindows ?? 0) >= windows.length);
    assert.equal(after.ingestRefused?.windows['future_start'] ?? 0, 0);
  });
});
