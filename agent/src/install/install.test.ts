// Install, activate, rollback and refusal paths on an in-process agent with
// real bundles, real SQLite and real ORT sessions; bit-rot fallback at start;
// a swap under concurrent load with zero failed requests.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readBundle } from '@edgefleet/shared';
import { bundleFromOnnx } from '@edgefleet/examples';
import type { Agent } from '../agent.js';
import { makeKit, mlpBundle, req, row, startAgent, type Kit } from '../testing.js';

describe('install, activate, rollback', () => {
  let kit: Kit;
  let agent: Agent;
  let base: string;
  let v1: string;
  let v2: string;
  const dataDir = () => join(kit.dir, 'data');
  const served = async () => (await req(base, 'POST', '/v2/models/mlp/infer', row([1, 2, 3, 4]))).json?.model_version as string | undefined;

  before(async () => {
    kit = makeKit();
    v1 = (await mlpBundle(kit, '1.0.0', { seed: 1 })).path;
    v2 = (await mlpBundle(kit, '2.0.0', { seed: 2 })).path;
    agent = await startAgent(dataDir());
    base = agent.url;
  });
  after(async () => {
    await agent.stop();
    kit.cleanup();
  });

  it('refuses to install without a trust document', async () => {
    await assert.rejects(agent.manager.install(v1), (e: any) => e.code === 'UNTRUSTED_KEY' && /trust set/.test(e.message));
  });

  it('installs and activates v1, then v2 with v1 as previous', async () => {
    agent.trust.put(kit.trust.doc, 1);
    const r1 = await agent.manager.install(v1);
    assert.equal(r1.activated, true);
    assert.equal(await served(), '1.0.0');
    await agent.manager.install(v2);
    assert.equal(await served(), '2.0.0');
    assert.deepEqual({ ...agent.models.getActive('mlp'), updatedAt: 0 }, { name: 'mlp', active: '2.0.0', previous: '1.0.0', updatedAt: 0 });
    const m = agent.manifestFor('mlp', '2.0.0');
    assert.equal(m?.version, '2.0.0');
  });

  it('rolls back and activates again', async () => {
    await agent.manager.rollback('mlp');
    assert.equal(await served(), '1.0.0');
    assert.equal(agent.models.getActive('mlp')?.previous, '2.0.0');
    await agent.manager.activate('mlp', '2.0.0');
    assert.equal(await served(), '2.0.0');
    await assert.rejects(agent.manager.activate('mlp', '7.0.0'), /no installed version "7.0.0": expected one of \[1.0.0, 2.0.0\]/);
    // A mistyped model name is told the models installed, as a mistyped version is told the versions.
    for (const wrong of [() => agent.manager.activate('mpl', '1.0.0'), () => agent.manager.rollback('mpl')]) {
      await assert.rejects(wrong(), (e: any) => e.code === 'NOT_FOUND' && e.message === 'no model "mpl" is installed: expected one of [mlp]');
    }
  });

  it('refuses another bundle under an installed version (CONFLICT), as the hub\'s registry does; the same bundle again is fine', async () => {
    const other = (await mlpBundle(kit, '1.0.0', { seed: 9, out: 'other-1.0.0.efb' })).path;
    await assert.rejects(agent.manager.install(other), (e: any) => e.code === 'CONFLICT' && /^mlp@1\.0\.0 is installed with other content \(manifest [0-9a-f]{12}…, this bundle's [0-9a-f]{12}…\): expected the same bundle, or a new version$/.test(e.message));
    assert.equal(agent.events.list({ kind: 'install_failed' }).at(-1)?.code, 'CONFLICT');
    assert.equal(await served(), '2.0.0');
    const again = await agent.manager.install(v1, { activate: false });
    assert.equal(again.version, '1.0.0');
    assert.equal(await served(), '2.0.0');
  });

  it('installs with --no-activate without switching', async () => {
    const v3 = (await mlpBundle(kit, '3.0.0', { seed: 3 })).path;
    const r = await agent.manager.install(v3, { activate: false });
    assert.equal(r.activated, false);
    assert.equal(await served(), '2.0.0');
    assert.ok(agent.models.getVersion('mlp', '3.0.0'));
  });

  const refusals: Array<[string, () => Promise<string>, RegExp, string]> = [
    ['unsigned', async () => (await mlpBundle(kit, '4.0.0', { sign: false, out: 'unsigned.efb' })).path, /unsigned|0 of threshold/, ''],
    ['signed by an untrusted key', async () => (await mlpBundle(kit, '4.0.1', { signWith: [kit.keys.untrusted], out: 'untrusted.efb' })).path, /threshold|release signatures/, ''],
    ['tampered', async () => {
      const b = await mlpBundle(kit, '4.0.2', { out: 'tampered.efb' });
      const info = await readBundle(b.path, { verifyFiles: false });
      const f = info.files.find((x) => x.path === 'model.onnx')!;
      const bytes = readFileSync(b.path);
      const at = f.offset + Math.floor(f.size / 2);
      bytes[at] = bytes[at]! ^ 0xff;
      writeFileSync(b.path, bytes);
      return b.path;
    }, /sha256/, 'HASH_MISMATCH'],
    ['for a newer agent', async () => (await mlpBundle(kit, '4.0.3', { runtime: { minAgentVersion: '99.0.0' }, out: 'too-new.efb' })).path, /needs agent 99.0.0 or newer/, 'AGENT_TOO_OLD'],
    ['whose model does not load', async () => (await bundleFromOnnx({ dir: join(kit.dir, 'bundles'), onnx: new Uint8Array([1, 2, 3, 4, 5]), name: 'mlp', version: '4.0.4', io: { inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }], outputs: [{ name: 'output', datatype: 'FP32', shape: [-1, 3] }] }, keys: kit.keys, out: 'broken.efb' })).path, /does not load/, 'MODEL_LOAD_FAILED'],
  ];
  for (const [what, make, re, code] of refusals) {
    it(`refuses a bundle ${what}; the previous version keeps serving`, async () => {
      const path = await make();
      await assert.rejects(agent.manager.install(path), (e: any) => re.test(e.message) && (code === '' || e.code === code));
      assert.equal(await served(), '2.0.0');
      assert.equal(agent.models.getActive('mlp')?.active, '2.0.0');
      const ev = agent.events.list({ kind: 'install_failed' }).at(-1);
      assert.ok(ev && re.test(ev.message), `install_failed event recorded: ${ev?.message}`);
    });
  }

  it('refuses an install whose files cannot be stored with IO_ERROR naming the file and the blob directory', async () => {
    // An unwritable blob store (here blobs/tmp is a file; a full disk is DISK_FULL the same way), not INTERNAL.
    const path = (await mlpBundle(kit, '4.0.5', { seed: 5, out: 'unstorable.efb' })).path;
    const tmp = join(dataDir(), 'blobs', 'tmp');
    rmSync(tmp, { recursive: true, force: true });
    writeFileSync(tmp, 'not a directory');
    try {
      await assert.rejects(agent.manager.install(path), (e: any) => e.code === 'IO_ERROR' && /mlp@4\.0\.5: model\.onnx: cannot store it under .*blobs: EEXIST/.test(e.message));
    } finally {
      rmSync(tmp, { force: true });
    }
    assert.equal(agent.events.list({ kind: 'install_failed' }).at(-1)?.code, 'IO_ERROR');
    assert.equal(await served(), '2.0.0');
  });

  it('swaps under concurrent load without a failed request', async () => {
    let stop = false;
    const seen = new Map<string, number>();
    const failures: string[] = [];
    const worker = async () => {
      while (!stop) {
        const r = await req(base, 'POST', '/v2/models/mlp/infer', row([1, 2, 3, 4]));
        if (r.status !== 200) failures.push(`${r.status} ${r.text}`);
        else seen.set(r.json.model_version, (seen.get(r.json.model_version) ?? 0) + 1);
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    for (const v of ['1.0.0', '2.0.0', '1.0.0', '2.0.0']) await agent.manager.activate('mlp', v);
    stop = true;
    await Promise.all(workers);
    assert.deepEqual(failures, []);
    assert.ok((seen.get('1.0.0') ?? 0) > 0 && (seen.get('2.0.0') ?? 0) > 0, `both versions served: ${JSON.stringify([...seen])}`);
  });

  it('answers 503 with Retry-After past the queue, never an unbounded backlog', async () => {
    const dir = join(kit.dir, 'data-small');
    const small = await startAgent(dir, { concurrency: { perModel: 1, queue: 1 } });
    try {
      small.trust.put(kit.trust.doc, 1);
      await small.manager.install(v1);
      const limiter = small.runtime.limiterFor('mlp')!;
      assert.equal(limiter.acquire(), undefined); // the one slot
      const queued = limiter.acquire(); // the one queue place
      assert.ok(queued);
      const over = await req(small.url, 'POST', '/v2/models/mlp/infer', row([1, 2, 3, 4]));
      assert.equal(over.status, 503);
      assert.equal(over.headers.get('retry-after'), '1');
      assert.match(over.json.error, /model "mlp" is overloaded: 1 running and 1 queued/);
      const m = await req(small.url, 'GET', '/metrics');
      assert.match(m.text, /edgefleet_agent_queue_depth\{model="mlp"\} 1/);
      assert.match(m.text, /outcome="OVERLOADED"\} 1/);
      limiter.release(); // hands the slot to the queued one
      await queued;
      limiter.release();
      assert.equal((await req(small.url, 'POST', '/v2/models/mlp/infer', row([1, 2, 3, 4]))).status, 200);
    } finally {
      await small.stop();
    }
  });

  it('falls back to the previous version at start when the active files rotted', async () => {
    await agent.manager.activate('mlp', '2.0.0');
    const m2 = agent.models.getVersion('mlp', '2.0.0')!.manifest;
    const blob = agent.blobs.pathOf(m2.files[0]!.sha256);
    await agent.stop();
    const bytes = readFileSync(blob);
    bytes[10] = bytes[10]! ^ 0x01;
    writeFileSync(blob, bytes);
    agent = await startAgent(dataDir());
    base = agent.url;
    assert.equal(await served(), '1.0.0');
    assert.equal(agent.models.getActive('mlp')?.active, '1.0.0');
    const ev = agent.events.list({ kind: 'bit_rot' }).at(-1);
    assert.equal(ev?.version, '2.0.0');
    assert.match(ev!.message, /bit rot/);
  });

  it('a reinstall replaces stored files that rotted, as the refusal to activate them says', async () => {
    // After the test above 1.0.0 is active and 2.0.0's model file is rotten (same size, one bit off).
    await assert.rejects(agent.manager.activate('mlp', '2.0.0'), (e: any) => e.code === 'HASH_MISMATCH' && /reinstall the bundle/.test(e.message));
    const f = agent.models.getVersion('mlp', '2.0.0')!.manifest.files[0]!;
    assert.equal(await agent.blobs.verify(f.sha256, f.size), false);
    await agent.manager.install(v2);
    assert.equal(await agent.blobs.verify(f.sha256, f.size), true, 'the stored file is whole again');
    assert.equal(await served(), '2.0.0');
    await agent.manager.activate('mlp', '1.0.0');
    await agent.manager.activate('mlp', '2.0.0'); // re-hashed on the switch: whole
  });
});
