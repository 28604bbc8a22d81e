// A box offline whose power fails again and again while it serves (docs/agent.md "Outbox", agent-summaries.md
// "Crashes"): a real hub process and a real agent process behind a TCP proxy that is down, killed with
// SIGKILL mid-traffic four times and started again each time. When the link returns the hub holds every
// window the box holds, each once (no seq twice, no window twice), and the box lost at most what the
// checkpoint promises (the predictions of the last `summaries.checkpointSec` before each kill).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datasetRows, generateVibration } from '@edgefleet/examples';
import { enrollAgents, startAgent, waitFor, type AgentHandle, type EnrolledAgent } from '@edgefleet/examples/fleet';
import { startFlakyProxy, type FlakyProxy } from '../faults/flaky-proxy.js';
import { MODEL, assertEveryWindowOnce, fixtureAndHub, getJson, infer, localWindows, type HubSetup } from './helpers.js';

describe('a box offline killed mid-traffic again and again', () => {
  let dir: string;
  let s: HubSetup;
  let dev: EnrolledAgent;
  let proxy: FlakyProxy;
  let agent: AgentHandle | undefined;
  const rows = datasetRows(generateVibration({ rows: 32, seed: 3 }));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-offline-kills-'));
    s = await fixtureAndHub(dir);
    [dev] = await enrollAgents(s.hub, 1, { dataRoot: join(dir, 'agents'), id: () => 'kills-1' }) as [EnrolledAgent];
    proxy = await startFlakyProxy({ targetPort: Number(new URL(s.hub.mqtt).port), seed: 11 });
  });
  after(async () => {
    await agent?.stop();
    await proxy?.close();
    await s?.hub.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = () => startAgent({
    dataDir: dev.dataDir,
    config: {
      summaries: { windowSec: 1, checkpointSec: 1 },
      sync: { brokerUrl: `mqtt://127.0.0.1:${proxy.port}`, reconnectMs: 300, outbox: { resendAfterMs: 2000, messagesPerSec: 200 } },
    },
  });

  it('keeps every window it wrote, and the hub stores each once when the link returns', async () => {
    agent = await start();
    await s.hub.api('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { devices: [dev.deviceId] }, reason: 'offline kills: baseline' });
    await waitFor('v1 serving', async () => (await getJson(`${agent!.url}/v2/models/${MODEL}/ready`))?.json?.ready === true, { timeoutMs: 90_000 });
    proxy.setDown(true);
    proxy.cutAll();

    let served = 0;
    for (let round = 0; round < 4; round++) {
      // Serve for a while (several windows close and are written), then kill mid-request.
      for (let i = 0; i < 25 + round * 7; i++) {
        const r = await infer(agent.url, rows.slice(i % 30, (i % 30) + 2));
        assert.equal(r.status, 200, JSON.stringify(r.json));
        served += 2;
        if (i % 5 === 0) await new Promise((res) => setTimeout(res, 100));
      }
      const inFlight = infer(agent.url, rows.slice(0, 2)).catch(() => undefined);
      agent.kill();
      await inFlight;
      await agent.process.exited;
      agent = await start();
    }
    await agent.stop(); // the open window written
    agent = await start();
    const kept = (await localWindows(dev.dataDir)).reduce((n, w) => n + w.count, 0);
    assert.ok(kept <= served + 8, `no prediction counted twice on the box (${kept} kept of ${served} served)`);
    assert.ok(kept >= served - 4 * 200, `at most about a checkpoint's worth lost per kill (${kept} kept of ${served} served)`);

    proxy.setDown(false);
    await assertEveryWindowOnce(s.hub.api, dev, kept, 120_000);
  });
});
