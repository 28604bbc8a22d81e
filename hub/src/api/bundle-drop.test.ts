// Dropping an old version's bundle while its history stays (store/bundle-drop.ts, docs/hub.md "Dropping
// old bundles"): refused while a device runs it, is told to run it or may roll back to it, or a rollout or
// shadow holds it (BUNDLE_IN_USE naming them); once dropped, the blob file goes, the version row and its
// history stay, listings say so, deploys and downloads get BUNDLE_DROPPED; the same bundle pushed again
// makes it whole. Real hub, real bundles, real files, on SQLite and PostgreSQL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMultiBundle, makeKeys, makeTrust, type Keys } from '@edgefleet/examples';
import { type ModelVersionDetail, type ModelVersionInfo, type TrustBody } from '@edgefleet/shared';
import { bundleVerifier } from '../registry.js';
import { makeHarness, ManualClock, type Harness } from '../testing/harness.js';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { makeParts } from '../testing/parts.js';
import { backupHub } from '../server/backup.js';
import { RecordingLogger } from '../mqtt/testing/devices.js';
import type { FleetLink } from '../mqtt/ports.js';

let dir: string;
let keys: Keys;
let trust: TrustBody;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ef-bdrop-'));
  keys = makeKeys(join(dir, 'keys'));
  trust = makeTrust(dir, keys).body;
});
after(() => rmSync(dir, { recursive: true, force: true }));

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

const ok = () => Promise.resolve();
/** Deployments' desired documents go nowhere: this file is about the registry, not their delivery. */
const link = {
  start: ok, stop: ok, publish: ok, publishTrust: ok, disconnect: ok,
  on: () => () => undefined, onConnect: () => () => undefined, onDisconnect: () => () => undefined,
  connectedCount: () => 0, invalidCounts: () => [], address: () => ({ mqtt: 'mqtt://127.0.0.1:1' }),
} as unknown as FleetLink;

const push = (h: Harness, file: string) =>
  h.req('POST', '/api/v1/models', { role: 'operator', body: new Uint8Array(readFileSync(file)), headers: { 'content-type': 'application/octet-stream' } });
const drop = (h: Harness, version: string, reason: string | null = 'disk space', role: 'operator' | 'admin' = 'admin') =>
  h.req('DELETE', `/api/v1/models/audio-energy/versions/${version}/bundle${reason === null ? '' : `?reason=${encodeURIComponent(reason)}`}`, { role });
const deploy = (h: Harness, version: string) =>
  h.req('POST', '/api/v1/deployments', { role: 'operator', json: { model: 'audio-energy', version, target: { devices: ['box-1'] }, reason: 'test' } });
const errorOf = async (r: Response) => ((await r.json()) as { error: { code: string; message: string } }).error;

async function refused(r: Response, code: string, message: RegExp, what: string): Promise<void> {
  assert.equal(r.status, 409, what);
  const e = await errorOf(r);
  assert.equal(e.code, code, what);
  assert.match(e.message, message, what);
}

function suite(): void {
  test('a version that is assigned, a rollback target, reported, in shadow or in a rollout keeps its bundle; then it drops, history kept, and a repush restores it', async () => {
    const h = makeHarness({
      database: backend.database(), keys, fleet: link, verifyBundle: bundleVerifier(() => trust),
      parts: (store) => makeParts({ store, link, hubKey: keys.hub, clock: new ManualClock(), logger: new RecordingLogger(), trust: () => trust }),
    });
    try {
      const files: Record<string, string> = {};
      const shas: Record<string, string> = {};
      for (const v of ['1.0.0', '2.0.0', '3.0.0']) {
        const b = await buildMultiBundle({ dir: join(dir, `${backend.name}-${v}`), keys, version: v });
        files[v] = b.path;
        const r = await push(h, b.path);
        assert.equal(r.status, 201);
        shas[v] = ((await r.json()) as ModelVersionInfo).bundle.sha256;
      }
      const blob = (v: string) => join(h.dir, 'blobs', 'sha256', (shas[v] as string).slice(0, 2), shas[v] as string);
      assert.equal((await h.req('POST', '/api/v1/devices', { json: { deviceId: 'box-1', tags: {} } })).status, 201);

      assert.equal((await drop(h, '1.0.0', 'x', 'operator')).status, 403, 'dropping is for admins');
      assert.equal((await drop(h, '1.0.0', null)).status, 400, 'a reason is required');
      assert.equal((await drop(h, '9.9.9')).status, 404);

      assert.equal((await deploy(h, '1.0.0')).status, 201);
      await refused(await drop(h, '1.0.0'), 'BUNDLE_IN_USE', /deployments #1 \(device box-1\) assign it, or keep it as the version to roll back to/, 'assigned');
      assert.equal((await deploy(h, '2.0.0')).status, 201);
      await refused(await drop(h, '1.0.0'), 'BUNDLE_IN_USE', /device box-1/, 'the rollback target of box-1');
      await refused(await drop(h, '2.0.0'), 'BUNDLE_IN_USE', /device box-1/, 'assigned');
      assert.equal((await deploy(h, '3.0.0')).status, 201);

      // 1.0.0 is now neither box-1's assignment nor its rollback target (2.0.0 is): only what holds it refuses it.
      const db = h.store.db;
      const at = h.clock.now().toISOString();
      const holders: Array<[string, () => void, () => void, RegExp]> = [
        ['a device reports it installed',
          () => db.prepare("INSERT INTO device_models (device_id, name, version, status) VALUES ('box-1', 'audio-energy', '1.0.0', 'active')").run(),
          () => db.prepare('DELETE FROM device_models').run(), /devices box-1 report having it/],
        ['a shadow runs it',
          () => db.prepare("INSERT INTO device_shadows (device_id, model, version, sample_rate, tolerance, rollout_id) VALUES ('box-1', 'audio-energy', '1.0.0', 1, 0, 'ro-1')").run(),
          () => db.prepare('DELETE FROM device_shadows').run(), /devices box-1 run it in shadow/],
        ['a running rollout moves devices from it',
          () => db.prepare(`INSERT INTO rollouts (id, model, version, from_version, target, waves, gates, advance, on_failure, state, current_wave, progress, reason, created_by, created_at, updated_at)
                            VALUES ('ro-7', 'audio-energy', '3.0.0', '1.0.0', '{}', '[]', '[]', '{}', '{}', 'paused', 0, '{}', 'r', 't', ?, ?)`).run(at, at),
          () => db.prepare('DELETE FROM rollouts').run(), /rollouts ro-7 move devices to or from it/],
      ];
      for (const [what, add, remove, message] of holders) {
        add();
        await refused(await drop(h, '1.0.0'), 'BUNDLE_IN_USE', message, what);
        assert.ok(existsSync(blob('1.0.0')), `${what}: the file stays`);
        remove();
      }
      assert.equal(h.store.audit.query({ action: 'model.bundle_drop' }).length, 0, 'refusals are not audited as drops');
      // Ever reported (what `model delete` refuses) is history, not a holder.
      db.prepare("INSERT INTO device_versions_seen (device_id, name, version) VALUES ('box-1', 'audio-energy', '1.0.0')").run();

      const r = await drop(h, '1.0.0', 'older than a year');
      assert.equal(r.status, 200, await r.clone().text());
      const d = (await r.json()) as { freedBytes: number; by: string };
      assert.ok(d.freedBytes > 0);
      assert.equal(d.by, 'admin-token');
      assert.equal(existsSync(blob('1.0.0')), false, 'the bundle file is gone');
      assert.ok(existsSync(blob('2.0.0')), 'other bundles stay');
      const entry = h.store.audit.query({ action: 'model.bundle_drop' })[0];
      assert.equal(entry?.target, 'audio-energy@1.0.0');
      assert.equal(entry?.reason, 'older than a year');

      const shown = (await (await h.req('GET', '/api/v1/models/audio-energy/versions/1.0.0', { role: 'viewer' })).json()) as ModelVersionDetail;
      assert.equal(shown.bundleDropped?.by, 'admin-token', 'the version stays, marked dropped');
      assert.equal(shown.bundle.sha256, shas['1.0.0'], 'its hash stays: a repush is checked against it');
      const listed = (await (await h.req('GET', '/api/v1/models', { role: 'viewer' })).json()) as { versions: ModelVersionInfo[] };
      assert.deepEqual(listed.versions.map((v) => [v.version, v.bundleDropped ? 'dropped' : 'whole']).sort(), [['1.0.0', 'dropped'], ['2.0.0', 'whole'], ['3.0.0', 'whole']]);
      await refused(await h.req('GET', '/api/v1/models/audio-energy/versions/1.0.0/bundle', { role: 'viewer' }), 'BUNDLE_DROPPED', /push the same bundle again/, 'download');
      await refused(await deploy(h, '1.0.0'), 'BUNDLE_DROPPED', /dropped at .* by admin-token/, 'deploy');
      await refused(await drop(h, '1.0.0'), 'BUNDLE_DROPPED', /dropped already/, 'twice');
      if (backend.name === 'sqlite') {
        // A backup copies the bundles there are: the dropped one's row stays without its file.
        const m = await backupHub(h.dir, join(dir, `backup-${backend.name}`));
        assert.deepEqual(m.files.filter((f) => f.path.startsWith('blobs/')).map((f) => f.path.split('/').pop()).sort(), [shas['2.0.0'], shas['3.0.0']].sort());
      }

      // The same bytes again: whole, deployable, downloadable.
      assert.equal((await push(h, files['1.0.0'] as string)).status, 200);
      assert.ok(existsSync(blob('1.0.0')));
      assert.equal(h.store.models.get('audio-energy', '1.0.0').bundleDropped, null);
      const dl = await h.req('GET', '/api/v1/models/audio-energy/versions/1.0.0/bundle', { role: 'viewer' });
      assert.equal(dl.status, 200);
      assert.deepEqual(new Uint8Array(await dl.arrayBuffer()), new Uint8Array(readFileSync(files['1.0.0'] as string)));
      assert.equal((await deploy(h, '1.0.0')).status, 201);
    } finally {
      h.close();
    }
  });
}
