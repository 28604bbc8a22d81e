// The backends a version loads on, found at push on real onnxruntime sessions of both backends
// (onnxruntime-node and onnxruntime-web), and the deploy or rollout to a box whose backend cannot load it
// refused naming the device (docs/decisions/0129-model-backends-checked.md). Real Store, real signed
// bundles of models built in code, pushed through the Registry (deployments/testing.ts), on SQLite and PostgreSQL.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { GraphBuilder, buildStrictShapeModel, bundleFromOnnx, randomMlp } from '@edgefleet/examples';
import { RolloutPreviewRequest, STATE_SCHEMA, type AppError } from '@edgefleet/shared';
import { addDevice, cleanup, fixture, prepare, startHub, type TestHub } from './testing.js';
import { Registry, bundleVerifier } from '../registry.js';
import { BackendWatch, heldBack } from './backends.js';
import { previewRollout } from '../rollouts/plan.js';
import { backends } from '../testing/backends.js';

before(prepare);
after(cleanup);

const state = (h: TestHub, id: string, backend: 'native' | 'wasm') => ({
  schema: STATE_SCHEMA, deviceId: id, at: h.clock.now().toISOString(), agentVersion: '0.1.0', lastAppliedSeq: 0, trustVersion: 1, models: [], capabilities: [`backend-${backend}`],
});

/** What a device's agent reports: its backend among its capabilities. */
function runsOn(h: TestHub, id: string, backend: 'native' | 'wasm'): void {
  addDevice(h, id);
  h.store.devices.setReported(id, state(h, id, backend));
}

/** The models a device's newest stored document names, as `name@version`. */
const named = (h: TestHub, id: string) => (h.store.desired.latest(id)?.signed.models ?? []).map((m) => `${m.name}@${m.version}`);

async function pushModel(h: TestHub, name: string, onnx: Uint8Array, io: Parameters<typeof bundleFromOnnx>[0]['io']): Promise<void> {
  const { root, keys } = fixture();
  const b = await bundleFromOnnx({ dir: join(root, 'bundles'), onnx, name, version: '1.0.0', io, keys });
  await h.push(b.path);
}

const unsupported = (...patterns: RegExp[]) => (err: AppError) => {
  assert.equal(err.code, 'BACKEND_UNSUPPORTED', err.message);
  for (const p of patterns) assert.match(err.message, p);
  return true;
};

for (const backend of backends()) describe(`model backends (${backend.name})`, () => {
  let h: TestHub;
  before(async () => {
    h = await startHub({ database: backend.database(), backendCheck: {} });
    const mlp = randomMlp({ inputDim: 4, hidden: [3], outputDim: 2, seed: 7 });
    await pushModel(h, 'both', mlp.onnx, mlp.io);
    const strict = buildStrictShapeModel();
    await pushModel(h, 'strict', strict.onnx, strict.io);
    runsOn(h, 'nat-1', 'native');
    runsOn(h, 'wasm-1', 'wasm');
    runsOn(h, 'wasm-2', 'wasm');
    addDevice(h, 'silent'); // never reported its backend
  });
  after(() => h.close());

  it('push records the backends each version loads on, and why one refuses it', () => {
    assert.deepEqual(h.store.models.get('both', '1.0.0').backends, { loads: ['native', 'wasm'], refused: {} });
    const s = h.store.models.get('strict', '1.0.0').backends;
    assert.deepEqual(s?.loads, ['native']);
    assert.match(s?.refused.wasm ?? '', /\S/);
    assert.equal(h.store.models.list('strict')[0]?.backends?.loads.length, 1);
  });

  it('a deploy to wasm boxes of a version wasm cannot load is refused naming them; native and silent boxes are not', async () => {
    const deploy = (devices: string[]) => h.parts.deployments.deploy({ model: 'strict', version: '1.0.0', target: { devices }, reason: 'r' }, 'op');
    await assert.rejects(deploy(['nat-1', 'wasm-1', 'wasm-2']), unsupported(
      /^2 device\(s\) of the target run a backend that cannot load it: wasm-1 \(wasm\), wasm-2 \(wasm\); strict 1\.0\.0 does not load on the wasm backend: /,
      /Leave those devices out of the target/,
    ));
    assert.equal(h.store.db.prepare('SELECT COUNT(*) FROM deployments').pluck().get(), 0, 'nothing stored for a refused deploy');
    await deploy(['nat-1', 'silent']);
    await h.parts.deployments.deploy({ model: 'both', version: '1.0.0', target: { devices: ['wasm-1', 'nat-1'] }, reason: 'r' }, 'op');
  });

  it('a rollout over wasm boxes of such a version is refused before its first wave', () => {
    const req = RolloutPreviewRequest.parse({ model: 'strict', version: '1.0.0', target: { all: true } });
    assert.throws(() => previewRollout(h.store, req, 'op', h.clock.now()), unsupported(/wasm-1 \(wasm\), wasm-2 \(wasm\)/));
  });

  it('a device joining a tag target later is held back: its document leaves the model out, its row says why; native joins', () => {
    const dep = h.store.db.transaction(() => h.parts.deployments.createDeployment({ model: 'strict', version: '1.0.0', target: { tags: { site: 'late' } }, reason: 'r' }, 'op'))();
    runsOn(h, 'late-wasm', 'wasm');
    runsOn(h, 'late-nat', 'native');
    for (const id of ['late-wasm', 'late-nat']) {
      h.store.devices.setTags(id, { site: 'late' });
      h.parts.deployments.joinDeployments(id);
    }
    assert.deepEqual(named(h, 'late-nat'), ['strict@1.0.0']);
    assert.deepEqual(named(h, 'late-wasm'), [], 'not sent');
    const rows = new Map(h.store.deployments.get(dep.id).devices.map((d) => [d.deviceId, d]));
    assert.equal(rows.get('late-nat')?.status, 'pending');
    assert.equal(rows.get('late-wasm')?.status, 'refused');
    assert.match(rows.get('late-wasm')?.reason ?? '', /^BACKEND_UNSUPPORTED: the box runs the wasm backend, which cannot load strict 1\.0\.0 \(.+\); the hub does not send it and the box keeps what it runs/);
  });

  it('a backend reported changed re-issues the document: sent on native, held again on wasm', async () => {
    const dep = h.store.deployments.list().deployments.find((d) => d.target.tags?.['site'] === 'late');
    assert.ok(dep);
    const rowOf = () => h.store.deployments.get(dep.id).devices.find((d) => d.deviceId === 'late-wasm');
    const report = async (backend: 'native' | 'wasm', want: string[]) => {
      const seq = h.store.desired.lastSeq('late-wasm');
      await h.parts.ingest.handleState('late-wasm', state(h, 'late-wasm', backend));
      // The document is issued after the state is stored (the listener's publish is not awaited by ingest).
      for (let i = 0; i < 3000 && h.store.desired.lastSeq('late-wasm') === seq; i++) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(named(h, 'late-wasm'), want);
    };
    await report('native', ['strict@1.0.0']);
    assert.deepEqual([rowOf()?.status, rowOf()?.reason], ['pending', null]);
    await report('wasm', []);
    assert.equal(rowOf()?.status, 'refused');
    const seq = h.store.desired.lastSeq('late-wasm');
    await h.parts.ingest.handleState('late-wasm', state(h, 'late-wasm', 'wasm'));
    assert.equal(h.store.desired.lastSeq('late-wasm'), seq, 'the same backend again issues nothing');
  });

  it('a box that never reported waits for its first report: sent on native or no backend said, held on wasm', async () => {
    const dep = h.store.db.transaction(() => h.parts.deployments.createDeployment({ model: 'strict', version: '1.0.0', target: { tags: { site: 'new' } }, reason: 'r' }, 'op'))();
    const rowOf = (id: string) => h.store.deployments.get(dep.id).devices.find((d) => d.deviceId === id);
    const boxes = { 'new-nat': 'native', 'new-wasm': 'wasm', 'new-old': null } as const;
    for (const id of Object.keys(boxes)) {
      addDevice(h, id);
      h.store.devices.setTags(id, { site: 'new' });
      h.parts.deployments.joinDeployments(id);
      assert.deepEqual(named(h, id), [], 'not sent before its first report');
      assert.equal(rowOf(id)?.status, 'pending');
      assert.match(rowOf(id)?.reason ?? '', /^waiting for the box's first state report \(its backend\): strict 1\.0\.0 does not load on the wasm backend \(.+\); the hub sends it with the report if the box runs another backend/);
      // GET /devices/{id} `heldBack`, which `devices show` prints under `held back:`, names the wait too.
      assert.deepEqual(heldBack(h.store, id).map((x) => [x.deploymentId, `${x.model}@${x.version}`, x.reason]), [[dep.id, 'strict@1.0.0', rowOf(id)?.reason]]);
    }
    for (const [id, backend] of Object.entries(boxes)) {
      const seq = h.store.desired.lastSeq(id);
      // An older agent says no backend: it is sent the version, as at create.
      await h.parts.ingest.handleState(id, { ...state(h, id, 'native'), capabilities: backend ? [`backend-${backend}`] : [] });
      for (let i = 0; i < 3000 && h.store.desired.lastSeq(id) === seq; i++) await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual([named(h, 'new-nat'), rowOf('new-nat')?.status, rowOf('new-nat')?.reason], [['strict@1.0.0'], 'pending', null]);
    assert.deepEqual([named(h, 'new-old'), rowOf('new-old')?.status, rowOf('new-old')?.reason], [['strict@1.0.0'], 'pending', null]);
    assert.deepEqual([named(h, 'new-wasm'), rowOf('new-wasm')?.status], [[], 'refused']);
    assert.match(rowOf('new-wasm')?.reason ?? '', /^BACKEND_UNSUPPORTED: the box runs the wasm backend/);
    assert.deepEqual([heldBack(h.store, 'new-nat'), heldBack(h.store, 'new-wasm').map((x) => x.reason)], [[], [rowOf('new-wasm')?.reason]]);
    // A version both backends load is sent at once, and allowBackendMismatch does not wait.
    addDevice(h, 'new-both');
    await h.parts.deployments.deploy({ model: 'both', version: '1.0.0', target: { devices: ['new-both'] }, reason: 'r' }, 'op');
    await h.parts.deployments.deploy({ model: 'strict', version: '1.0.0', target: { devices: ['new-both'] }, reason: 'r', allowBackendMismatch: true }, 'op');
    assert.deepEqual(named(h, 'new-both').sort(), ['both@1.0.0', 'strict@1.0.0']);
  });

  it('allowBackendMismatch: not refused, sent to the wasm box, never held; the deployment says so', async () => {
    const d = await h.parts.deployments.deploy({ model: 'strict', version: '1.0.0', target: { devices: ['wasm-2'] }, reason: 'r', allowBackendMismatch: true }, 'op');
    assert.equal(d.allowBackendMismatch, true);
    assert.deepEqual(named(h, 'wasm-2'), ['strict@1.0.0']);
    assert.deepEqual(d.devices.map((x) => x.status), ['pending']);
  });

  it('the watch remembers at most its bound of devices: at bound+1 the least recent is forgotten, and its next report looked at as a first one', () => {
    // late-wasm is held back (wasm) in the tag deployment above: a native report would send it again (changed: true).
    const w = new BackendWatch(h.store, 2);
    const st = (id: string, b: 'native' | 'wasm') => state(h, id, b);
    assert.equal(w.changed('late-wasm', st('late-wasm', 'native')), true);
    assert.equal(w.changed('late-wasm', st('late-wasm', 'native')), false, 'remembered: the same backend again is not looked at');
    assert.equal(w.changed('nat-1', st('nat-1', 'native')), false);
    assert.equal(w.size, 2, 'at the bound');
    assert.equal(w.changed('late-wasm', st('late-wasm', 'native')), false, 'still remembered at the bound');
    assert.equal(w.changed('wasm-1', st('wasm-1', 'wasm')), false);
    assert.equal(w.size, 2, 'bound+1: the least recent (nat-1) forgotten');
    assert.equal(w.changed('late-wasm', st('late-wasm', 'native')), false, 'the more recent kept');
    assert.equal(w.changed('wasm-2', st('wasm-2', 'wasm')), false); // forgets wasm-1
    assert.equal(w.changed('nat-1', st('nat-1', 'native')), false); // forgets late-wasm
    assert.equal(w.size, 2);
    assert.equal(w.changed('late-wasm', st('late-wasm', 'native')), true, 'forgotten: looked at as a first report, its hold out of step');
  });

  it('a model neither backend loads is refused at push (MODEL_LOAD_FAILED saying so); nothing is stored', async () => {
    const { root, keys } = fixture();
    const g = new GraphBuilder('unknown_op');
    const x = g.input('input', 'FP32', [-1, 4]);
    g.op('NoSuchOperator', [x], {}, 'output');
    g.output('output', 'FP32', [-1, 4]);
    const io = { inputs: [{ name: 'input', datatype: 'FP32' as const, shape: [-1, 4] }], outputs: [{ name: 'output', datatype: 'FP32' as const, shape: [-1, 4] }] };
    const b = await bundleFromOnnx({ dir: join(root, 'bundles'), onnx: g.build(), name: 'nowhere', version: '1.0.0', io, keys });
    await assert.rejects(h.push(b.path), (err: AppError) => err.code === 'MODEL_LOAD_FAILED'
      && /^nowhere 1\.0\.0: model\.onnx loads on no backend; not on native: .*NoSuchOperator.*; not on wasm: .*; no agent could install it$/s.test(err.message));
    assert.equal(h.store.models.find('nowhere', '1.0.0'), undefined);
  });

  it('a model above the size bound of the hub is stored loaded on neither backend, each unchecked saying why', async () => {
    const { root, keys, trust } = fixture();
    const mlp = randomMlp({ inputDim: 4, hidden: [3], outputDim: 2, seed: 8 });
    const small = new Registry(h.store, bundleVerifier(() => trust), { maxBytes: 16 });
    const b = await bundleFromOnnx({ dir: join(root, 'bundles'), onnx: mlp.onnx, name: 'bounded', version: '1.0.0', io: mlp.io, keys });
    await small.push(createReadStream(b.path), { maxBytes: 64 << 20, pushedBy: 'test', at: h.clock.now() });
    const got = h.store.models.get('bounded', '1.0.0').backends;
    assert.deepEqual(got?.loads, []);
    for (const k of ['native', 'wasm'] as const) assert.match(got?.unchecked?.[k] ?? '', /^the model \(\d+ bytes\) is larger than the hub's bound of 16 bytes for loading it at push$/);
    await h.parts.deployments.deploy({ model: 'bounded', version: '1.0.0', target: { devices: ['wasm-1'] }, reason: 'r' }, 'op');
  });
});
