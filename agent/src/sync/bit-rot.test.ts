// An enrolled box whose stored model files rotted (docs/agent.md "Bit rot"), with a real aedes broker on
// 127.0.0.1:0, a real agent (SQLite, ONNX sessions) and the hub's part played by the test: at start the
// agent re-hashes the active version's files; when they no longer match, it fetches the bundle the desired
// document names from the hub again, installs it over them and serves it. Before, a box whose only version
// rotted served nothing (its document already applied: "nothing to do") until someone reinstalled by hand,
// and one with a previous version ran that for good, the version it was told reported failed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReportedState } from '@edgefleet/shared';
import { waitFor } from '@edgefleet/examples';
import { makeKit, req, row, startAgent, type Kit } from '../testing.js';
import type { Agent } from '../agent.js';
import { desiredMlp, mlpVersions, startTestHub, type MlpVersions, type TestHub } from './testing.js';

const ID = 'box-rot';
const poll = <T>(what: string, fn: () => Promise<T | undefined> | T | undefined) => waitFor(what, fn, { timeoutMs: 20_000, intervalMs: 20 });
const OPTS = { sync: { reconnectMs: 200, blockSize: 4096 } };

describe('a version whose stored files rotted is fetched from the hub again', () => {
  let kit: Kit;
  let agent: Agent;
  let hub: TestHub;
  let bundles: MlpVersions;
  let data: string;

  before(async () => {
    kit = makeKit('ef-rot-');
    bundles = await mlpVersions(kit, ['1.0.0', '2.0.0']);
    hub = await startTestHub(ID, () => Object.values(bundles), kit.keys.hub);
    data = join(kit.dir, ID);
    hub.enroll(data, kit.trust.doc);
    agent = await startAgent(data, OPTS);
    await poll('connected', () => (agent.sync?.isConnected() ? true : undefined));
  });
  after(async () => {
    await agent?.stop();
    await hub?.close();
    kit?.cleanup();
  });

  const model = (v: string) => desiredMlp(bundles, v);
  const serving = async () => (await req(agent.url, 'POST', '/v2/models/mlp/infer', row([1, 2, 3, 4]))).json?.model_version as string | undefined;
  const reported = (pred: (m: ReportedState['models'][number]) => boolean) => poll('reported state', () => hub.states.findLast((s) => s.models.some((m) => m.name === 'mlp' && pred(m)))?.models.find((m) => m.name === 'mlp'));
  /** The stored model file of `v` (content-addressed under blobs/). */
  const modelBlob = (v: string) => {
    const f = agent.models.getVersion('mlp', v)!.manifest.files.find((x) => x.path.endsWith('.onnx'))!;
    return agent.blobs.pathOf(f.sha256);
  };
  const gets = (v: string) => hub.blobGets.get(bundles[v]!.sha256) ?? 0;

  it('its only version deleted: fetched again at the next start and served', async () => {
    await hub.publish({ models: [model('1.0.0')] }, Date.now());
    await poll('serving 1.0.0', async () => ((await serving()) === '1.0.0' ? true : undefined));
    const path = modelBlob('1.0.0');
    const fetchedBefore = gets('1.0.0');
    await agent.stop();
    rmSync(path);
    agent = await startAgent(data, OPTS);
    await poll('serving 1.0.0 again', async () => ((await serving()) === '1.0.0' ? true : undefined));
    assert.ok(gets('1.0.0') > fetchedBefore, 'its blocks were asked for again');
    const m = await reported((x) => x.active === '1.0.0' && x.status === 'active');
    assert.equal(m.reason, undefined);
    const rot = agent.events.list({ kind: 'bit_rot' }).filter((e) => e.version === '1.0.0');
    assert.ok(rot.some((e) => /fetching the bundle from the hub again/.test(e.message)), 'the repair is recorded as its own event');
    assert.equal(agent.events.list({ kind: 'install_failed' }).length, 0);
  });

  it('the active version corrupted with a previous one to fall back on: back on the version the hub asks for', async () => {
    await hub.publish({ models: [model('2.0.0')] }, Date.now());
    await poll('serving 2.0.0', async () => ((await serving()) === '2.0.0' ? true : undefined));
    const path = modelBlob('2.0.0');
    await agent.stop();
    const bytes = readFileSync(path);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    writeFileSync(path, bytes);
    agent = await startAgent(data, OPTS);
    await poll('serving 2.0.0 again', async () => ((await serving()) === '2.0.0' ? true : undefined));
    const m = await reported((x) => x.active === '2.0.0' && x.status === 'active');
    assert.equal(m.reason, undefined);
    assert.ok(agent.events.list({ kind: 'rolled_back' }).some((e) => /fell back from 2\.0\.0 to 1\.0\.0 at start/.test(e.message)), 'it fell back at start first');
    assert.equal(agent.events.list({ kind: 'install_failed' }).length, 0, 'not a failed install');
  });
});
