// A write and its audit entry commit together; network side effects run after the commit and their
// failure is reported (an `<action>.incomplete` audit entry, the x-edgefleet-incomplete header, the
// log), never lost: a failing disconnect still returns the rotated secret; a failing MQTT publish of a
// deployment keeps the deployment, its documents and its audit entry. A failing write (or a failing
// audit append) leaves neither.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMultiBundle, makeKeys, makeTrust, type BundleResult, type Keys } from '@edgefleet/examples';
import { type AuditEntry, type TrustBody } from '@edgefleet/shared';
import { bundleVerifier } from '../registry.js';
import type { FleetLink } from '../mqtt/ports.js';
import { RecordingLogger } from '../mqtt/testing/devices.js';
import { makeParts } from '../testing/parts.js';
import { makeHarness, ManualClock, type Harness } from '../testing/harness.js';
import { INCOMPLETE_HEADER } from './http.js';
import { forEachBackend, type Backend } from '../testing/backends.js';

let dir: string;
let keys: Keys;
let trust: TrustBody;
let bundle: BundleResult;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ef-audit-'));
  keys = makeKeys(join(dir, 'keys'));
  trust = makeTrust(dir, keys).body;
  bundle = await buildMultiBundle({ dir: join(dir, 'bundles'), keys, version: '1.0.0' });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const refused = () => Promise.reject(new Error('broker unreachable (test)'));

/** A FleetLink whose every publish and disconnect fails, as when the broker is gone. */
function failingLink(): FleetLink {
  return {
    start: () => Promise.resolve(), stop: () => Promise.resolve(),
    publish: refused, publishTrust: refused, disconnect: refused,
    on: () => () => undefined, onConnect: () => () => undefined, onDisconnect: () => () => undefined,
    connectedCount: () => 0, invalidCounts: () => [], address: () => ({ mqtt: 'mqtt://127.0.0.1:1' }),
  };
}

function setup(): { h: Harness; logger: RecordingLogger } {
  const logger = new RecordingLogger();
  const link = failingLink();
  const h = makeHarness({
    database: backend.database(),
    keys, logger, fleet: link,
    verifyBundle: bundleVerifier(() => trust),
    parts: (store) => makeParts({ store, link, hubKey: keys.hub, clock: new ManualClock(), logger: new RecordingLogger() }),
  });
  return { h, logger };
}

const entries = (h: Harness): AuditEntry[] => h.store.audit.query({});
const actions = (h: Harness) => entries(h).map((e) => `${e.action} ${e.target}`);

/** The database backend of the suite running now (docs/decisions/0040-postgresql.md). */
let backend: Backend;
// The same suite on each database backend.
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
describe('audit entries commit with their write', () => {
  it('rotate-secret with a failing disconnect: the new secret is returned, stored and audited; the failure is reported', async () => {
    const { h, logger } = setup();
    try {
      assert.equal((await h.req('POST', '/api/v1/devices', { json: { deviceId: 'cam-1' } })).status, 201);
      const res = await h.req('POST', '/api/v1/devices/cam-1/rotate-secret', { json: { reason: 'leaked' } });
      assert.equal(res.status, 200);
      const { secret } = (await res.json()) as { secret: string };
      assert.equal(await h.store.devices.authenticate('cam-1', secret), 'ok', 'the secret the caller received is the stored one');
      assert.match(res.headers.get(INCOMPLETE_HEADER) ?? '', /^disconnect: INTERNAL: broker unreachable/);
      assert.deepEqual(actions(h), ['device.add cam-1', 'device.rotate-secret cam-1', 'device.rotate-secret.incomplete cam-1']);
      const note = entries(h)[2]!;
      assert.equal(note.actor, 'admin-token');
      assert.deepEqual(note.details, { step: 'disconnect', code: 'INTERNAL', message: 'broker unreachable (test)' });
      assert.ok(logger.lines.some((l) => l.level === 'error' && /after the write committed/.test(l.msg ?? '')), 'logged');
    } finally {
      h.close();
    }
  });

  it('revoke with a failing disconnect: revoked and audited, disconnected false, the failure recorded', async () => {
    const { h } = setup();
    try {
      await h.req('POST', '/api/v1/devices', { json: { deviceId: 'cam-2' } });
      const res = await h.req('POST', '/api/v1/devices/cam-2/revoke', { json: { reason: 'stolen' } });
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { disconnected: boolean }).disconnected, false);
      assert.equal(h.store.devices.get('cam-2').revoked, true);
      assert.deepEqual(actions(h), ['device.add cam-2', 'device.revoke cam-2', 'device.revoke.incomplete cam-2']);
    } finally {
      h.close();
    }
  });

  it('a deployment whose MQTT publish fails keeps the deployment, its documents and its audit entry, and says so', async () => {
    const { h } = setup();
    try {
      assert.equal((await h.req('POST', '/api/v1/models', { role: 'operator', body: new Uint8Array(readFileSync(bundle.path)), headers: { 'content-type': 'application/octet-stream' } })).status, 201);
      await h.req('POST', '/api/v1/devices', { json: { deviceId: 'cam-3', tags: { site: 'north' } } });
      const res = await h.req('POST', '/api/v1/deployments', { role: 'operator', json: { model: bundle.manifest.name, version: '1.0.0', target: { devices: ['cam-3'] }, reason: 'rollout' } });
      assert.equal(res.status, 201);
      const dep = (await res.json()) as { id: number; devices: Array<{ deviceId: string; status: string }> };
      assert.deepEqual(dep.devices.map((d) => [d.deviceId, d.status]), [['cam-3', 'pending']]);
      assert.match(res.headers.get(INCOMPLETE_HEADER) ?? '', /^publish desired state: INTERNAL: broker unreachable/);
      assert.equal(h.store.desired.latest('cam-3')?.signed.seq, 1, 'the document is stored for a later delivery');
      const target = `${bundle.manifest.name}@1.0.0`;
      assert.deepEqual(actions(h).slice(-2), [`deployment.create ${target}`, `deployment.create.incomplete ${target}`]);
      assert.equal((entries(h).at(-2)?.details as { id: number }).id, dep.id);

      // A tag change that joins a tag deployment: tags and audit entry stored, the failed publish reported.
      await h.req('POST', '/api/v1/deployments', { role: 'operator', json: { model: bundle.manifest.name, version: '1.0.0', target: { tags: { ring: 'beta' } }, reason: 'beta' } });
      const tags = await h.req('PUT', '/api/v1/devices/cam-3/tags', { json: { tags: { ring: 'beta' }, reason: 'join beta' } });
      assert.equal(tags.status, 200);
      assert.deepEqual(h.store.devices.get('cam-3').tags, { ring: 'beta' });
      assert.deepEqual(actions(h).slice(-2), ['device.tags cam-3', 'device.tags.incomplete cam-3']);
    } finally {
      h.close();
    }
  });

  it('a failing write leaves no audit entry, and a failing audit append leaves no write', async () => {
    const { h } = setup();
    try {
      assert.equal((await h.req('POST', '/api/v1/devices/ghost/revoke', { json: { reason: 'x' } })).status, 404);
      assert.equal((await h.req('PUT', '/api/v1/devices/ghost/tags', { json: { tags: {} } })).status, 404);
      await h.req('POST', '/api/v1/devices', { json: { deviceId: 'cam-4', tags: { site: 'a' } } });
      assert.equal((await h.req('POST', '/api/v1/devices', { json: { deviceId: 'cam-4' } })).status, 409);
      assert.deepEqual(actions(h), ['device.add cam-4']);

      // The audit log refuses this one entry: the write it records must not stay either.
      h.store.db.exec("CREATE TRIGGER refuse_tags BEFORE INSERT ON audit WHEN NEW.action = 'device.tags' BEGIN SELECT RAISE(ABORT, 'audit refused (test)'); END");
      const res = await h.req('PUT', '/api/v1/devices/cam-4/tags', { json: { tags: { site: 'b' } } });
      assert.equal(res.status, 500);
      assert.deepEqual(h.store.devices.get('cam-4').tags, { site: 'a' }, 'the tag change rolled back with its audit entry');
      assert.deepEqual(actions(h), ['device.add cam-4']);
    } finally {
      h.close();
    }
  });
});
}
