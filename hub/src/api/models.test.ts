// The registry over REST with real signed bundles from the examples test kit and
// the shared verifier: a good push is stored (blob + version + audit), the same
// bundle again is a no-op, and an untrusted key, a tampered file, a duplicate
// version with other content and an oversized body are refused with nothing stored.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { buildMultiBundle, buildMultiInputModel, bundleFromOnnx, makeKeys, makeTrust, randomMlp, writeEditedManifestBundle, type Keys } from '@edgefleet/examples';
import { readBundle, signBundle, verifyBundle, type TrustBody } from '@edgefleet/shared';
import { bundleVerifier } from '../registry.js';
import { makeHarness, type Harness } from '../testing/harness.js';
import { forEachBackend, type Backend } from '../testing/backends.js';

let dir: string;
let keys: Keys;
let trust: TrustBody;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ef-reg-'));
  keys = makeKeys(join(dir, 'keys'));
  trust = makeTrust(dir, keys).body;
});
after(() => rmSync(dir, { recursive: true, force: true }));

function harness(maxBundleBytes?: number): Harness {
  return makeHarness({
    database: backend.database(),
    keys,
    ...(maxBundleBytes ? { maxBundleBytes } : {}),
    verifyBundle: bundleVerifier(() => trust),
  });
}

const push = (h: Harness, file: string, role: 'operator' | 'viewer' = 'operator') =>
  h.req('POST', '/api/v1/models', { role, body: new Uint8Array(readFileSync(file)), headers: { 'content-type': 'application/octet-stream' } });

function blobFiles(h: Harness): string[] {
  const root = join(h.dir, 'blobs', 'sha256');
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((d) => readdirSync(join(root, d)));
}

/** The database backend of the suite running now (docs/decisions/0040-postgresql.md). */
let backend: Backend;
// The same suite on each database backend.
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
test('push a signed bundle: stored as a blob, listed, shown, downloadable, audited; same bundle again is 200', async () => {
  const h = harness();
  try {
    const b = await buildMultiBundle({ dir: join(dir, 'ok'), keys, version: '1.0.0' });
    const r = await push(h, b.path);
    assert.equal(r.status, 201, await r.clone().text());
    const info = (await r.json()) as { name: string; version: string; bundle: { sha256: string; size: number }; pushedBy: string };
    assert.equal(info.name, 'audio-energy');
    assert.equal(info.pushedBy, 'operator-token');
    assert.equal(info.bundle.size, b.size);
    assert.deepEqual(blobFiles(h), [info.bundle.sha256]);
    assert.ok(existsSync(join(h.dir, 'blobs', 'sha256', info.bundle.sha256.slice(0, 2), info.bundle.sha256)));

    assert.equal((await push(h, b.path)).status, 200);

    const list = (await (await h.req('GET', '/api/v1/models', { role: 'viewer' })).json()) as { versions: unknown[] };
    assert.equal(list.versions.length, 1);
    const show = (await (await h.req('GET', '/api/v1/models/audio-energy/versions/1.0.0', { role: 'viewer' })).json()) as {
      manifest: { name: string }; signatures: Array<{ keyId: string }>; provenance: { reason: string }; devices: unknown[];
    };
    assert.equal(show.manifest.name, 'audio-energy');
    assert.deepEqual(show.signatures.map((s) => s.keyId), [keys.release.keyId]);
    assert.equal(typeof show.provenance.reason, 'string');
    assert.deepEqual(show.devices, []);
    // The devices running it: all of them, or the first N by id with ?devices=N and devicesTotal.
    for (const id of ['d-3', 'd-1', 'd-2']) {
      h.store.devices.create(id, `secret-${id}`, {}, null, new Date());
      h.store.db.prepare('INSERT INTO device_models (device_id, name, version, status) VALUES (?, ?, ?, ?)').run(id, 'audio-energy', '1.0.0', 'active');
    }
    const shown = async (q: string) => (await (await h.req('GET', `/api/v1/models/audio-energy/versions/1.0.0${q}`, { role: 'viewer' })).json()) as { devices: Array<{ id: string }>; devicesTotal?: number };
    assert.deepEqual((await shown('')).devices.map((d) => d.id), ['d-1', 'd-2', 'd-3']);
    assert.equal((await shown('')).devicesTotal, undefined);
    const two = await shown('?devices=2');
    assert.deepEqual([two.devices.map((d) => d.id), two.devicesTotal], [['d-1', 'd-2'], 3]);
    assert.deepEqual((await shown('?devices=5')).devicesTotal, 3);
    const bad = await h.req('GET', '/api/v1/models/audio-energy/versions/1.0.0?devices=0', { role: 'viewer' });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /devices/);

    const dl = await h.req('GET', '/api/v1/models/audio-energy/versions/1.0.0/bundle', { role: 'viewer' });
    assert.equal(dl.status, 200);
    assert.deepEqual(Buffer.from(await dl.arrayBuffer()), readFileSync(b.path));

    const dep = await h.req('POST', '/api/v1/models/audio-energy/versions/1.0.0/deprecate', { role: 'operator', json: { reason: 'superseded' } });
    assert.equal(dep.status, 200);
    assert.equal(((await dep.json()) as { deprecated: boolean }).deprecated, true);
    assert.throws(() => h.store.models.assignable('audio-energy', '1.0.0'), /deprecated \(superseded\)/);
    assert.equal((await h.req('GET', '/api/v1/models/audio-energy/versions/1.0.0/bundle', { role: 'viewer' })).status, 200);

    const audit = h.store.audit.query({}).map((e) => [e.action, e.target, e.reason]);
    assert.deepEqual(audit, [['model.push', 'audio-energy@1.0.0', null], ['model.repush', 'audio-energy@1.0.0', null], ['model.deprecate', 'audio-energy@1.0.0', 'superseded']]);
    const repush = h.store.audit.query({ action: 'model.repush' })[0]!;
    assert.equal(repush.actor, 'operator-token');
    assert.match(repush.actorId ?? '', /^tok/);
    assert.equal((repush.details as { bundleSha256: string }).bundleSha256, info.bundle.sha256);
  } finally {
    h.close();
  }
});

test('push refusals: untrusted key, tampered file, other content under an existing version, too large; nothing stored', async () => {
  const h = harness();
  try {
    // signed only by a release-role key the trust document does not name
    const unsigned = await buildMultiBundle({ dir: join(dir, 'untrusted'), keys, sign: false, version: '2.0.0' });
    await signBundle(unsigned.path, keys.untrusted);
    const u = await push(h, unsigned.path);
    assert.equal(u.status, 422);
    const ue = ((await u.json()) as { error: { code: string; message: string } }).error;
    assert.equal(ue.code, 'THRESHOLD_NOT_MET', ue.message);

    // one byte of the model file flipped after signing
    const good = await buildMultiBundle({ dir: join(dir, 'tamper'), keys, version: '3.0.0' });
    const info = await readBundle(good.path);
    const bytes = readFileSync(good.path);
    const off = (info.files[0]?.offset ?? 0) + 10;
    bytes[off] = (bytes[off] ?? 0) ^ 0xff;
    const tampered = join(dir, 'tampered.efb');
    writeFileSync(tampered, bytes);
    const t = await push(h, tampered);
    assert.equal(t.status, 422);
    const te = ((await t.json()) as { error: { code: string; message: string } }).error;
    assert.equal(te.code, 'HASH_MISMATCH', te.message);
    assert.match(te.message, /model\.onnx/);
    // Bytes that are no bundle: the error calls it the pushed bundle, not the hub's staging file.
    const junk = join(dir, 'junk.efb');
    writeFileSync(junk, Buffer.alloc(2048, 7));
    const j = ((await (await push(h, junk)).json()) as { error: { code: string; message: string } }).error;
    assert.match(j.message, /^pushed bundle: /, j.message);
    assert.doesNotMatch(j.message, /\.part/);
    assert.deepEqual(blobFiles(h), []);
    assert.deepEqual(h.store.models.list(), []);

    // the same name and version with other content
    assert.equal((await push(h, good.path)).status, 201);
    const m = buildMultiInputModel();
    const other = await bundleFromOnnx({ dir: join(dir, 'other'), onnx: m.onnx, io: m.io, name: 'audio-energy', version: '3.0.0', description: 'different', keys });
    const c = await push(h, other.path);
    assert.equal(c.status, 409);
    assert.match(((await c.json()) as { error: { message: string } }).error.message, /already in the registry with other content/);
    // The same manifest signed again (after a release-key rotation, say): told how to replace it (found by the ML probe,
    // which was told to publish a new version by this refusal and to push the version again by "model ls").
    const resigned = join(dir, 'resigned.efb');
    writeFileSync(resigned, readFileSync(good.path));
    await signBundle(resigned, keys.untrusted);
    const r = await push(h, resigned);
    assert.equal(r.status, 409);
    assert.match(((await r.json()) as { error: { message: string } }).error.message,
      /^audio-energy 3\.0\.0 is already in the registry with this manifest and other signatures \(bundle [0-9a-f]{12}…, this one [0-9a-f]{12}…\), re-signed after a release-key rotation\? The registry keeps one bundle per version: "edgefleet model delete audio-energy 3\.0\.0 --reason TEXT" first if nothing refers to it, else pack it as a new version$/);
    assert.equal(blobFiles(h).length, 1);

    // viewers cannot push
    assert.equal((await push(h, good.path, 'viewer')).status, 403);
    assert.equal(h.store.audit.query({ action: 'model.push' }).length, 1);
  } finally {
    h.close();
  }
  const small = harness(1024);
  try {
    const b = await buildMultiBundle({ dir: join(dir, 'big'), keys, version: '4.0.0' });
    const r = await push(small, b.path);
    assert.equal(r.status, 413);
    assert.match(((await r.json()) as { error: { message: string } }).error.message, /limit of 1024 bytes \(maxBundleBytes, --max-bundle-bytes\)/);
    // Declared by its Content-Length (as `edgefleet model push` sends it): refused unread, naming the setting too.
    const bytes = new Uint8Array(readFileSync(b.path));
    const declared = await small.req('POST', '/api/v1/models', { body: bytes, headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) } });
    assert.equal(declared.status, 413);
    assert.equal(((await declared.json()) as { error: { message: string } }).error.message,
      `request body of ${bytes.length} bytes is too large: expected at most 1024 bytes (the hub's maxBundleBytes, --max-bundle-bytes)`);
    assert.deepEqual(blobFiles(small), []);
    assert.deepEqual(readdirSync(join(small.dir, 'blobs', 'tmp')), []);
  } finally {
    small.close();
  }
});

test('a version whose features share a name is refused at push (every window would be refused); one already held is pushed again as before', async () => {
  const h = harness();
  try {
    const mlp = randomMlp({ inputDim: 2, hidden: [3], outputDim: 1, inputName: 'x', outputName: 'y', output: 'sigmoid' });
    const features = [{ name: 'temp', index: 0, kind: 'numeric' as const }, { name: 'rpm', index: 1, kind: 'numeric' as const }];
    const b = await bundleFromOnnx({ dir: join(dir, 'dup'), onnx: mlp.onnx, io: mlp.io, name: 'dup-names', version: '1.0.0', features, keys });
    // As an older pack would have written it: signed, and it verifies, so a box that installed it keeps loading it.
    const dup = join(dir, 'dup-names.efb');
    await writeEditedManifestBundle(b.path, dup, (m) => { (m.features as { name: string }[])[1]!.name = 'temp'; }, [keys.release]);
    const v = await verifyBundle(dup, trust);
    assert.deepEqual(v.manifest.features?.map((f) => f.name), ['temp', 'temp']);
    await assert.rejects(signBundle(dup, keys.untrusted), /manifest\.json: features\[0\] and features\[1\] are both named "temp"/);

    const r = await push(h, dup);
    assert.equal(r.status, 422, await r.clone().text());
    const e = ((await r.json()) as { error: { code: string; message: string } }).error;
    assert.equal(e.code, 'BUNDLE_INVALID');
    assert.match(e.message, /^dup-names 1\.0\.0: manifest\.json: features\[0\] and features\[1\] are both named "temp"; expected each name once/);
    assert.deepEqual(blobFiles(h), []);
    assert.deepEqual(h.store.models.list(), []);

    // A hub that took it before this check holds it; the same bundle pushed again stays a no-op.
    const bytes = readFileSync(dup);
    const sha = createHash('sha256').update(bytes).digest('hex');
    const temp = h.store.blobs.tempPath();
    writeFileSync(temp, bytes);
    h.store.blobs.adopt(temp, sha, bytes.length, new Date());
    h.store.models.insert({ manifest: v.manifest, manifestSha256: v.manifestSha256, signatures: v.signatures.signatures, bundleSha256: sha, bundleSize: bytes.length, pushedBy: 'before', at: new Date() });
    assert.equal((await push(h, dup)).status, 200);
  } finally {
    h.close();
  }
});

// Found by the ML probe: a runtime.minAgentVersion the schema takes and an agent cannot compare
// ("0.1.0-a..b") was pushed and deployed, and the box failed it at install (INVALID_INPUT).
test('a version whose minAgentVersion no agent can compare is refused at push; nothing stored', async () => {
  const h = harness();
  try {
    const mlp = randomMlp({ inputDim: 2, hidden: [3], outputDim: 1, inputName: 'x', outputName: 'y', output: 'sigmoid' });
    const b = await bundleFromOnnx({ dir: join(dir, 'minver'), onnx: mlp.onnx, io: mlp.io, name: 'minver', version: '1.0.0', keys });
    const bad = join(dir, 'minver-bad.efb');
    await writeEditedManifestBundle(b.path, bad, (m) => { (m.runtime as { minAgentVersion: string }).minAgentVersion = '0.1.0-a..b'; }, [keys.release]);
    const r = await push(h, bad);
    assert.equal(r.status, 422, await r.clone().text());
    const e = ((await r.json()) as { error: { code: string; message: string } }).error;
    assert.equal(e.code, 'BUNDLE_INVALID');
    assert.match(e.message, /^minver 1\.0\.0: manifest\.json: runtime\.minAgentVersion "0\.1\.0-a\.\.b" is not a semantic version an agent can compare \(every agent would refuse the bundle at install\)/);
    assert.deepEqual(blobFiles(h), []);
    assert.deepEqual(h.store.models.list(), []);
    assert.equal((await push(h, b.path)).status, 201);
  } finally {
    h.close();
  }
});
}
