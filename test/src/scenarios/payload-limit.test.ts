// A hub whose maxPayloadBytes is below the sync.outbox.maxMessageBytes its agents are given (192 KiB by
// default) used to start, and its broker then refused every larger telemetry batch: the connection
// closed, the agent sent the same batch first again, for ever, and its outbox stayed jammed. Such a hub
// now refuses to start (CONFIG_INVALID naming the key, the value and what is expected); with the fleet's
// setting lowered first it starts, and windows larger than its limit reach it trimmed to fit
// (docs/hub.md "Config"). A capture's chunks are device messages too: the hub asks its boxes for chunks
// whose sealed message fits its limit (docs/hub.md "Data capture"), where the agent's default chunk of
// 64 KiB of rows is ~90 KB sealed. Real hub processes on one data dir; the agent in-process on real SQLite and onnxruntime.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent } from '@edgefleet/agent';
import { runCli } from '@edgefleet/examples';
import { hubWindows, startHub, waitFor, type EnrolledAgent, type HubHandle } from '@edgefleet/examples/fleet';
import { newCaptureKeyFile, type Capture, type DeviceConfigView } from '@edgefleet/shared';
import { agentMetric, localWindows, outboxWindows, withAgentDb, type HubSetup } from './helpers.js';
import { hubWithWideModel, inferWide, startWideAgent } from './wide-model.js';

const WIDE = 'wide-payload';
// ~110 bytes of window JSON per numeric feature: a window of ~88 KB, over a 64 KiB limit.
const N = 800;
const LIMIT = 64 * 1024;

describe('a hub maxPayloadBytes below what the agents send', () => {
  let dir: string;
  let s: HubSetup;
  let hub: HubHandle | undefined;
  let dev: EnrolledAgent;
  let agent: Agent | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-payload-limit-'));
    ({ s, dev } = await hubWithWideModel(dir, WIDE, N, 'limit-1'));
  });
  after(async () => {
    await agent?.stop();
    await hub?.stop();
    await s?.hub.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is refused at start until the fleet\'s setting is lowered, then the windows reach it', async () => {
    const dataDir = s.hub.dataDir;
    const hubOpts = { dataDir, trustPath: s.fx.trustPath, hubKeyPath: s.fx.keys.files.hub.keyPath };
    await s.hub.stop();
    const file = join(dir, 'small.json');
    writeFileSync(file, JSON.stringify({ maxPayloadBytes: LIMIT }));
    const run = (d: string) => runCli('hub/src/server/main.ts', ['run', '--data-dir', d, '--trust', hubOpts.trustPath, '--hub-key', hubOpts.hubKeyPath, '--http-port', '0', '--mqtt-port', '0', '--config', file]);
    const refused = await run(dataDir);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /\[CONFIG_INVALID\]: maxPayloadBytes: 65536 is below the sync\.outbox\.maxMessageBytes the agents are given \(the agents' default 196608 \(no fleet document sets it\)\), .*expected at least 196608, or first lower that setting to at most 65536/);

    // Lowered with the hub at its current limit, then the smaller limit is taken.
    hub = await startHub(hubOpts);
    await hub.api('PUT', '/config/fleet', { settings: { 'sync.outbox.maxMessageBytes': LIMIT }, reason: 'a smaller broker limit' });
    await hub.stop();
    hub = await startHub({ ...hubOpts, config: { maxPayloadBytes: LIMIT, capture: { publicKey: newCaptureKeyFile().public } } });

    const h = hub;
    // The restarted hub's broker listens on another port than the one given at enrollment.
    agent = await startWideAgent(dev, { brokerUrl: h.mqtt });
    await waitFor('the agent runs the lowered setting', async () => (await h.api<DeviceConfigView>('GET', `/devices/${dev.deviceId}/config`)).applied, { timeoutMs: 30_000, intervalMs: 250 });
    await h.api('POST', '/deployments', { model: WIDE, version: '1.0.0', target: { devices: [dev.deviceId] }, reason: 'wide windows' });
    const infer = () => inferWide(agent!, WIDE, N);
    await waitFor('the wide model serving', async () => (await infer()) === 200, { timeoutMs: 90_000, intervalMs: 250 });
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(await infer(), 200);
    await waitFor('both predictions in stored windows', async () =>
      (await localWindows(dev.dataDir, WIDE)).reduce((n, w) => n + w.count, 0) >= 2, { timeoutMs: 30_000, intervalMs: 250 });
    const big = Math.max(...(await localWindows(dev.dataDir, WIDE)).map((w) => JSON.stringify(w).length));
    assert.ok(big > LIMIT, `a window is over the hub's limit (largest ${big} bytes)`);

    await waitFor('the outbox drained', async () => (await outboxWindows(dev.dataDir)) === 0, { timeoutMs: 60_000, intervalMs: 500 });
    const theirs = await hubWindows(h.api, dev.deviceId, `model=${WIDE}`);
    assert.equal(theirs.reduce((n, w) => n + w.count, 0), 2, 'the hub counts every prediction');
    assert.equal(await agentMetric(h.http, 'edgefleet_mqtt_refused_total{reason="publish_refused"}') ?? 0, 0, 'no publish refused by the broker');
  });

  it('asks the box for capture chunks that fit: every row captured reaches it and no publish is refused', async () => {
    const h = hub!;
    const rows = 6;
    const c = await h.api<Capture>('POST', '/captures', { model: WIDE, rate: 1, durationSec: 3600, maxRows: rows, reason: 'wide rows', target: { devices: [dev.deviceId] } });
    await waitFor('the box capturing', () => withAgentDb(dev.dataDir, (db) => db.prepare("SELECT 1 FROM captures WHERE id = ? AND status = 'capturing'").get(c.id)) ? true : undefined, { timeoutMs: 30_000, intervalMs: 100 });
    // Within one flushSec: the rows (~20 KB of JSON each) are sealed together, as many to a chunk as fit.
    for (let i = 0; i < rows; i++) assert.equal(await inferWide(agent!, WIDE, N), 200);
    await waitFor('every row stored at the hub', async () => ((await h.api<Capture>('GET', `/captures/${c.id}`)).rows === rows ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
    // The last chunk (the capture done) and the acks may still be on their way: nothing stays held.
    const held = () => withAgentDb(dev.dataDir, (db) => (db.prepare('SELECT COUNT(*) AS n FROM capture_chunks').get() as { n: number }).n);
    await waitFor('nothing left on the box', () => (held() === 0 ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
    assert.equal(await agentMetric(h.http, 'edgefleet_mqtt_refused_total{reason="publish_refused"}') ?? 0, 0, 'no chunk refused by the broker');
  });
});
