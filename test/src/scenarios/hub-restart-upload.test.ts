// Fault test (issue 5): the whole hub stops (once SIGTERM, once SIGKILL) while two agents upload
// summary windows (1 s windows, steady traffic), and comes back on the same data dir and ports.
// After things settle, every window each device recorded is at the hub exactly once (same count per
// device, no duplicate seq or window), and the hub's merged totals equal the sum of the devices' own.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hubWindows, startAgents, startHub, trafficLoop, vibrationRows, waitFor, type AgentHandle, type EnrolledAgent, type HubHandle } from '@edgefleet/examples/fleet';
import { enrollAgents } from '../testkit/enroll.js';
import { windowTotals, type SummaryWindow } from '@edgefleet/shared';
import { MODEL, agentMetric, fixtureAndHub, getJson, localWindows, outboxWindows, type HubSetup, type HubWindow } from './helpers.js';

const AGENT_CONFIG = { summaries: { windowSec: 1 }, sync: { reconnectMs: 300, outbox: { messagesPerSec: 50, resendAfterMs: 3000 } } };

describe('hub restart while agents upload', () => {
  let dir: string;
  let s: HubSetup;
  let hub: HubHandle;
  let devs: EnrolledAgent[];
  const agents: AgentHandle[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-hub-restart-'));
    s = await fixtureAndHub(dir);
    hub = s.hub;
    devs = await enrollAgents(hub, 2, { dataRoot: join(dir, 'agents'), id: (i) => `up-${i + 1}` });
  });
  after(async () => {
    await Promise.allSettled(agents.map((a) => a.stop()));
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const storedCount = async (deviceId: string) =>
    (await hubWindows(hub.api, deviceId, `model=${MODEL}`)).length;
  const connected = (a: AgentHandle) => agentMetric(a.url, 'edgefleet_agent_hub_connected');
  const pendingWindows = (a: AgentHandle) => agentMetric(a.url, 'edgefleet_agent_outbox_items{kind="window"}');

  // Stops the hub, waits until every agent has seen the link drop and queued windows the hub has not
  // got (their outbox), restarts it on the same ports, and waits until every agent is connected again
  // and the hub holds more of each device's windows than before.
  const restartHub = async (signal: 'SIGTERM' | 'SIGKILL') => {
    const http = Number(new URL(hub.http).port);
    const mqtt = Number(new URL(hub.mqtt).port);
    const before = await Promise.all(devs.map((d) => storedCount(d.deviceId)));
    if (signal === 'SIGTERM') await hub.stop();
    else await hub.process.stop('SIGKILL');
    for (const a of agents) {
      await waitFor(`${a.dataDir}: link down and windows queued while the hub is away`, async () =>
        (await connected(a)) === 0 && ((await pendingWindows(a)) ?? 0) >= 2, { timeoutMs: 30_000, intervalMs: 200 });
    }
    hub = await startHub({ dataDir: join(dir, 'hub'), trustPath: s.fx.trustPath, hubKeyPath: s.fx.keys.files.hub.keyPath, httpPort: http, mqttPort: mqtt });
    for (const [i, d] of devs.entries()) {
      await waitFor(`${d.deviceId}: reconnected and uploading after the ${signal} restart`, async () =>
        (await connected(agents[i]!)) === 1 && (await storedCount(d.deviceId)) > before[i]!, { timeoutMs: 60_000, intervalMs: 200 });
    }
  };

  it('every window recorded on every device is at the hub exactly once', async () => {
    agents.push(...await startAgents(devs.map((d) => ({ dataDir: d.dataDir, config: AGENT_CONFIG }))));
    await hub.api('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { all: true }, reason: 'upload test' });
    for (const a of agents) {
      await waitFor(`${a.dataDir}: v1 ready`, async () => (await getJson(`${a.url}/v2/models/${MODEL}/ready`))?.json?.ready === true, { timeoutMs: 90_000 });
    }
    const traffic = trafficLoop(agents, vibrationRows({ rowsPerRequest: 3 }), 8);
    try {
      await waitFor('windows arriving at the hub', async () => {
        const r = await hub.api<{ windows: HubWindow[] }>('GET', `/devices/${devs[0]!.deviceId}/windows?model=${MODEL}`);
        return r.windows.length >= 2;
      }, { timeoutMs: 60_000 });
      await restartHub('SIGTERM');
      await restartHub('SIGKILL');
    } finally {
      await traffic.stop();
    }
    assert.ok(traffic.stats.every((t) => t.ok > 0), `traffic was served: ${JSON.stringify(traffic.stats)}`);

    let hubTotal: SummaryWindow[] = [];
    let localTotal: SummaryWindow[] = [];
    for (const [i, d] of devs.entries()) {
      // The last open window is written when it closes (1 s windows, 1 s flush timer): wait until the
      // device's own windows count every prediction it served, the outbox is empty and the hub has them.
      const local = await waitFor(`${d.deviceId}: every prediction in a window, outbox drained, the hub holds every window`, async () => {
        const mine = await localWindows(d.dataDir);
        if (mine.reduce((n, w) => n + w.count, 0) < traffic.stats[i]!.predictions) return undefined;
        if ((await outboxWindows(d.dataDir)) !== 0) return undefined;
        const theirs = await hubWindows(hub.api, d.deviceId, `model=${MODEL}`);
        return theirs.length >= mine.length ? { mine, theirs } : undefined;
      }, { timeoutMs: 90_000, intervalMs: 1000 });
      const { mine, theirs } = local;
      assert.ok(mine.length >= 5, `${d.deviceId} recorded several windows (${mine.length})`);
      assert.equal(theirs.length, mine.length, `${d.deviceId}: the hub holds as many windows as the device recorded`);
      assert.equal(new Set(theirs.map((w) => w.seq)).size, theirs.length, `${d.deviceId}: no seq stored twice`);
      assert.equal(new Set(theirs.map((w) => `${w.version}@${w.start}`)).size, theirs.length, `${d.deviceId}: no window stored twice under another seq`);
      const key = (w: SummaryWindow) => `${w.version}@${w.start}:${w.count}`;
      assert.deepEqual(theirs.map(key).sort(), mine.map(key).sort(), `${d.deviceId}: the same windows with the same counts`);
      assert.equal(theirs.reduce((n, w) => n + w.count, 0), traffic.stats[devs.indexOf(d)]!.predictions, `${d.deviceId}: every served prediction is counted once`);
      hubTotal = hubTotal.concat(theirs);
      localTotal = localTotal.concat(mine);
    }
    const totals = await hub.api<Record<string, unknown>>('GET', `/models/${MODEL}/totals?version=1.0.0`);
    const want = JSON.parse(JSON.stringify(windowTotals(localTotal))) as Record<string, unknown>;
    for (const k of ['count', 'errors', 'latencyCount', 'features', 'outputs', 'inputs']) {
      assert.deepEqual(totals[k], want[k], `hub totals.${k} equals the sum of the devices' own`);
    }
    assert.equal(totals.windows, hubTotal.length);
  });
});
