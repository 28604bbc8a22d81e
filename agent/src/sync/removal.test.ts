// A model leaves a box only by an explicit removal (decision 0066), with a real aedes broker on
// 127.0.0.1:0, a real agent (SQLite, ONNX sessions) and an injected clock; the hub's part is played by the
// test (sync/testing.ts): a document that merely omits a model changes nothing; one with a removal stops
// serving it (REST 410 and gRPC NOT_FOUND with MODEL_REMOVED naming the seq, when, the reason and until
// when the files are kept; on the Unix socket and in `edgefleet-agent batch` too; ready and metadata
// likewise), reports it `removed`, keeps its files, and a restart keeps it so; a model installed on the
// box is kept (one event per entry); a redeploy within the keep time needs no download; an activation on
// the box clears the removal; after sync.removedKeepSec the model is forgotten (rows, files, state). On a small real tmpfs: a version that
// does not fit gets the removed models' room before any wait for disk space begins.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { sha256File, type DesiredModel, type DesiredRemoval, type EventKind, type ReportedState } from '@edgefleet/shared';
import { bundleFromOnnx, randomMlp, runCli, smallDisk, waitFor, type BundleResult, type SmallDisk } from '@edgefleet/examples';
import { makeKit, mlpBundle, req, row, startAgent, type Kit } from '../testing.js';
import type { Agent } from '../agent.js';
import { oipClient } from '../api/grpc/client.js';
import { refused } from '../api/grpc/testing.js';
import { startTestHub, type TestHub } from './testing.js';

const ID = 'box-r';
const poll = <T>(what: string, fn: () => Promise<T | undefined> | T | undefined) => waitFor(what, fn, { timeoutMs: 20_000, intervalMs: 20 });
const clock = { t: Math.floor(Date.now() / 3600_000) * 3600_000, now() { return this.t; } };
const WEEK_MS = 604_800_000;
type Bundle = BundleResult & { sha256: string };
const withSha = async (b: BundleResult): Promise<Bundle> => ({ ...b, sha256: (await sha256File(b.path)).sha256 });
const desired = (b: Bundle, name = 'mlp', version = '1.0.0'): DesiredModel => ({ name, version, manifestSha256: b.manifestSha256, bundle: { sha256: b.sha256, size: b.size } });
const removal = (name: string, reason: string): DesiredRemoval => ({ name, at: new Date(clock.t).toISOString(), reason });

/** POST over a Unix socket, as a local app would. */
function postSocket(socketPath: string, path: string, body: unknown): Promise<{ status: number; json: { code?: string; error?: string } }> {
  return new Promise((resolve, reject) => {
    const r = request({ socketPath, path, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as { code?: string; error?: string } }));
    });
    r.on('error', reject);
    r.end(JSON.stringify(body));
  });
}

describe('models leave a box only by an explicit removal', () => {
  let kit: Kit;
  let hub: TestHub;
  let agent: Agent;
  let data: string;
  const b: Record<string, Bundle> = {};
  const start = () => startAgent(data, { sync: { reconnectMs: 200, blockSize: 4096 }, api: { socket: join(kit.dir, 'agent.sock'), grpc: { enabled: true, port: 0 } } }, { clock, deferCheckMs: 20 });
  const infer = (name = 'mlp') => req(agent.url, 'POST', `/v2/models/${name}/infer`, row([1, 2, 3, 4]));
  const mlp = (pred: (m: ReportedState['models'][number]) => boolean) => poll('reported state', () => hub.states.findLast((s) => s.models.some((m) => m.name === 'mlp' && pred(m)))?.models.find((m) => m.name === 'mlp'));
  const applied = (seq: number) => poll(`document ${seq} applied`, async () => {
    await agent.sync!.updater.idle();
    return agent.sync!.reportedState().lastAppliedSeq === seq ? true : undefined;
  });
  const status = () => agent.sync!.reportedState().models.find((m) => m.name === 'mlp')?.status;
  const keepUntil = () => agent.db.prepare("SELECT keep_until FROM model_removals WHERE name = 'mlp'").pluck().get() as string | undefined;
  const count = (kind: EventKind, model = 'mlp') => agent.events.list({ kind }).filter((e) => e.model === model).length;

  before(async () => {
    kit = makeKit('ef-removal-');
    b.v1 = await withSha(await mlpBundle(kit, '1.0.0', { seed: 1 }));
    b.v2 = await withSha(await mlpBundle(kit, '2.0.0', { seed: 2 }));
    b.kept = await withSha(await mlpBundle(kit, '1.0.0', { seed: 3, name: 'kept' }));
    hub = await startTestHub(ID, () => Object.values(b), kit.keys.hub);
    data = join(kit.dir, ID);
    hub.enroll(data, kit.trust.doc);
    agent = await start();
    await agent.manager.install(b.kept!.path); // on the box itself: origin local
    await poll('connected', () => (agent.sync?.isConnected() ? true : undefined));
  });
  after(async () => {
    await agent?.stop();
    await hub?.close();
    kit?.cleanup();
  });

  it('a document that omits a model without a removal changes nothing', async () => {
    await hub.publish({ models: [desired(b.v1!)] }, clock.t);
    await poll('1.0.0 served', async () => ((await infer()).json?.model_version === '1.0.0' ? true : undefined));
    await applied(await hub.publish({ models: [] }, clock.t));
    assert.equal((await infer()).status, 200, 'still served');
    assert.equal(status(), 'active');
    assert.equal(count('model_removed'), 0);
  });

  it('a removal stops serving: 410 / NOT_FOUND MODEL_REMOVED everywhere, state removed, files kept, also after a restart', async () => {
    const seq = await hub.publish({ models: [], removed: [removal('mlp', 'line 3 retired'), removal('kept', 'not ours'), removal('never-here', 'nothing to do')] }, clock.t);
    const m = await mlp((x) => x.status === 'removed');
    const until = new Date(clock.t + WEEK_MS).toISOString();
    assert.deepEqual([m.active, m.installed, m.reason?.code, m.removedUntil], [null, ['1.0.0'], 'MODEL_REMOVED', until]);
    const parts = [`seq ${seq}`, new Date(clock.t).toISOString(), 'line 3 retired', until];
    const check = (what: string, msg: string | undefined) => {
      for (const p of parts) assert.ok(msg?.includes(p), `${what} names ${p}: ${msg}`);
    };
    check('the state', m.reason?.message);
    const r = await infer();
    assert.deepEqual([r.status, r.json.code], [410, 'MODEL_REMOVED']);
    check('REST', r.json.error);
    for (const path of ['/v2/models/mlp/ready', '/v2/models/mlp']) {
      const g = await req(agent.url, 'GET', path);
      assert.deepEqual([g.status, g.json.code], [410, 'MODEL_REMOVED'], path);
    }
    const s = await postSocket(join(kit.dir, 'agent.sock'), '/v2/models/mlp/infer', row([1, 2, 3, 4]));
    assert.deepEqual([s.status, s.json.code], [410, 'MODEL_REMOVED']);
    const client = oipClient(agent.grpcAddress!);
    try {
      const err = await refused(client.call('ModelInfer', { model_name: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } }] }));
      assert.equal(err.code, 5, 'NOT_FOUND');
      assert.equal(err.metadata.get('error-code')[0], 'MODEL_REMOVED');
      check('gRPC', err.details);
    } finally {
      client.close();
    }
    assert.ok(!agent.runtime.names().includes('mlp'), 'not among the served models');
    const files = agent.models.getVersion('mlp', '1.0.0')!.manifest.files;
    assert.ok(files.every((f) => existsSync(join(data, 'blobs', 'sha256', f.sha256.slice(0, 2), f.sha256.slice(2)))), 'files kept');
    assert.equal(count('model_removed'), 1);
    // A model installed on the box itself is kept, said once per entry; one the box does not have asks nothing.
    assert.equal((await infer('kept')).status, 200);
    await applied(await hub.publish({ models: [], removed: [removal('mlp', 'line 3 retired'), removal('kept', 'not ours')] }, clock.t));
    assert.deepEqual([count('removal_kept_local', 'kept'), count('model_removed'), count('error', 'never-here')], [1, 1, 0]);

    // `edgefleet-agent batch` reads agent.db: it refuses the removed model the same way.
    writeFileSync(join(kit.dir, 'rows.jsonl'), `${JSON.stringify({ input: [1, 2, 3, 4] })}\n`);
    const batch = await runCli('agent/src/cli/main.ts', ['batch', '--model', 'mlp', '--input', join(kit.dir, 'rows.jsonl'), '--output', join(kit.dir, 'out.jsonl'), '--data-dir', data]);
    assert.notEqual(batch.code, 0);
    assert.match(batch.stderr, /MODEL_REMOVED|removed from this box by the hub/);
    check('batch', batch.stderr);

    await agent.stop();
    agent = await start();
    const again = await infer();
    assert.deepEqual([again.status, again.json.code], [410, 'MODEL_REMOVED'], 'still removed after a restart');
    assert.equal(status(), 'removed');
    await poll('connected again', () => (agent.sync?.isConnected() ? true : undefined));
  });

  it('a redeploy within the keep time serves the kept version with no download', async () => {
    const gets = hub.blobGets.get(b.v1!.sha256);
    assert.ok(gets && gets > 0, 'downloaded once at first');
    const downloads = count('download_started');
    await hub.publish({ models: [desired(b.v1!)] }, clock.t);
    await poll('1.0.0 served again', async () => ((await infer()).json?.model_version === '1.0.0' ? true : undefined));
    assert.deepEqual([hub.blobGets.get(b.v1!.sha256), count('download_started')], [gets, downloads], 'no download');
    const m = agent.sync!.reportedState().models.find((x) => x.name === 'mlp');
    assert.deepEqual([m?.status, m?.active, m?.removedUntil, m?.reason], ['active', '1.0.0', undefined, undefined]);
    assert.equal(agent.models.originOf('mlp'), 'hub');
  });

  it('an activation on the box clears the removal and makes the model the box\'s own', async () => {
    await applied(await hub.publish({ models: [], removed: [removal('mlp', 'again')] }, clock.t));
    assert.equal(status(), 'removed');
    await agent.manager.activate('mlp', '1.0.0');
    assert.equal((await infer()).json?.model_version, '1.0.0');
    assert.equal(agent.models.originOf('mlp'), 'local');
    assert.equal(status(), 'active');
    clock.t += 1000; // a new entry: the removal is repeated, and kept local
    await applied(await hub.publish({ models: [], removed: [removal('mlp', 'again')] }, clock.t));
    assert.equal((await infer()).status, 200);
    assert.equal(count('removal_kept_local'), 1);
  });

  it('is forgotten after sync.removedKeepSec: rows, files and the state entry go', async () => {
    await hub.publish({ models: [desired(b.v2!, 'mlp', '2.0.0')] }, clock.t);
    await poll('2.0.0 served', async () => ((await infer()).json?.model_version === '2.0.0' ? true : undefined));
    await applied(await hub.publish({ models: [], removed: [removal('mlp', 'end of trial')] }, clock.t));
    assert.equal(status(), 'removed');
    const others = new Set(agent.models.listVersions().filter((v) => v.name !== 'mlp').flatMap((v) => v.manifest.files.map((f) => f.sha256)));
    const files = agent.models.listVersions('mlp').flatMap((v) => v.manifest.files.map((f) => f.sha256)).filter((sha) => !others.has(sha));
    clock.t += WEEK_MS - 60_000;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(count('model_forgotten'), 0, 'kept until its time');
    clock.t += 120_000;
    await poll('model_forgotten', () => (count('model_forgotten') === 1 ? true : undefined));
    assert.deepEqual(agent.models.listVersions('mlp'), []);
    assert.ok(files.length > 0 && files.every((sha) => !existsSync(join(data, 'blobs', 'sha256', sha.slice(0, 2), sha.slice(2)))), 'files gone');
    assert.equal(status(), undefined, 'no longer reported');
    const r = await infer();
    assert.deepEqual([r.status, r.json.code], [404, 'NOT_FOUND']);
  });

  it('removed while the clock ran 200 days ahead, then set back: forgotten a keep time later, not 200 days', async () => {
    const T = clock.t;
    await hub.publish({ models: [desired(b.v2!, 'mlp', '2.0.0')] }, clock.t);
    await poll('2.0.0 served', async () => ((await infer()).json?.model_version === '2.0.0' ? true : undefined));
    clock.t = T + 200 * 86_400_000;
    await applied(await hub.publish({ models: [], removed: [removal('mlp', 'retired by a box with its clock ahead')] }, clock.t));
    assert.equal(keepUntil(), new Date(clock.t + WEEK_MS).toISOString());
    clock.t = T; // NTP sets it right
    await poll('the keep time runs again from now', () => (keepUntil() === new Date(T + WEEK_MS).toISOString() ? true : undefined));
    assert.equal(count('model_forgotten'), 1, 'not forgotten yet: only the earlier one');
    clock.t = T + WEEK_MS + 60_000;
    await poll('model_forgotten', () => (count('model_forgotten') === 2 ? true : undefined));
    assert.deepEqual(agent.models.listVersions('mlp'), []);
  });
});

const disk: SmallDisk | string = smallDisk(16 << 20);

describe('a version that does not fit gets the removed models\' room first (real tmpfs)', { skip: typeof disk === 'string' ? disk : false }, () => {
  let kit: Kit;
  let hub: TestHub;
  let agent: Agent | undefined;
  const b: Record<string, Bundle> = {};
  after(async () => {
    await agent?.stop();
    await hub?.close();
    if (typeof disk !== 'string') disk.unmount();
    kit?.cleanup();
  });

  it('forgets the removed model instead of waiting for disk space', async () => {
    const d = disk as SmallDisk;
    kit = makeKit('ef-removal-disk-');
    const mk = async (name: string, hidden: number[], seed: number) => {
      const m = randomMlp({ inputDim: 4, hidden, outputDim: 3, seed });
      return withSha(await bundleFromOnnx({ dir: join(kit.dir, 'bundles'), onnx: m.onnx, name, version: '1.0.0', io: m.io, keys: kit.keys }));
    };
    b.big = await mk('big', [1024, 1024], 1); // about 4 MiB of weights
    b.small = await mk('small', [256, 256], 2); // about 256 KiB
    hub = await startTestHub(ID, () => Object.values(b), kit.keys.hub);
    const data = join(d.dir, ID);
    hub.enroll(data, kit.trust.doc);
    agent = await startAgent(data, { sync: { reconnectMs: 200, blockSize: 64 * 1024 } }, { clock, deferCheckMs: 20, diskWaitCheckMs: 60_000 });
    const a = agent;
    await hub.publish({ models: [desired(b.big, 'big')] }, clock.t);
    await poll('big active', () => (a.models.getActive('big') ? true : undefined));
    await hub.publish({ models: [], removed: [removal('big', 'replaced by small')] }, clock.t);
    await poll('big removed', () => (a.sync!.reportedState().models.find((m) => m.name === 'big')?.status === 'removed' ? true : undefined));
    clock.t += 2 * 3600_000; // its files were last used more than prune.ts BLOB_GRACE_MS ago
    a.db.pragma('wal_checkpoint(TRUNCATE)');
    d.fill(256 << 10);
    await hub.publish({ models: [desired(b.small, 'small')], removed: [removal('big', 'replaced by small')] }, clock.t);
    await poll('small active', () => (a.models.getActive('small') ? true : undefined));
    const forgot = a.events.list({ kind: 'model_forgotten' }).filter((e) => e.model === 'big');
    assert.equal(forgot.length, 1);
    assert.match(forgot[0]!.message, /room for small@1\.0\.0/);
    assert.deepEqual(a.events.list({ kind: 'waiting_for_disk' }), [], 'no wait began');
    assert.deepEqual(a.models.listVersions('big'), []);
    d.free();
  });

  it('a shadow candidate that does not fit gets the removed models\' room first too', async () => {
    const d = disk as SmallDisk;
    const a = agent as Agent;
    const cand = randomMlp({ inputDim: 4, hidden: [512, 512], outputDim: 3, seed: 4 }); // about 1 MiB: its download and install fit in big2's 4 MiB
    b.cand = await withSha(await bundleFromOnnx({ dir: join(kit.dir, 'bundles'), onnx: cand.onnx, name: 'small', version: '2.0.0', io: cand.io, keys: kit.keys }));
    const big2 = randomMlp({ inputDim: 4, hidden: [1024, 1024], outputDim: 3, seed: 5 });
    b.big2 = await withSha(await bundleFromOnnx({ dir: join(kit.dir, 'bundles'), onnx: big2.onnx, name: 'big2', version: '1.0.0', io: big2.io, keys: kit.keys }));
    await hub.publish({ models: [desired(b.small!, 'small'), desired(b.big2, 'big2')] }, clock.t);
    await poll('big2 active', () => (a.models.getActive('big2') ? true : undefined));
    await hub.publish({ models: [desired(b.small!, 'small')], removed: [removal('big2', 'room for a candidate')] }, clock.t);
    await poll('big2 removed', () => (a.sync!.reportedState().models.find((m) => m.name === 'big2')?.status === 'removed' ? true : undefined));
    clock.t += 2 * 3600_000;
    a.db.pragma('wal_checkpoint(TRUNCATE)');
    d.fill(256 << 10);
    const shadow = { version: '2.0.0', manifestSha256: b.cand.manifestSha256, bundle: { sha256: b.cand.sha256, size: b.cand.size }, sampleRate: 0.5 };
    await hub.publish({ models: [{ ...desired(b.small!, 'small'), shadow }], removed: [removal('big2', 'room for a candidate')] }, clock.t);
    await poll('the candidate runs in shadow', () => (a.shadow.current('small')?.version === '2.0.0' ? true : undefined));
    const forgot = a.events.list({ kind: 'model_forgotten' }).filter((e) => e.model === 'big2');
    assert.equal(forgot.length, 1);
    assert.match(forgot[0]!.message, /room for the shadow candidate small@2\.0\.0/);
    assert.deepEqual(a.events.list({ kind: 'waiting_for_disk' }), [], 'no wait began');
    d.free();
  });
});
