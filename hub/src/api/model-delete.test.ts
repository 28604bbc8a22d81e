// Deleting a model version (store/model-delete.ts, docs/hub.md "REST API"): a version pushed by
// mistake goes (row, bundle file, audit entry) and its number can be pushed again with other content;
// a version anything refers to is refused with 409 naming the reference, and nothing is deleted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMultiBundle, buildMultiInputModel, bundleFromOnnx, makeKeys, makeTrust, type Keys } from '@edgefleet/examples';
import { type TrustBody } from '@edgefleet/shared';
import { bundleVerifier } from '../registry.js';
import { makeHarness, type Harness } from '../testing/harness.js';
import { forEachBackend, type Backend } from '../testing/backends.js';

let dir: string;
let keys: Keys;
let trust: TrustBody;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ef-mdel-'));
  keys = makeKeys(join(dir, 'keys'));
  trust = makeTrust(dir, keys).body;
});
after(() => rmSync(dir, { recursive: true, force: true }));

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

function harness(): Harness {
  return makeHarness({
    database: backend.database(),
    keys,
    verifyBundle: bundleVerifier(() => trust),
  });
}

const push = (h: Harness, file: string) =>
  h.req('POST', '/api/v1/models', { role: 'operator', body: new Uint8Array(readFileSync(file)), headers: { 'content-type': 'application/octet-stream' } });
const del = (h: Harness, version: string, reason: string | null, role: 'operator' | 'admin' = 'admin') =>
  h.req('DELETE', `/api/v1/models/audio-energy/versions/${version}${reason === null ? '' : `?reason=${encodeURIComponent(reason)}`}`, { role });
const errorOf = async (r: Response) => ((await r.json()) as { error: { code: string; message: string } }).error;

function suite(): void {
  test('a version pushed by mistake is deleted with its bundle file and audited; its number can be pushed again', async () => {
    const h = harness();
    try {
      const b = await buildMultiBundle({ dir: join(dir, `ok-${backend.name}`), keys, version: '1.0.0' });
      const pushed = (await (await push(h, b.path)).json()) as { bundle: { sha256: string } };
      const file = join(h.dir, 'blobs', 'sha256', pushed.bundle.sha256.slice(0, 2), pushed.bundle.sha256);
      assert.ok(existsSync(file));
      // A viewer asked for its metrics: its rollup series exists (no rollups).
      assert.ok(h.store.rollups.seriesFor('audio-energy', '1.0.0'));

      const op = await del(h, '1.0.0', 'wrong file', 'operator');
      assert.equal(op.status, 403, 'deleting is for admins');
      const noReason = await del(h, '1.0.0', null);
      assert.equal(noReason.status, 400);
      assert.match((await errorOf(noReason)).message, /reason/);
      assert.equal((await del(h, '9.9.9', 'x')).status, 404);

      const r = await del(h, '1.0.0', 'pushed the wrong file');
      assert.equal(r.status, 200, await r.clone().text());
      assert.deepEqual(await r.json(), { name: 'audio-energy', version: '1.0.0', bundleDeleted: true });
      assert.equal(existsSync(file), false, 'the bundle file is gone');
      assert.equal((await h.req('GET', '/api/v1/models/audio-energy/versions/1.0.0', { role: 'viewer' })).status, 404);
      assert.equal(h.store.rollups.seriesFor('audio-energy', '1.0.0'), null, 'no series left for it');
      const entry = h.store.audit.query({ action: 'model.delete' })[0];
      assert.equal(entry?.target, 'audio-energy@1.0.0');
      assert.equal(entry?.reason, 'pushed the wrong file');
      assert.equal(entry?.actor, 'admin-token');

      // The same number with other content: refused (409) before, accepted now.
      const m = buildMultiInputModel();
      const other = await bundleFromOnnx({ dir: join(dir, `other-${backend.name}`), onnx: m.onnx, io: m.io, name: 'audio-energy', version: '1.0.0', description: 'the right one', keys });
      assert.equal((await push(h, other.path)).status, 201);
      assert.equal(h.store.models.get('audio-energy', '1.0.0').manifest.description, 'the right one');
    } finally {
      h.close();
    }
  });

  test('a version anything refers to is refused with what refers to it, and nothing is deleted', async () => {
    const h = harness();
    try {
      const b = await buildMultiBundle({ dir: join(dir, `used-${backend.name}`), keys, version: '2.0.0' });
      const pushed = (await (await push(h, b.path)).json()) as { bundle: { sha256: string } };
      const file = join(h.dir, 'blobs', 'sha256', pushed.bundle.sha256.slice(0, 2), pushed.bundle.sha256);
      const at = h.clock.now().toISOString();
      const db = h.store.db;
      db.prepare("INSERT INTO devices (id, secret_hash, created_at) VALUES ('box-1', 'x', ?)").run(at);
      const cases: Array<[string, () => void, () => void, RegExp]> = [
        ['deployment',
          () => db.prepare("INSERT INTO deployments (model, version, target, reason, created_by, created_at) VALUES ('audio-energy', '2.0.0', '{}', 'r', 't', ?)").run(at),
          () => db.prepare('DELETE FROM deployments').run(),
          /deployment #\d+ assigns it/],
        ['device report',
          () => db.prepare("INSERT INTO device_versions_seen (device_id, name, version) VALUES ('box-1', 'audio-energy', '2.0.0')").run(),
          () => db.prepare('DELETE FROM device_versions_seen').run(),
          /device box-1 reported having it/],
        ['alert rule',
          () => db.prepare("INSERT INTO alert_rules (name, rule, created_at, created_by) VALUES ('errors', ?, ?, 't')").run(JSON.stringify({ model: 'audio-energy', version: '2.0.0' }), at),
          () => db.prepare('DELETE FROM alert_rules').run(),
          /alert rule "errors" watches it/],
      ];
      for (const [what, add, remove, message] of cases) {
        add();
        const r = await del(h, '2.0.0', 'cleanup');
        assert.equal(r.status, 409, what);
        const e = await errorOf(r);
        assert.equal(e.code, 'CONFLICT', what);
        assert.match(e.message, message, what);
        assert.match(e.message, /deprecate it instead/, what);
        assert.ok(existsSync(file), `${what}: the bundle stays`);
        assert.ok(h.store.models.find('audio-energy', '2.0.0'), `${what}: the version stays`);
        remove();
      }
      assert.equal(h.store.audit.query({ action: 'model.delete' }).length, 0, 'refusals leave no delete in the audit log');
      assert.equal((await del(h, '2.0.0', 'nothing refers to it now')).status, 200);
    } finally {
      h.close();
    }
  });
}
