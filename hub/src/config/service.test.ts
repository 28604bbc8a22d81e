// Remote agent configuration at the hub: documents per scope are versioned, layered per device (fleet,
// tags, device; later wins per setting) into its signed desired document with their hash; a setting that
// is the box's own, or a value the agent's schema refuses, is refused with the field named and nothing
// stored; each write is audited with its reason; a re-tagged device gets its new layering.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { settingsHash, type AuditEntry, type DesiredDocument, type DeviceConfigView, type ReportedState } from '@edgefleet/shared';
import type { FleetLink } from '../mqtt/ports.js';
import { RecordingLogger } from '../mqtt/testing/devices.js';
import { makeParts } from '../testing/parts.js';
import { makeHarness, ManualClock, makeKeys, type Harness } from '../testing/harness.js';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { ConfigService } from './service.js';

/** A FleetLink that records what is published. */
function recordingLink(): FleetLink & { published: Array<{ deviceId: string; doc: DesiredDocument }> } {
  const published: Array<{ deviceId: string; doc: DesiredDocument }> = [];
  const ok = () => Promise.resolve();
  return {
    published,
    start: ok, stop: ok, publishTrust: ok, disconnect: () => Promise.resolve(true),
    publish: (deviceId: string, _kind: string, payload: string | Buffer) => {
      published.push({ deviceId, doc: JSON.parse(String(payload)) as DesiredDocument });
      return Promise.resolve();
    },
    on: () => () => undefined, onConnect: () => () => undefined, onDisconnect: () => () => undefined,
    connectedCount: () => 0, invalidCounts: () => [], address: () => ({ mqtt: 'mqtt://127.0.0.1:1' }),
  } as FleetLink & { published: Array<{ deviceId: string; doc: DesiredDocument }> };
}

/** maxPayloadBytes: the hub's MQTT payload limit, as server/hub.ts gives the config routes its own. */
async function setup(maxPayloadBytes?: number): Promise<{ h: Harness; link: ReturnType<typeof recordingLink> }> {
  const keys = makeKeys();
  const link = recordingLink();
  const h = makeHarness({
    database: backend.database(), keys, fleet: link,
    parts: (store) => {
      const parts = makeParts({ store, link, hubKey: keys.hub, clock: new ManualClock(), logger: new RecordingLogger() });
      return maxPayloadBytes === undefined ? parts : { ...parts, config: new ConfigService(store, { maxPayloadBytes }) };
    },
  });
  for (const [id, tags] of [['cam-1', { site: 'a' }], ['cam-2', { site: 'b' }], ['cam-3', {}]] as const) {
    assert.equal((await h.req('POST', '/api/v1/devices', { json: { deviceId: id, tags } })).status, 201);
  }
  return { h, link };
}

const put = (h: Harness, scope: string, settings: Record<string, unknown>, reason = 'test', role: 'operator' | 'viewer' = 'operator') =>
  h.req('PUT', `/api/v1/config/${scope}`, { role, json: { settings, reason } });
const json = async <T>(r: Response | Promise<Response>): Promise<T> => (await (await r).json()) as T;
const lastDoc = (link: ReturnType<typeof recordingLink>, id: string) => [...link.published].reverse().find((p) => p.deviceId === id)?.doc;

/** The database backend of the suite running now (docs/decisions/0040-postgresql.md). */
let backend: Backend;
// The same suite on each database backend.
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
describe('agent configuration documents', () => {
  it('layers fleet, tag and device per setting, versions each document and signs the result into desired documents', async () => {
    const { h, link } = await setup();
    try {
      const f1 = await json<{ version: number; devices: number }>(put(h, 'fleet', { 'summaries.windowSec': 30, 'sync.outbox.messagesPerSec': 5 }, 'shorter windows'));
      assert.deepEqual([f1.version, f1.devices], [1, 3]);
      const t1 = await json<{ version: number; devices: number }>(put(h, 'tag/site=a', { 'summaries.windowSec': 10 }));
      assert.deepEqual([t1.version, t1.devices], [1, 1]);
      const d1 = await json<{ version: number; devices: number }>(put(h, 'device/cam-1', { 'sync.outbox.messagesPerSec': 2 }));
      assert.deepEqual([d1.version, d1.devices], [1, 1]);
      const f2 = await json<{ version: number }>(put(h, 'fleet', { 'summaries.windowSec': 20, 'sync.outbox.messagesPerSec': 5 }, 'again'));
      assert.equal(f2.version, 2, 'a new version per PUT');

      const v = await json<DeviceConfigView>(h.req('GET', '/api/v1/devices/cam-1/config', { role: 'viewer' }));
      assert.deepEqual(v.settings['summaries.windowSec'], { value: 10, scope: 'tag/site=a', version: 1, apply: 'live' }, 'the tag wins over the fleet');
      assert.deepEqual(v.settings['sync.outbox.messagesPerSec'], { value: 2, scope: 'device/cam-1', version: 1, apply: 'live' }, 'the device wins over all');
      assert.deepEqual(v.sources, [{ scope: 'fleet', version: 2 }, { scope: 'tag/site=a', version: 1 }, { scope: 'device/cam-1', version: 1 }]);
      assert.equal(v.sha256, settingsHash({ 'summaries.windowSec': 10, 'sync.outbox.messagesPerSec': 2 }));
      assert.equal(v.applied, false, 'the device has reported nothing');

      const doc = lastDoc(link, 'cam-1');
      assert.ok(doc?.signed.agentConfig, 'the desired document carries the configuration');
      assert.equal(doc.signed.agentConfig.sha256, v.sha256);
      assert.deepEqual(doc.signed.agentConfig.settings, { 'summaries.windowSec': 10, 'sync.outbox.messagesPerSec': 2 });
      const other = lastDoc(link, 'cam-2')!.signed.agentConfig!;
      assert.deepEqual(other.settings, { 'summaries.windowSec': 20, 'sync.outbox.messagesPerSec': 5 }, 'site=b has the fleet default only');
      assert.ok(doc.signatures.length > 0);

      // Older versions stay readable (for diffs).
      const old = await json<{ version: number; settings: object; reason: string }>(h.req('GET', '/api/v1/config/fleet?version=1', { role: 'viewer' }));
      assert.deepEqual([old.version, old.settings, old.reason], [1, { 'summaries.windowSec': 30, 'sync.outbox.messagesPerSec': 5 }, 'shorter windows']);
      assert.equal((await h.req('GET', '/api/v1/config/fleet?version=9', { role: 'viewer' })).status, 404);
      const never = await json<{ version: number; settings: object }>(h.req('GET', '/api/v1/config/tag/site=zz', { role: 'viewer' }));
      assert.deepEqual([never.version, never.settings], [0, {}]);

      // Each write is audited with its reason, before and after.
      const entries: AuditEntry[] = h.store.audit.query({ action: 'config.set' });
      assert.deepEqual(entries.map((e) => [e.target, e.reason]), [['fleet', 'shorter windows'], ['tag/site=a', 'test'], ['device/cam-1', 'test'], ['fleet', 'again']]);
      assert.deepEqual(entries[3]!.details, { version: 2, before: { 'summaries.windowSec': 30, 'sync.outbox.messagesPerSec': 5 }, after: { 'summaries.windowSec': 20, 'sync.outbox.messagesPerSec': 5 }, devices: 3 });

      // The settings the newest version holds already (in another key order): nothing stored, sent or audited.
      const published = link.published.length;
      const same = await json<{ version: number; devices: number; unchanged: boolean }>(put(h, 'fleet', { 'sync.outbox.messagesPerSec': 5, 'summaries.windowSec': 20 }, 'again, by mistake'));
      assert.deepEqual([same.version, same.devices, same.unchanged], [2, 0, true]);
      assert.equal(link.published.length, published, 'no desired document sent');
      assert.equal(h.store.audit.query({ action: 'config.set' }).length, 4, 'nothing audited');
      assert.equal((await json<{ unchanged: boolean }>(put(h, 'tag/site=zz', {}))).unchanged, true, 'no settings where none are stored');
      assert.equal((await json<{ version: number }>(h.req('GET', '/api/v1/config/tag/site=zz', { role: 'viewer' }))).version, 0);

      // The device reports the configuration in effect: applied.
      const state: ReportedState = {
        schema: 'edgefleet.state/v1', deviceId: 'cam-1', at: '2026-03-01T12:00:00.000Z', agentVersion: '0.1.0', lastAppliedSeq: 1, trustVersion: 1, models: [], capabilities: [],
        config: { sha256: v.sha256, sources: v.sources, status: 'applied', at: '2026-03-01T12:00:00.000Z' },
      };
      h.store.devices.setReported('cam-1', state);
      assert.equal((await json<DeviceConfigView>(h.req('GET', '/api/v1/devices/cam-1/config', { role: 'viewer' }))).applied, true);
      const info = await json<{ reported: { config?: { sha256: string; status: string } } }>(h.req('GET', '/api/v1/devices/cam-1', { role: 'viewer' }));
      assert.deepEqual([info.reported.config?.sha256, info.reported.config?.status], [v.sha256, 'applied'], 'GET /devices/{id} shows it too');
    } finally {
      h.close();
    }
  });

  it('a re-tagged device gets the layering of its new tags in a new desired document', async () => {
    const { h, link } = await setup();
    try {
      await put(h, 'tag/site=b', { 'summaries.windowSec': 15 });
      assert.equal(lastDoc(link, 'cam-3'), undefined, 'cam-3 has no site tag: not reached');
      assert.equal((await h.req('PUT', '/api/v1/devices/cam-3/tags', { json: { tags: { site: 'b' }, reason: 'moved' } })).status, 200);
      assert.deepEqual(lastDoc(link, 'cam-3')?.signed.agentConfig?.settings, { 'summaries.windowSec': 15 });
      // Moved away: no document reaches it any more, and it is told so (empty settings: back to its local config).
      assert.equal((await h.req('PUT', '/api/v1/devices/cam-3/tags', { json: { tags: { site: 'c' }, reason: 'moved again' } })).status, 200);
      const gone = lastDoc(link, 'cam-3')?.signed.agentConfig;
      assert.deepEqual([gone?.settings, gone?.sources, gone?.sha256], [{}, [], settingsHash({})]);
      // The fleet's status: what each device is sent and whether it reports it.
      const st = await json<{ devices: Array<{ deviceId: string; sha256: string | null; sources: unknown[]; applied: boolean }> }>(h.req('GET', '/api/v1/config/devices', { role: 'viewer' }));
      assert.deepEqual(st.devices.map((d) => [d.deviceId, d.sha256, d.sources, d.applied]), [
        ['cam-1', settingsHash({}), [], false],
        ['cam-2', settingsHash({ 'summaries.windowSec': 15 }), [{ scope: 'tag/site=b', version: 1 }], false],
        ['cam-3', settingsHash({}), [], false],
      ]);
    } finally {
      h.close();
    }
  });

  it('refuses the box\'s own settings and bad values by name, stores nothing, and needs an operator and a reason', async () => {
    const { h, link } = await setup();
    try {
      const cases: Array<[Record<string, unknown>, number, string, RegExp]> = [
        [{ dataDir: '/tmp/x' }, 400, 'CONFIG_NOT_REMOTE', /^dataDir: may not be set remotely/],
        [{ 'api.port': 9000 }, 400, 'CONFIG_NOT_REMOTE', /^api\.port: may not be set remotely/],
        [{ 'api.token': 'secret-token' }, 400, 'CONFIG_NOT_REMOTE', /^api\.token: may not be set remotely \(a credential/],
        [{ 'sync.brokerUrl': 'mqtt://evil:1883' }, 400, 'CONFIG_NOT_REMOTE', /^sync\.brokerUrl/],
        [{ api: { port: 1 } }, 400, 'CONFIG_NOT_REMOTE', /^api: may not be set remotely/],
        [{ 'summaries.windowSec': 0 }, 400, 'CONFIG_INVALID', /^summaries\.windowSec: .*got 0/],
        [{ 'summaries.windowSec': 'ten' }, 400, 'CONFIG_INVALID', /^summaries\.windowSec: /],
        [{ 'runtime.backend': 'gpu' }, 400, 'CONFIG_INVALID', /^runtime\.backend: /],
        [{ 'summaries.nope': 1 }, 400, 'CONFIG_INVALID', /^summaries\.nope: not a remote setting/],
        // A misspelt setting names the one likely meant.
        [{ 'concurency.queue': 16 }, 400, 'CONFIG_INVALID', /^concurency\.queue: not a remote setting; did you mean "concurrency\.queue"\? expected one of summaries\.windowSec, /],
        [{ 'runtime.intraOpThreads': 100_000 }, 400, 'CONFIG_INVALID', /^runtime\.intraOpThreads: expected at most 64 threads .*\(got 100000\)$/],
        // The agent's bounds (every box would refuse these): the field, what was expected and the value.
        [{ 'sync.reconnectMs': 2 ** 31 }, 400, 'CONFIG_INVALID', /^sync\.reconnectMs: expected at most 2147483647 ms \(about 24\.8 days, Node's longest timer\) \(got 2147483648\)$/],
        [{ 'sync.outbox.resendAfterMs': 2 ** 31 }, 400, 'CONFIG_INVALID', /^sync\.outbox\.resendAfterMs: expected at most 2147483647 ms/],
        [{ 'api.requestTimeoutMs': 1e10 }, 400, 'CONFIG_INVALID', /^api\.requestTimeoutMs: expected at most 2147483647 ms/],
        [{ 'sync.outbox.messagesPerSec': 0.0001 }, 400, 'CONFIG_INVALID', /^sync\.outbox\.messagesPerSec: expected at least 0\.001 per second .*\(got 0\.0001\)$/],
        [{ 'summaries.windowSec': 86_401 }, 400, 'CONFIG_INVALID', /^summaries\.windowSec: expected at most 86400 s \(a day\) \(got 86401\)$/],
        [{ 'api.stopGraceMs': 4001 }, 400, 'CONFIG_INVALID', /^api\.stopGraceMs: expected at most 4000 ms \(what the agent's stop gives requests in flight/],
      ];
      for (const [settings, status, code, message] of cases) {
        const r = await put(h, 'fleet', settings);
        const body = (await r.json()) as { error: { code: string; message: string } };
        assert.equal(r.status, status, JSON.stringify(settings));
        assert.equal(body.error.code, code, JSON.stringify(settings));
        assert.match(body.error.message, message);
      }
      assert.equal((await put(h, 'fleet', { 'summaries.windowSec': 10 }, 'x', 'viewer')).status, 403);
      assert.equal((await h.req('PUT', '/api/v1/config/fleet', { role: 'operator', json: { settings: {} } })).status, 400, 'a reason is required');
      assert.equal((await put(h, 'device/nobody', { 'summaries.windowSec': 10 })).status, 404);
      // Read as it is written: an unknown device is a 404 naming it, not "nothing set" (version 0).
      const unknown = await h.req('GET', '/api/v1/config/device/nobody', { role: 'viewer' });
      assert.deepEqual([unknown.status, ((await unknown.json()) as { error: { message: string } }).error.message], [404, 'no device "nobody"']);
      assert.equal((await put(h, 'tag/Bad Key=1', { 'summaries.windowSec': 10 })).status, 400);
      const tooMany = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 1]));
      assert.equal((await put(h, 'fleet', tooMany)).status, 400, 'at most 64 settings per document');
      assert.equal((await json<{ version: number }>(h.req('GET', '/api/v1/config/fleet', { role: 'viewer' }))).version, 0, 'nothing stored');
      assert.equal(link.published.length, 0, 'no document issued');
      assert.equal(h.store.audit.query({ action: 'config.set' }).length, 0, 'nothing audited');
    } finally {
      h.close();
    }
  });

  it('refuses sync.outbox.maxMessageBytes above what this hub\'s MQTT accepts per message, naming the field and the limit', async () => {
    const { h, link } = await setup(64 * 1024);
    try {
      const r = await put(h, 'fleet', { 'sync.outbox.maxMessageBytes': 64 * 1024 + 1 });
      const body = (await r.json()) as { error: { code: string; message: string; details?: unknown } };
      assert.equal(r.status, 400);
      assert.equal(body.error.code, 'CONFIG_INVALID');
      assert.match(body.error.message, /^sync\.outbox\.maxMessageBytes: expected at most 65536 bytes \(this hub's maxPayloadBytes, .*\(got 65537\)$/);
      assert.equal((await json<{ version: number }>(h.req('GET', '/api/v1/config/fleet', { role: 'viewer' }))).version, 0, 'nothing stored');
      assert.equal(link.published.length, 0, 'no document issued');
      const ok = await put(h, 'device/cam-1', { 'sync.outbox.maxMessageBytes': 64 * 1024 }, 'the limit itself');
      assert.equal(ok.status, 200);
      // A fleet document without the setting leaves the agents at their default 192 KiB, above this hub's limit.
      const unset = await put(h, 'fleet', { 'summaries.windowSec': 10 });
      assert.equal(unset.status, 400);
      assert.match(((await unset.json()) as { error: { message: string } }).error.message, /^sync\.outbox\.maxMessageBytes: expected in the fleet document, at most 65536 bytes .*default 196608 bytes$/);
      assert.equal((await put(h, 'tag/site=a', { 'summaries.windowSec': 10 })).status, 200, 'a tag document without it changes nothing');
      assert.equal((await put(h, 'fleet', { 'summaries.windowSec': 10, 'sync.outbox.maxMessageBytes': 65536 })).status, 200);
    } finally {
      h.close();
    }
  });
});
}
