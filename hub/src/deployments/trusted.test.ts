// A version signed only by a release key that a trust rotation has since dropped: every agent would
// refuse its bundle, so the hub refuses to deploy it (VERSION_NOT_TRUSTED) through the deployments part
// and POST /deployments, naming the version, its signers and the keys the trust accepts. Real Store,
// real bundles signed by the examples' keys, the embedded broker (deployments/testing.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildMultiBundle, makeTrust } from '@edgefleet/examples';
import { STATE_SCHEMA, type AppError, type ModelVersionInfo, type TrustDocument } from '@edgefleet/shared';
import { cleanup, fixture, prepare, startHub, addDevice, type TestHub } from './testing.js';
import { createApp } from '../api/app.js';
import { Metrics } from '../metrics.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('trusted', () => {
  before(prepare);
  after(cleanup);

  /** Trust version 2 after rotating the release key: only the fixture's `untrusted` release key counts. */
  function rotate(h: TestHub): void {
    const { root, keys } = fixture();
    h.trust = makeTrust(join(root, 'rotated'), { ...keys, release: keys.untrusted }, { version: 2 }).body;
  }

  /** What a device's agent reports holding: `version` of audio-energy active. */
  function holds(h: TestHub, id: string, version: string): void {
    h.store.devices.setReported(id, {
      schema: STATE_SCHEMA, deviceId: id, at: h.clock.now().toISOString(), agentVersion: '0.1.0', lastAppliedSeq: 0, trustVersion: 1,
      models: [{ name: 'audio-energy', active: version, previous: null, installed: [version], status: 'active', target: null }], capabilities: [],
    });
  }

  /** The hub's REST app over the test hub's parts (its trust document is the hub's current trust), and an operator token. */
  function rest(h: TestHub, role: 'operator' | 'admin' = 'operator') {
    const app = createApp({
      store: h.store, metrics: new Metrics(), clock: h.clock, trust: () => ({ signed: h.trust, signatures: [] }) as TrustDocument, brokers: () => [], fleet: null,
      maxBundleBytes: 1 << 20, verifyBundle: () => Promise.reject(new Error('unused')), deployments: h.parts.deployments, ingest: h.parts.ingest,
    });
    const token = h.store.tokens.create(`${role}-${h.store.tokens.count()}`, role, 'test', h.clock.now()).token;
    return (method: string, path: string, body?: unknown) => app.request(`/api/v1${path}`, {
      method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}),
    });
  }

  /** GET /models: each version's `trusted`. */
  async function trustedOf(h: TestHub): Promise<Record<string, boolean | undefined>> {
    const { versions } = (await (await rest(h)('GET', '/models')).json()) as { versions: ModelVersionInfo[] };
    return Object.fromEntries(versions.map((v) => [v.version, v.trusted]));
  }

  function untrusted(version: string) {
    const { keys } = fixture();
    return (err: AppError) => {
      assert.equal(err.code, 'VERSION_NOT_TRUSTED');
      assert.match(err.message, new RegExp(`^audio-energy@${version.replace(/\./g, '\\.')} is signed by release key\\(s\\) ${keys.release.keyId.slice(0, 12)}…, but the hub's trust \\(version 2\\) accepts 1 of release key\\(s\\) ${keys.untrusted.keyId.slice(0, 12)}… \\(0 valid\\)`));
      assert.match(err.message, /Sign it with a current release key \("edgefleet model sign BUNDLE --key RELEASE\.key"\) and push it again/);
      return true;
    };
  }

  describe('deploying a version the rotated trust no longer accepts', () => {
    it('is refused before anything is stored or sent; a device holding it may still be switched', async () => {
      const h = await startHub();
      try {
        for (const id of ['d1', 'd2']) addDevice(h, id);
        await h.parts.deployments.deploy({ model: 'audio-energy', version: '1.0.0', target: { devices: ['d1'] }, reason: 'before rotation' }, 'op');
        holds(h, 'd1', '1.0.0');
        const before = h.store.deployments.list().deployments.length;
        rotate(h);
        await assert.rejects(h.parts.deployments.deploy({ model: 'audio-energy', version: '2.0.0', target: { all: true }, reason: 'r' }, 'op'), untrusted('2.0.0'));
        // d2 never held 1.0.0: it would refuse the bundle, so the deploy is refused for both.
        await assert.rejects(h.parts.deployments.deploy({ model: 'audio-energy', version: '1.0.0', target: { all: true }, reason: 'r' }, 'op'), untrusted('1.0.0'));
        assert.equal(h.store.deployments.list().deployments.length, before, 'no deployment stored');
        assert.equal(h.store.desired.latest('d2'), undefined, 'no document for d2');
        // d1 holds 1.0.0: its agent switches to it without verifying it again (docs/operations.md "Keys").
        await h.parts.deployments.deploy({ model: 'audio-energy', version: '1.0.0', target: { devices: ['d1'] }, reason: 'back to what d1 holds' }, 'op');
        assert.equal(h.store.deployments.list().deployments.length, before + 1);
      } finally {
        await h.close();
      }
    });

    it('POST /deployments answers 422 VERSION_NOT_TRUSTED with the signers and accepted keys in details; GET /models says trusted: false', async () => {
      const h = await startHub();
      try {
        addDevice(h, 'd1');
        assert.deepEqual(await trustedOf(h), { '1.0.0': true, '2.0.0': true, '3.0.0': true });
        rotate(h);
        assert.deepEqual(await trustedOf(h), { '1.0.0': false, '2.0.0': false, '3.0.0': false });
        const res = await rest(h)('POST', '/deployments', { model: 'audio-energy', version: '3.0.0', target: { all: true }, reason: 'r' });
        const body = (await res.json()) as { error: { code: string; message: string; details: { signedBy: string[]; accepted: string[]; trustVersion: number } } };
        assert.equal(res.status, 422);
        assert.equal(body.error.code, 'VERSION_NOT_TRUSTED');
        const { keys } = fixture();
        assert.deepEqual([body.error.details.signedBy, body.error.details.accepted, body.error.details.trustVersion], [[keys.release.keyId], [keys.untrusted.keyId], 2]);
        assert.deepEqual(h.store.deployments.list().deployments, []);
        assert.equal(h.store.audit.query({}).filter((a) => a.action === 'deployment.create').length, 0);
        // A stored bundle that is gone cannot be checked: the deploy says which file, the listing leaves `trusted` out.
        const blob = h.store.blobs.pathOf(h.store.models.get('audio-energy', '3.0.0').bundle.sha256);
        rmSync(blob);
        await assert.rejects(h.parts.deployments.deploy({ model: 'audio-energy', version: '3.0.0', target: { all: true }, reason: 'r' }, 'op'),
          (err: AppError) => err.code === 'NOT_FOUND' && err.message.startsWith(`cannot open bundle ${blob}: ENOENT`));
        assert.deepEqual(await trustedOf(h), { '1.0.0': false, '2.0.0': false, '3.0.0': undefined });
      } finally {
        await h.close();
      }
    });

    it('a device added or re-tagged after the rotation does not join a tag deployment of a version it would refuse', async () => {
      const h = await startHub();
      try {
        addDevice(h, 'd0', { ring: 'b' });
        const { root, keys } = fixture();
        const both = await buildMultiBundle({ dir: join(root, 'both-join'), keys, version: '4.0.0', signWith: [keys.release, keys.untrusted] });
        await h.push(both.path);
        await h.parts.deployments.deploy({ model: 'audio-energy', version: '4.0.0', target: { all: true }, reason: 'everyone' }, 'op');
        const ringA = await h.parts.deployments.deploy({ model: 'audio-energy', version: '2.0.0', target: { tags: { ring: 'a' } }, reason: 'ring a' }, 'op');
        rotate(h);
        const admin = rest(h, 'admin');
        const added = await admin('POST', '/devices', { deviceId: 'n1', tags: { ring: 'a' } });
        assert.equal(added.status, 201, await added.clone().text());
        const retagged = await admin('PUT', '/devices/d0/tags', { tags: { ring: 'a' } });
        assert.equal(retagged.status, 200, await retagged.clone().text());
        for (const id of ['n1', 'd0']) {
          assert.deepEqual(h.store.desired.latest(id)?.signed.models.map((m) => m.version), ['4.0.0'], `${id} runs the trusted all-deployment's version`);
        }
        assert.deepEqual(h.store.deployments.get(ringA.id).devices.map((d) => d.deviceId), [], 'nobody joined ring a\'s untrusted 2.0.0');
        // Signed again by the current key (here: the trust rotated back), the deployment takes them in on the next change.
        h.trust = makeTrust(join(root, 'back'), keys, { version: 3 }).body;
        await h.parts.deployments.onDeviceChanged('n1');
        assert.deepEqual(h.store.desired.latest('n1')?.signed.models.map((m) => m.version), ['2.0.0']);
      } finally {
        await h.close();
      }
    });

    it('a version signed by both the old and the current release key is still deployed', async () => {
      const h = await startHub();
      try {
        addDevice(h, 'd1');
        const { root, keys } = fixture();
        // Pushed under trust version 1 (the second signature is by a key it does not list, and is ignored).
        const both = await buildMultiBundle({ dir: join(root, 'both'), keys, version: '4.0.0', signWith: [keys.release, keys.untrusted] });
        await h.push(both.path);
        rotate(h);
        assert.equal((await trustedOf(h))['4.0.0'], true);
        const d = await h.parts.deployments.deploy({ model: 'audio-energy', version: '4.0.0', target: { all: true }, reason: 'signed by the new key too' }, 'op');
        assert.equal(d.version, '4.0.0');
        assert.equal(h.store.desired.latest('d1')?.signed.models[0]?.version, '4.0.0');
      } finally {
        await h.close();
      }
    });
  });
});
