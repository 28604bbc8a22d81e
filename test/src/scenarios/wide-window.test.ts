// A model with thousands of features records summary windows larger than the broker takes in one
// publish (the hub's maxPayloadBytes, 256 KiB by default). Such a window used to be sent whole,
// alone in its message: the embedded broker closed the connection on it, the agent reconnected and
// sent it first again, for ever, and nothing behind it in the outbox reached the hub. It goes without
// its feature, output and input summaries instead (docs/agent.md "Outbox"), so the hub's counts stay
// exact and the outbox drains. Real hub process, agent in-process on real SQLite and onnxruntime.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent } from '@edgefleet/agent';
import { hubEvents, hubWindows, waitFor, type EnrolledAgent } from '@edgefleet/examples/fleet';
import { localWindows, outboxWindows, type HubSetup } from './helpers.js';
import { hubWithWideModel, inferWide, startWideAgent } from './wide-model.js';

const WIDE = 'wide-spectrum';
// ~110 bytes of window JSON per numeric feature: 4,000 of them make a window of ~440 KB.
const N = 4000;

describe('a summary window larger than a publish may be', () => {
  let dir: string;
  let s: HubSetup;
  let dev: EnrolledAgent;
  let agent: Agent | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-wide-window-'));
    ({ s, dev } = await hubWithWideModel(dir, WIDE, N, 'wide-1'));
  });
  after(async () => {
    await agent?.stop();
    await s?.hub.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reaches the hub with its counts, and the windows behind it follow', async () => {
    agent = await startWideAgent(dev);
    await s.hub.api('POST', '/deployments', { model: WIDE, version: '1.0.0', target: { devices: [dev.deviceId] }, reason: 'wide windows' });
    const infer = () => inferWide(agent!, WIDE, N);
    await waitFor('the wide model serving', async () => (await infer()) === 200, { timeoutMs: 90_000, intervalMs: 250 });
    let served = 1;
    // Three windows of 1 s with predictions, each well over the broker's 256 KiB.
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal(await infer(), 200);
      served++;
    }
    await waitFor('every prediction in a stored window', async () =>
      (await localWindows(dev.dataDir, WIDE)).reduce((n, w) => n + w.count, 0) >= served, { timeoutMs: 30_000, intervalMs: 250 });
    const big = (await localWindows(dev.dataDir, WIDE)).map((w) => JSON.stringify(w).length);
    assert.ok(Math.max(...big) > 256 * 1024, `a window is over the broker's limit (largest ${Math.max(...big)} bytes)`);

    await waitFor('the outbox drained', async () => (await outboxWindows(dev.dataDir)) === 0, { timeoutMs: 60_000, intervalMs: 500 });
    const theirs = await hubWindows(s.hub.api, dev.deviceId, `model=${WIDE}`);
    assert.equal(theirs.reduce((n, w) => n + w.count, 0), served, 'the hub counts every prediction');
    assert.equal(new Set(theirs.map((w) => w.seq)).size, theirs.length, 'no seq stored twice');
    for (const w of theirs) assert.deepEqual(w.features, [], `window ${w.seq} came without its feature summaries`);
    const trimmed = (await hubEvents(s.hub.api, dev.deviceId)).filter((e) => e.code === 'PAYLOAD_TOO_LARGE');
    assert.equal(trimmed.length, 1, 'one event tells the hub, once per version');
    assert.match(trimmed[0]!.message, new RegExp(`${WIDE}@1\\.0\\.0`));
  });
});
