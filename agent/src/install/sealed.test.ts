// Sealed models on one box (docs/decisions/0029-sealed-models.md), with real bundles, SQLite and ORT:
// an encrypted bundle installs only with a content key sealed to this box, serves the same outputs as
// the plain model, loads again at restart, and its plaintext is on no file of the data dir; one whose key no
// longer opens at start loads once the key comes sealed to the box's new device key.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateBoxKeyPair, newContentKey, readBundle, sealContentKey } from '@edgefleet/shared';
import { bundleFromOnnx, findBytes, randomMlp, secretWindows } from '@edgefleet/examples';
import type { Agent } from '../agent.js';
import { makeKit, req, row, startAgent, type Kit } from '../testing.js';
import { deviceKeyPath, loadOrCreateDeviceKey } from '../keys/device-key.js';

describe('sealed models on a box', () => {
  let kit: Kit;
  let agent: Agent;
  const key = newContentKey();
  const mlp = randomMlp({ inputDim: 4, hidden: [64], outputDim: 3, seed: 7 });
  const dataDir = () => join(kit.dir, 'data');
  const bundle = (version: string, extra: { encrypt?: boolean; out?: string } = {}) => bundleFromOnnx({
    dir: join(kit.dir, 'bundles'), onnx: mlp.onnx, name: 'mlp', version, io: mlp.io, keys: kit.keys,
    files: [{ path: 'samples/one.json', bytes: JSON.stringify(row([0.5, 1, 1.5, 2])) }], samples: [{ request: 'samples/one.json' }],
    ...(extra.encrypt ? { encrypt: { key, chunkSize: 4096 } } : {}), ...(extra.out ? { out: extra.out } : {}),
  });
  const infer = async () => (await req(agent.url, 'POST', '/v2/models/mlp/infer', row([1, 2, 3, 4]))).json as { model_version: string; outputs: { data: number[] }[] };

  before(async () => {
    kit = makeKit('ef-sealed-');
    agent = await startAgent(dataDir());
    agent.trust.put(kit.trust.doc, 1);
  });
  after(async () => {
    await agent.stop();
    kit.cleanup();
  });

  it('the device key is made once, mode 0600, and stays', () => {
    const a = loadOrCreateDeviceKey(dataDir());
    assert.equal(statSync(deviceKeyPath(dataDir())).mode & 0o777, 0o600);
    const b = loadOrCreateDeviceKey(dataDir());
    assert.equal(b.created, false);
    assert.equal(b.pair.keyId, a.pair.keyId);
  });

  it('is refused without a key, or with a key sealed to another box, before any file is copied', async () => {
    const enc = (await bundle('2.0.0', { encrypt: true })).path;
    await assert.rejects(agent.manager.install(enc), (e: { code?: string; message?: string }) => e.code === 'CONTENT_KEY_MISSING' && /holds no key/.test(e.message ?? ''));
    const other = sealContentKey(key, generateBoxKeyPair().publicKey);
    await assert.rejects(agent.manager.install(enc, { sealedKey: other }), (e: { code?: string }) => e.code === 'CONTENT_KEY_MISSING');
    const info = await readBundle(enc);
    for (const f of info.files) assert.equal(await agent.blobs.has(f.sha256), false, `${f.path} was not copied`);
    assert.equal(agent.models.getVersion('mlp', '2.0.0'), undefined);
  });

  it('a sealed key given with a bundle that is not encrypted is refused, nothing copied (it was ignored without a word)', async () => {
    const plain = (await bundle('0.9.0', { out: 'plain.efb' })).path;
    await assert.rejects(agent.manager.install(plain, { sealedKey: sealContentKey(key, openStoreKey().publicKey) }), (e: { code?: string; message?: string }) =>
      e.code === 'INVALID_INPUT' && /^mlp@0\.9\.0 is not encrypted: it needs no --key \(the sealed key is for content key [0-9a-f]{12}…\); expected the encrypted bundle the key was sealed for$/.test(e.message ?? ''));
    for (const f of (await readBundle(plain)).files) assert.equal(await agent.blobs.has(f.sha256), false, `${f.path} was not copied`);
    assert.equal(agent.models.getVersion('mlp', '0.9.0'), undefined);
  });

  it('a tampered ciphertext is refused by hash before decryption', async () => {
    const enc = (await bundle('2.0.0', { encrypt: true, out: 'tampered.efb' })).path;
    const info = await readBundle(enc);
    const model = info.files.find((f) => f.path === 'model.onnx')!;
    const bytes = readFileSync(enc);
    bytes[model.offset + 100] = (bytes[model.offset + 100] as number) ^ 0x01;
    writeFileSync(enc, bytes);
    await assert.rejects(agent.manager.install(enc, { sealedKey: sealContentKey(key, openStoreKey().publicKey) }), (e: { code?: string }) => e.code === 'HASH_MISMATCH');
  });

  it('installs with the key sealed to this box and serves what the plain model serves; no plaintext on disk', async () => {
    await agent.manager.install((await bundle('1.0.0')).path);
    const plain = await infer();
    const enc = (await bundle('2.0.0', { encrypt: true })).path;
    const r = await agent.manager.install(enc, { sealedKey: sealContentKey(key, openStoreKey().publicKey) });
    assert.equal(r.activated, true);
    assert.ok(r.preflight, 'the encrypted sample ran as a preflight');
    const sealed = await infer();
    assert.equal(sealed.model_version, '2.0.0');
    assert.deepEqual(sealed.outputs.map((o) => o.data), plain.outputs.map((o) => o.data));
    // Version 1.0.0 is plain, so its blob holds the model: scan only what the encrypted version stored.
    const v2 = agent.models.getVersion('mlp', '2.0.0')!;
    assert.ok(v2.manifest.encryption);
    await agent.manager.rollback('mlp');
    // Nothing of the sealed version's plaintext: not in its blobs, not in agent.db, not in the WAL.
    const scan = findBytes([join(dataDir(), 'blobs'), join(dataDir(), 'agent.db'), join(dataDir(), 'agent.db-wal')], secretWindows(mlp.onnx));
    // The plain 1.0.0 blob is the only file that may hold them.
    const plainBlob = agent.blobs.pathOf(agent.models.getVersion('mlp', '1.0.0')!.manifest.files.find((f) => f.path === 'model.onnx')!.sha256);
    assert.deepEqual(scan.hits.filter((h) => !h.startsWith(plainBlob)), []);
    assert.ok(scan.hits.some((h) => h.startsWith(plainBlob)), 'the scan does find the plain version\'s model in its blob');
    assert.ok(scan.files > 3, `scanned ${scan.files} files`);
  });

  it('loads the sealed version again after a restart (the key is kept sealed in agent.db)', async () => {
    await agent.manager.activate('mlp', '2.0.0');
    await agent.stop();
    agent = await startAgent(dataDir());
    assert.equal((await infer()).model_version, '2.0.0');
  });

  it('a version whose key no longer opens at start (device key lost) is loaded once its key comes sealed to the new device key', async () => {
    const solo = await bundleFromOnnx({
      dir: join(kit.dir, 'bundles'), onnx: mlp.onnx, name: 'solo', version: '1.0.0', io: mlp.io, keys: kit.keys, encrypt: { key, chunkSize: 4096 },
    });
    await agent.manager.install(solo.path, { sealedKey: sealContentKey(key, openStoreKey().publicKey) });
    await agent.stop();
    rmSync(deviceKeyPath(dataDir()));
    agent = await startAgent(dataDir());
    const soloServed = async () => (await req(agent.url, 'POST', '/v2/models/solo/infer', row([1, 2, 3, 4]))).status;
    assert.equal(await soloServed(), 404, 'no version of it loads: no previous to fall back to');
    assert.equal(await agent.manager.loadIfNotServed('mlp'), false, 'a model that loaded is left alone');
    await assert.rejects(agent.manager.loadIfNotServed('solo'), (e: { code?: string }) => e.code === 'CONTENT_KEY_MISSING');
    agent.manager.rememberKey(sealContentKey(key, openStoreKey().publicKey));
    assert.equal(await agent.manager.loadIfNotServed('solo'), true);
    assert.equal(await soloServed(), 200);
    assert.equal(await agent.manager.loadIfNotServed('solo'), false, 'once');
  });

  function openStoreKey() {
    return loadOrCreateDeviceKey(dataDir()).pair;
  }
});
