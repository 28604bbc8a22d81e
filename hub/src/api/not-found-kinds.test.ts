// Every kind of missing thing the REST API is asked for answers 404 NOT_FOUND with `details` {kind, id} (and
// `ids` when several were asked for), the message as before naming the id: a client picks its help by the kind,
// not by the words (docs/decisions/0181-not-found-names-its-kind.md; the CLI's hints: hub/src/cli/not-found.ts).
// Real parts: a whole hub (SQLite, embedded broker) on 127.0.0.1 port 0, asked over HTTP, and a pushed bundle.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotFoundDetails, NotFoundKind } from '@edgefleet/shared';
import { buildExampleBundle, makeKeys, makeTrust } from '@edgefleet/examples';
import { HubConfig } from '../config.js';
import { Hub } from '../server/hub.js';
import { noopLogger } from '../mqtt/ports.js';
import { systemClock } from '../clock.js';

interface Case { kind: NotFoundKind; method: string; path: string; body?: unknown; id: string | number; ids?: string[]; message: RegExp }

// The model pushed below is vibration-anomaly 1.0.0 (the example bundle); everything else named here does not exist.
const CASES: Case[] = [
  { kind: 'device', method: 'GET', path: '/devices/d-7', id: 'd-7', message: /^no device "d-7"$/ },
  { kind: 'device', method: 'GET', path: '/config/device/d-7', id: 'd-7', message: /^no device "d-7"$/ },
  { kind: 'device', method: 'POST', path: '/deployments', body: { model: 'vibration-anomaly', version: '1.0.0', target: { devices: ['d-7', 'd-8'] }, reason: 'nf' }, id: 'd-7', ids: ['d-7', 'd-8'], message: /^target\.devices: unknown or revoked devices in target: d-7, d-8;/ },
  { kind: 'rollout', method: 'GET', path: '/rollouts/ro-1a2b3c4d5e', id: 'ro-1a2b3c4d5e', message: /^no rollout "ro-1a2b3c4d5e"$/ },
  { kind: 'deployment', method: 'GET', path: '/deployments/999', id: 999, message: /^no deployment 999$/ },
  { kind: 'token', method: 'POST', path: '/tokens/t-1/revoke', body: { reason: 'nf' }, id: 't-1', message: /^no API token "t-1"$/ },
  { kind: 'enrollment_token', method: 'POST', path: '/enrollment-tokens/et-1/revoke', body: { reason: 'nf' }, id: 'et-1', message: /^no enrollment token "et-1"$/ },
  { kind: 'drift_report', method: 'GET', path: '/drift-reports/5', id: 5, message: /^no drift report 5$/ },
  { kind: 'alert_rule', method: 'GET', path: '/alerts?rule=9', id: 9, message: /^no alert rule 9$/ },
  { kind: 'alert', method: 'GET', path: '/alerts/9/deliveries', id: 9, message: /^no alert 9$/ },
  { kind: 'model', method: 'GET', path: '/models/nope', id: 'nope', message: /^no model "nope" in the registry$/ },
  { kind: 'model', method: 'GET', path: '/models/nope/totals', id: 'nope', message: /^no model "nope"$/ },
  { kind: 'model', method: 'GET', path: '/models/nope/drift-settings', id: 'nope', message: /^no model "nope"$/ },
  { kind: 'model', method: 'GET', path: '/drift-reports?model=nope', id: 'nope', message: /^no model nope in the registry/ },
  { kind: 'model_version', method: 'GET', path: '/models/vibration-anomaly/versions/9.9.9', id: 'vibration-anomaly@9.9.9', message: /^no model version vibration-anomaly 9\.9\.9: the registry has vibration-anomaly 1\.0\.0/ },
  { kind: 'model_version', method: 'DELETE', path: '/models/nope/versions/1.0.0?reason=nf', id: 'nope@1.0.0', message: /^no model version nope 1\.0\.0/ },
  { kind: 'capture', method: 'GET', path: '/captures/12', id: 12, message: /^capture 12 not found/ },
  { kind: 'config_version', method: 'GET', path: '/config/fleet?version=5', id: 'fleet@5', message: /^fleet has no configuration version 5$/ },
  { kind: 'route', method: 'GET', path: '/nothing-here', id: 'GET /api/v1/nothing-here', message: /^no route GET \/api\/v1\/nothing-here; see \/api\/v1\/openapi\.json$/ },
];

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('NOT_FOUND names its kind', () => {
  let dir: string;
  let hub: Hub;
  let http: string;
  let token: string;
  let sha256: string;
  const ask = async (method: string, path: string, body?: unknown) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(`${http}/api/v1${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    return { status: r.status, text: await r.text() };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-notfound-'));
    const keys = makeKeys(join(dir, 'keys'));
    const trust = makeTrust(dir, keys);
    hub = new Hub(HubConfig.parse({ dataDir: join(dir, 'hub'), httpPort: 0, mqttPort: 0, trust: trust.path, hubKey: keys.files.hub.keyPath, logLevel: 'silent' }), noopLogger, systemClock);
    http = (await hub.start()).http;
    token = readFileSync(join(dir, 'hub', 'admin.token'), 'utf8').trim();
    const bundle = await buildExampleBundle({ dir, version: '1.0.0', keys });
    const pushed = await fetch(`${http}/api/v1/models`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, body: readFileSync(bundle.path) });
    const text = await pushed.text();
    assert.equal(pushed.status, 201, text);
    sha256 = (JSON.parse(text) as { bundle: { sha256: string } }).bundle.sha256;
  });
  after(async () => {
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 404 NOT_FOUND with details {kind, id} for each kind of missing thing, the message unchanged', async () => {
    for (const c of CASES) {
      const what = `${c.method} ${c.path}`;
      const r = await ask(c.method, c.path, c.body);
      assert.equal(r.status, 404, `${what}: ${r.text}`);
      const e = (JSON.parse(r.text) as { error: { code: string; message: string; details?: unknown } }).error;
      assert.equal(e.code, 'NOT_FOUND', what);
      assert.match(e.message, c.message, what);
      assert.deepEqual(e.details, { kind: c.kind, id: c.id, ...(c.ids ? { ids: c.ids } : {}) }, what);
      assert.ok(NotFoundDetails.safeParse(e.details).success, what);
    }
    // A stored bundle gone from the disk (removed by hand): its download names the blob.
    rmSync(join(dir, 'hub', 'blobs', 'sha256', sha256.slice(0, 2), sha256));
    const gone = await ask('GET', '/models/vibration-anomaly/versions/1.0.0/bundle');
    assert.equal(gone.status, 404, gone.text);
    assert.deepEqual(JSON.parse(gone.text), { error: { code: 'NOT_FOUND', message: `no blob ${sha256}`, details: { kind: 'blob', id: sha256 } } });
    // Every kind is asked for above but a capture's purged chunks, which need a capture key and a device that
    // sent chunks (the route gives the kind as it names the capture: routes-captures.ts).
    const asked = new Set([...CASES.map((c) => c.kind), 'blob']);
    assert.deepEqual(NotFoundKind.options.filter((k) => !asked.has(k)), ['capture_chunks']);
  });

  it('documents details in the OpenAPI error schema, naming every kind', async () => {
    const doc = JSON.parse((await ask('GET', '/openapi.json')).text) as { paths: Record<string, Record<string, { responses: Record<string, { content: Record<string, { schema: { properties: { error: { properties: { details: { description?: string } } } } } }> }> }>> };
    const details = doc.paths['/api/v1/devices/{id}']?.['get']?.responses['4XX']?.content['application/json']?.schema.properties.error.properties.details;
    for (const kind of NotFoundKind.options) assert.ok(details?.description?.includes(kind), `${kind} in ${JSON.stringify(details)}`);
  });
});
