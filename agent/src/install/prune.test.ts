// Old model versions leave the box (prune.ts), on an in-process agent with real bundles, SQLite and ORT:
// after installs and switches each model keeps its active, its previous and its two newest versions;
// the others are forgotten and the files no kept version names are deleted once idle for the grace,
// including ones a prune spared earlier; a file two versions share stays while one of them is kept;
// rollback and serving go on; a forgotten version installs again. The choice itself, as a pure function.
import { after, before, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import type { Agent } from '../agent.js';
import type { InstalledVersion } from '../store/models-repo.js';
import { makeKit, mlpBundle, req, row, startAgent, type Kit } from '../testing.js';
import { BLOB_GRACE_MS, KEEP_RECENT, versionsToPrune } from './prune.js';

test(`versionsToPrune keeps active, previous and the ${KEEP_RECENT} installed last`, () => {
  const v = (version: string, day: number) => ({ name: 'm', version, installedAt: `2026-12-${String(day).padStart(2, '0')}T00:00:00.000Z` }) as InstalledVersion;
  const all = [v('1', 1), v('2', 2), v('3', 3), v('4', 4), v('5', 5), v('6', 6)];
  const names = (xs: InstalledVersion[]) => xs.map((x) => x.version);
  assert.deepEqual(names(versionsToPrune(all, { name: 'm', active: '4', previous: '1', updatedAt: '' })), ['2', '3']);
  assert.deepEqual(names(versionsToPrune(all, { name: 'm', active: '6', previous: '5', updatedAt: '' })), ['1', '2', '3', '4']);
  assert.deepEqual(names(versionsToPrune(all, undefined)), ['1', '2', '3', '4'], 'nothing active (a CLI install with --no-activate only): the newest stay');
  assert.deepEqual(names(versionsToPrune(all.slice(0, 3), { name: 'm', active: '1', previous: undefined, updatedAt: '' })), []);
});

describe('old model versions leave the box', () => {
  // A prune runs as the manager's next operation after an install or switch: settled() waits for it.
  let kit: Kit;
  let agent: Agent;
  const versions = () => agent.models.listVersions('mlp').map((v) => v.version);
  const fileOf = (version: string) => agent.blobs.pathOf(agent.models.getVersion('mlp', version)!.manifest.files.find((f) => f.path.endsWith('.onnx'))!.sha256);
  /** Makes every stored file look unused for longer than the grace. */
  const age = (paths: string[]) => {
    const t = new Date(Date.now() - BLOB_GRACE_MS - 60_000);
    for (const p of paths) utimesSync(p, t, t);
  };

  before(async () => {
    kit = makeKit('ef-prune-');
    agent = await startAgent(join(kit.dir, 'data'));
    agent.trust.put(kit.trust.doc, 1);
  });
  after(async () => {
    await agent.stop();
    kit.cleanup();
  });

  it('keeps active, previous and the two newest; deletes idle files no kept version names; serving and rollback go on', async () => {
    const bundles = new Map<string, string>();
    for (const [i, version] of ['1.0.0', '2.0.0', '3.0.0', '4.0.0'].entries()) bundles.set(version, (await mlpBundle(kit, version, { seed: i + 1 })).path);
    await agent.manager.install(bundles.get('1.0.0')!);
    await agent.manager.settled();
    const f1 = fileOf('1.0.0');
    await agent.manager.install(bundles.get('2.0.0')!);
    await agent.manager.settled();
    assert.deepEqual(versions(), ['1.0.0', '2.0.0']);
    await agent.manager.install(bundles.get('3.0.0')!);
    await agent.manager.settled();
    assert.deepEqual(versions(), ['2.0.0', '3.0.0'], '3.0.0 active, 2.0.0 previous (also the two newest): 1.0.0 goes');
    assert.equal(existsSync(f1), true, 'its file was used within the grace: spared');
    age([f1]);
    // 4.0.0 installed without switching (waiting for its maintenance window): kept as one of the two newest.
    await agent.manager.install(bundles.get('4.0.0')!, { activate: false });
    await agent.manager.settled();
    assert.deepEqual(versions(), ['2.0.0', '3.0.0', '4.0.0']);
    assert.equal(existsSync(f1), false, "1.0.0's model file is deleted by a later prune once idle");
    const f2 = fileOf('2.0.0');
    assert.equal((await req(agent.url, 'POST', '/v2/models/mlp/infer', row([1, 2, 3, 4]))).json?.model_version, '3.0.0');
    // Its switch comes: 2.0.0 is no longer previous, and not among the two newest, but was used within the grace.
    await agent.manager.activate('mlp', '4.0.0');
    await agent.manager.settled();
    assert.deepEqual(versions(), ['3.0.0', '4.0.0']);
    assert.equal(existsSync(f2), true, 'spared: used within the grace');
    // The next prune deletes it once idle.
    age([f2]);
    await agent.manager.rollback('mlp');
    await agent.manager.settled();
    assert.equal(existsSync(f2), false, 'deleted by a later prune');
    assert.deepEqual({ ...agent.models.getActive('mlp'), updatedAt: 0 }, { name: 'mlp', active: '3.0.0', previous: '4.0.0', updatedAt: 0 });
    assert.equal((await req(agent.url, 'POST', '/v2/models/mlp/infer', row([1, 2, 3, 4]))).json?.model_version, '3.0.0');
    // A forgotten version installs again (the hub sends it again), as any version.
    await agent.manager.install(bundles.get('1.0.0')!);
    await agent.manager.settled();
    assert.equal(existsSync(f1), true);
    assert.deepEqual(versions().sort(), ['1.0.0', '3.0.0', '4.0.0']);
    assert.equal((await req(agent.url, 'POST', '/v2/models/mlp/infer', row([1, 2, 3, 4]))).json?.model_version, '1.0.0');
  });

  it('keeps a file two versions share while one of them is kept', async () => {
    // 6.0.0 and 7.0.0 carry the same model (same seed): one file for both.
    const v6 = (await mlpBundle(kit, '6.0.0', { seed: 42 })).path;
    const v7 = (await mlpBundle(kit, '7.0.0', { seed: 42 })).path;
    await agent.manager.install(v6);
    await agent.manager.settled();
    await agent.manager.install(v7);
    await agent.manager.settled();
    const shared = fileOf('6.0.0');
    assert.equal(fileOf('7.0.0'), shared);
    age([shared]);
    const v8 = (await mlpBundle(kit, '8.0.0', { seed: 8 })).path;
    await agent.manager.install(v8);
    await agent.manager.settled(); // 6.0.0 goes (not active, previous or newest two); 7.0.0 stays
    assert.equal(versions().includes('6.0.0'), false);
    assert.equal(existsSync(shared), true, '7.0.0 still uses it');
  });

  it('never forgets the active or previous version, naming which it is', () => {
    const a = agent.models.getActive('mlp')!;
    assert.throws(() => agent.models.removeVersion('mlp', a.active), (e: Error & { code?: string }) => e.code === 'CONFLICT' && e.message === `mlp@${a.active} is the active version: it is kept`);
    assert.throws(() => agent.models.removeVersion('mlp', a.previous!), (e: Error & { code?: string }) => e.code === 'CONFLICT' && e.message === `mlp@${a.previous!} is the previous version: it is kept`);
    assert.equal(agent.models.removeVersion('mlp', '9.9.9'), false, 'a version not installed: nothing to forget');
    assert.ok(versions().includes(a.active) && versions().includes(a.previous!));
  });
});
