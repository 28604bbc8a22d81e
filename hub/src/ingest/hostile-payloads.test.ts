// Hostile payloads on every topic a device may publish (docs/mqtt.md "Topics", docs/hub.md "What the hub
// accepts from devices"), through the embedded aedes broker on 127.0.0.1:0 into the hub's parts
// (hub/src/testing/hostile-payloads.ts). Each case is published by the device `rogue` on a fresh connection: a
// bad message is refused with a reason that names what was wrong (an invalid message counted and logged,
// an implausible report, or a window or event failing the schema in an otherwise valid batch, acked and counted by its reason, a capture chunk or block request answered with
// a refusal, a publish outside the ACL closing the connection), nothing of it is stored, no handler
// throws and nothing rejects unhandled, and after each case another device's window is still acked and
// stored. The hub's clock moves a minute per case so that every drop is logged (once a minute a device).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@edgefleet/examples';
import { newCaptureKeyFile, sealRows } from '@edgefleet/shared';
import type { RefusalReason } from './plausibility.js';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { MAX_PAYLOAD, honestRoundTrip, honestWindow, startHostileHub, type HostileDevice, type HostileHub } from '../testing/hostile-payloads.js';

type Kind = 'telemetry' | 'events' | 'state' | 'presence' | 'blob/get' | 'capture';
type Expect =
  | { invalid: RegExp } // dropped: counted for (rogue, kind) and logged with a reason matching
  | { refused: RefusalReason; seq: number; as: 'windows' | 'events' } // acked, counted by its reason, stored nowhere
  | { stored: (hub: HostileHub) => unknown; seq?: number | number[] } // a valid message: acked (seq) or stored (stored() truthy), as checked here
  | { closed: RegExp } // the broker closed the connection (MQTT 3.1.1 refuses so), the refusal logged
  | { answer: RegExp; on: 'capture/ack' | 'blob/data' }; // refused in the hub's answer to the device
/** `device`: who publishes (default rogue; `keeper` for messages that are stored). */
interface Case { name: string; kind: Kind; payload: string | Buffer; expect: Expect; topic?: string; retain?: boolean; device?: string }

const ROGUE = 'rogue';
const DEEP = '['.repeat(100_000) + ']'.repeat(100_000);
const NOW = '2026-03-01T12:00:00.000Z';
const batch = (windows: unknown[], over: object = {}) => JSON.stringify({ schema: 'edgefleet.telemetry/v1', deviceId: ROGUE, windows, ...over });
const event = (seq: number, over: object = {}) => ({ seq, at: NOW, kind: 'error', code: 'X', message: 'hostile', ...over });
const events = (evs: unknown[], over: object = {}) => JSON.stringify({ schema: 'edgefleet.events/v1', deviceId: ROGUE, events: evs, ...over });
const state = (over: object = {}) => JSON.stringify({ schema: 'edgefleet.state/v1', deviceId: ROGUE, at: NOW, agentVersion: '0.1.0', lastAppliedSeq: 0, trustVersion: 1, models: [], capabilities: [], ...over });
const presence = (over: object = {}) => JSON.stringify({ schema: 'edgefleet.presence/v1', online: true, at: NOW, ...over });
const blobGet = (over: object = {}) => JSON.stringify({ schema: 'edgefleet.blob-get/v1', sha256: 'a'.repeat(64), offset: 0, blockSize: 65536, count: 1, ...over });
const KEY = newCaptureKeyFile();
const SEALED = await sealRows(Buffer.from('{"row":1}\n'), KEY.public);
const OTHER_KEY_SEALED = await sealRows(Buffer.from('{"row":1}\n'), newCaptureKeyFile().public);
const chunk = (over: object = {}) => JSON.stringify({ schema: 'edgefleet.capture-chunk/v1', deviceId: ROGUE, captureId: 1, seq: 1, rows: 1, sealed: SEALED, ...over });

/** What every topic must refuse, whatever it carries. */
function generic(kind: Kind, valid: (over: object) => string): Case[] {
  const c = (name: string, payload: string | Buffer, expect: Expect): Case => ({ name: `${kind}: ${name}`, kind, payload, expect });
  return [
    c('an empty payload', '', { invalid: /not JSON/ }),
    c('bytes that are not JSON', 'hostile{', { invalid: /not JSON/ }),
    c('invalid UTF-8', Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x7b]), { invalid: /not JSON/ }),
    c('a JSON array at the top', '[]', { invalid: /expected object/ }),
    c('a JSON string at the top', '"hostile"', { invalid: /expected object/ }),
    c('JSON null', 'null', { invalid: /expected object/ }),
    // A state report of 200,000 bytes is over ingest.maxStateBytes before its depth is looked at (docs/mqtt.md "State reports").
    c('100,000 levels of [', DEEP, { invalid: kind === 'telemetry' ? /\(root\): .*expected object/ : kind === 'state' ? /^state report of 200000 bytes: expected at most 65536 \(ingest\.maxStateBytes\)$/ : /nests deeper than 64 levels/ }),
    ...(kind === 'state' ? [c('10,000 levels of [ (within maxStateBytes)', '['.repeat(10_000) + ']'.repeat(10_000), { invalid: /nests deeper than 64 levels/ })] : []),
    c('an unknown schema tag', valid({ schema: 'edgefleet.other/v9' }), { invalid: /unsupported schema "edgefleet.other\/v9"/ }),
    c('a payload one byte over the limit', Buffer.alloc(MAX_PAYLOAD + 1, 0x20), { closed: /exceeds the limit of 262144 bytes/ }),
    ...(kind === 'presence' || kind === 'blob/get' ? [] : [c('another device\'s id', valid({ deviceId: 'victim' }), { invalid: /deviceId "victim" does not match the topic's device "rogue"/ })]),
  ];
}

/** For `stored` checks that assert: true once `check` passed. */
/** The refusal of an item failing the schema was logged naming where in the batch and what was wrong. */
const problemLogged = (hub: HostileHub, problem: RegExp) => hub.logger.lines.some((l) => problem.test((l.obj as { problem?: string }).problem ?? ''));
const holds = (check: () => void): true => {
  check();
  return true;
};

let seq = 1_000;
const nextSeq = () => ++seq;
const w = (over: Record<string, unknown>) => honestWindow(nextSeq(), over);

const CASES: Case[] = [
  // Telemetry windows.
  ...generic('telemetry', (o) => batch([honestWindow(1)], o)),
  { name: 'telemetry: no windows', kind: 'telemetry', payload: batch([]), expect: { invalid: /windows: .*>=1/ } },
  { name: 'telemetry: windows nested 100,000 deep', kind: 'telemetry', payload: batch([]).replace('[]', `[${DEEP}]`), expect: { invalid: /windows\[0\]: .*expected object/ } },
  { name: 'telemetry: a seq as a string', kind: 'telemetry', payload: batch([{ ...w({}), seq: '5' }]), expect: { invalid: /windows\[0\]\.seq: .*expected number/ } },
  { name: 'telemetry: a count of 1e309', kind: 'telemetry', payload: batch([w({})]).replace('"count":10', '"count":1e309'), expect: { refused: 'schema_invalid', seq: seq, as: 'windows' } },
  { name: 'telemetry: a count past 2^53', kind: 'telemetry', payload: batch([w({ count: 2 ** 60 })]), expect: { refused: 'schema_invalid', seq: seq, as: 'windows' } },
  { name: 'telemetry: a negative count', kind: 'telemetry', payload: batch([w({ count: -1 })]), expect: { refused: 'schema_invalid', seq: seq, as: 'windows' } },
  { name: 'telemetry: a seq of -0', kind: 'telemetry', payload: batch([w({})]).replace(/"seq":\d+/, '"seq":-0'), expect: { invalid: /windows\[0\]\.seq/ } },
  { name: 'telemetry: a NUL in the model name', kind: 'telemetry', payload: batch([w({ model: 'audio\u0000energy' })]), expect: { refused: 'schema_invalid', seq: seq, as: 'windows' } },
  { name: 'telemetry: a start of year 9999', kind: 'telemetry', payload: batch([w({ start: '9999-12-31T00:00:00Z' })]), expect: { refused: 'future_start', seq: seq, as: 'windows' } },
  { name: 'telemetry: a model that does not exist: parked, not stored (until the registry holds it, parked.ts)', kind: 'telemetry', payload: batch([w({ model: 'no-such-model' })]), expect: { stored: (hub) => hub.parts.ingest.parked.status(ROGUE)?.versions.some((v) => v.model === 'no-such-model'), seq: seq } },
  { name: 'telemetry: a version that does not exist: parked, not stored (until the registry holds it, parked.ts)', kind: 'telemetry', payload: batch([w({ version: '9.9.9' })]), expect: { stored: (hub) => hub.parts.ingest.parked.status(ROGUE)?.versions.some((v) => v.version === '9.9.9'), seq: seq } },
  { name: 'telemetry: a seq 2^53 - 1', kind: 'telemetry', payload: batch([{ ...w({}), seq: Number.MAX_SAFE_INTEGER }]), expect: { refused: 'seq_jump', seq: Number.MAX_SAFE_INTEGER, as: 'windows' } },
  { name: 'telemetry: errors past the requests', kind: 'telemetry', payload: batch([w({ errors: { X: 11 } })]), expect: { refused: 'inconsistent_counts', seq: seq, as: 'windows' } },
  {
    name: 'telemetry: a histogram binning more rows than the window counts', kind: 'telemetry',
    payload: batch([w({ features: [{ kind: 'numeric', name: 'rms', hist: { counts: [5, 5, 5], under: 0, over: 0 }, moments: { n: 10, mean: 1, m2: 0, min: 1, max: 1 }, nulls: 0, nans: 0 }] })]),
    expect: { refused: 'inconsistent_counts', seq: seq, as: 'windows' },
  },
  { name: 'telemetry: a feature listed twice', kind: 'telemetry', payload: batch([w({ features: [{ kind: 'categorical', name: 'm', cat: { counts: {}, other: 0 }, nulls: 0 }, { kind: 'categorical', name: 'm', cat: { counts: {}, other: 0 }, nulls: 0 }] })]), expect: { refused: 'inconsistent_counts', seq: seq, as: 'windows' } },
  // Events.
  ...generic('events', (o) => events([event(1)], o)),
  { name: 'events: an unknown kind', kind: 'events', payload: events([event(nextSeq(), { kind: 'rm-rf' })]), expect: { refused: 'schema_invalid', seq: seq, as: 'events' } },
  { name: 'events: a time of year 9999', kind: 'events', payload: events([event(nextSeq(), { at: '9999-01-01T00:00:00Z' })]), expect: { refused: 'future_start', seq: seq, as: 'events' } },
  { name: 'events: a version that does not exist: parked, not stored (until the registry holds it, then not acted on: parked.ts)', kind: 'events', payload: events([event(nextSeq(), { kind: 'activated', model: 'audio-energy', version: '6.6.6' })]), expect: { stored: (hub) => hub.parts.ingest.parked.status(ROGUE)?.versions.some((v) => v.version === '6.6.6'), seq: seq } },
  { name: 'events: a message as a number', kind: 'events', payload: events([event(nextSeq(), { message: 5 })]), expect: { refused: 'schema_invalid', seq: seq, as: 'events' } },
  { name: 'events: data nested 100,000 deep', kind: 'events', payload: events([event(nextSeq(), { data: { x: 0 } })]).replace('{"x":0}', `{"x":${DEEP}}`), expect: { invalid: /invalid events message from rogue: nests deeper than 64 levels, expected at most 64/ } },
  {
    name: 'events: NULs in the code and message are stored as U+FFFD (PostgreSQL text holds no NUL)', kind: 'events', device: 'keeper', payload: events([event(7, { code: 'X\u0000Y', message: 'a\u0000b', data: { 'k\u0000': 'v\u0000' } })], { deviceId: 'keeper' }),
    expect: { stored: (hub) => holds(() => assert.deepEqual(hub.h.store.telemetry.events({ deviceId: 'keeper' }).filter((e) => e.seq === 7).map((e) => [e.code, e.message, e.data]), [['X\uFFFDY', 'a\uFFFDb', { 'k\uFFFD': 'v\uFFFD' }]])), seq: 7 },
  },
  {
    name: 'telemetry: NULs in an error code and a feature name are stored as U+FFFD', kind: 'telemetry', device: 'keeper',
    payload: JSON.stringify({ schema: 'edgefleet.telemetry/v1', deviceId: 'keeper', windows: [honestWindow(9, { errors: { 'E\u0000': 1 }, features: [{ kind: 'categorical', name: 'f\u0000', cat: { counts: { 'c\u0000': 1 }, other: 0 }, nulls: 0 }] })] }),
    expect: { stored: (hub) => holds(() => assert.deepEqual(hub.h.store.telemetry.windows({ deviceId: 'keeper' }).filter((x) => x.seq === 9).map((x) => [x.errors, x.features[0]?.name]), [[{ 'E\uFFFD': 1 }, 'f\uFFFD']])), seq: 9 },
  },
  {
    name: 'state: a NUL in a deferred model\'s reason is stored as U+FFFD', kind: 'state', device: 'keeper',
    payload: state({ deviceId: 'keeper', models: [{ name: 'audio-energy', active: '1.0.0', installed: ['1.0.0'], status: 'deferred', target: '1.0.0', reason: { code: 'OUTSIDE_WINDOW', message: 'a\u0000b' } }] }),
    expect: { stored: (hub) => JSON.stringify(hub.h.store.devices.reportedState('keeper')).includes('"message":"a\uFFFDb"') },
  },
  {
    name: 'telemetry: a duplicated key reads back as the last one, which was checked', kind: 'telemetry', device: 'keeper',
    payload: JSON.stringify({ schema: 'edgefleet.telemetry/v1', deviceId: 'keeper', windows: [honestWindow(8)] }).replace('"model":', '"model":"no-such-model","model":'),
    expect: { stored: (hub) => holds(() => assert.deepEqual(hub.h.store.telemetry.windows({ deviceId: 'keeper' }).filter((x) => x.seq === 8).map((x) => x.model), ['audio-energy'])), seq: 8 },
  },
  // One bad item in a batch (mqtt/salvage.ts): the others are stored, every seq acked, the bad one refused.
  {
    name: 'telemetry: a good window batched with a broken one is stored, both acked', kind: 'telemetry', device: 'keeper',
    payload: JSON.stringify({ schema: 'edgefleet.telemetry/v1', deviceId: 'keeper', windows: [honestWindow(20, { count: -1 }), honestWindow(21)] }),
    expect: { stored: (hub) => hub.parts.ingest.guard.refusals('keeper')?.windows['schema_invalid'] === 1 && problemLogged(hub, /^windows\[0\]\.count: /) && hub.h.store.telemetry.windows({ deviceId: 'keeper' }).some((x) => x.seq === 21), seq: [20, 21] },
  },
  {
    name: 'events: an event of a kind a newer agent knows is refused, the others stored', kind: 'events', device: 'keeper',
    payload: events([event(22, { kind: 'warp_drive_engaged' }), event(23)], { deviceId: 'keeper' }),
    expect: { stored: (hub) => hub.parts.ingest.guard.refusals('keeper')?.events['schema_invalid'] === 1 && problemLogged(hub, /^events\[0\]\.kind: /) && hub.h.store.telemetry.events({ deviceId: 'keeper' }).some((e) => e.seq === 23), seq: [22, 23] },
  },
  // State.
  ...generic('state', state),
  { name: 'state: a model status that does not exist', kind: 'state', payload: state({ models: [{ name: 'audio-energy', active: '1.0.0', installed: ['1.0.0'], status: 'pwned' }] }), expect: { invalid: /models\[0\]\.status/ } },
  { name: 'state: a lastAppliedSeq past 2^53', kind: 'state', payload: state({ lastAppliedSeq: 1e300 }), expect: { invalid: /lastAppliedSeq/ } },
  { name: 'state: a time that is no date', kind: 'state', payload: state({ at: 'yesterday' }), expect: { invalid: /at: expected an ISO 8601 date-time/ } },
  // Presence.
  ...generic('presence', presence),
  { name: 'presence: online as a string', kind: 'presence', payload: presence({ online: 'yes' }), expect: { invalid: /online: .*expected boolean/ } },
  { name: 'presence: a clock mark with a NUL', kind: 'presence', payload: presence({ clock: 'a\u0000b' }), expect: { invalid: /clock: expected a clock mark/ } },
  // Block requests.
  ...generic('blob/get', blobGet),
  { name: 'blob/get: a block size of 1 GiB', kind: 'blob/get', payload: blobGet({ blockSize: 2 ** 30 }), expect: { invalid: /blockSize/ } },
  { name: 'blob/get: a negative offset', kind: 'blob/get', payload: blobGet({ offset: -1 }), expect: { invalid: /offset/ } },
  { name: 'blob/get: a sha256 in capitals', kind: 'blob/get', payload: blobGet({ sha256: 'A'.repeat(64) }), expect: { invalid: /sha256: expected a sha256/ } },
  { name: 'blob/get: a blob not assigned to the device', kind: 'blob/get', payload: blobGet(), expect: { answer: /"code":"NOT_FOUND","message":"blob a{64} is not assigned to device rogue"/, on: 'blob/data' } },
  // Capture chunks.
  ...generic('capture', chunk),
  { name: 'capture: a capture that does not exist', kind: 'capture', payload: chunk({ captureId: 999 }), expect: { answer: /"code":"unknown_capture","message":"capture 999 does not exist on this hub"/, on: 'capture/ack' } },
  { name: 'capture: rows past the capture\'s maxRows', kind: 'capture', payload: chunk({ rows: 1001 }), expect: { answer: /"code":"too_many_rows","message":"0 rows stored \+ 1001 exceed the capture's maxRows 1000"/, on: 'capture/ack' } },
  { name: 'capture: a chunk sealed to another key', kind: 'capture', device: 'victim', payload: chunk({ deviceId: 'victim', sealed: OTHER_KEY_SEALED }), expect: { answer: /"code":"key_mismatch","message":"chunk sealed to key [0-9a-f]{12}…, capture 1 uses [0-9a-f]{12}…"/, on: 'capture/ack' } },
  { name: 'capture: a capture id past 2^31', kind: 'capture', payload: chunk({ captureId: 2 ** 40 }), expect: { invalid: /captureId/ } },
  { name: 'capture: a sealed key that is no base64', kind: 'capture', payload: chunk({ sealed: { key: { epk: '%%%' }, enc: {}, data: '' } }), expect: { invalid: /sealed\.key/ } },
  // Outside the ACL: nothing gets through, the connection is closed.
  { name: 'ACL: another device\'s telemetry', kind: 'telemetry', topic: 'ef/v1/d/victim/telemetry', payload: batch([w({})], { deviceId: 'victim' }), expect: { closed: /belongs to device victim, not rogue/ } },
  { name: 'ACL: its own ack topic', kind: 'telemetry', topic: 'ef/v1/d/rogue/ack', payload: '{"schema":"edgefleet.ack/v1","ranges":[]}', expect: { closed: /ack is published by the hub only/ } },
  { name: 'ACL: its own desired topic', kind: 'telemetry', topic: 'ef/v1/d/rogue/desired', payload: '{}', expect: { closed: /desired is published by the hub only/ } },
  { name: 'ACL: the trust topic', kind: 'telemetry', topic: 'ef/v1/trust', payload: '{}', expect: { closed: /a device may publish only to ef\/v1\/d\/rogue\// } },
  { name: 'ACL: a topic of no kind', kind: 'telemetry', topic: 'ef/v1/d/rogue/shell', payload: '{}', expect: { closed: /a device may publish only to/ } },
  { name: 'ACL: retained telemetry', kind: 'telemetry', topic: 'ef/v1/d/rogue/telemetry', retain: true, payload: batch([w({})]), expect: { closed: /only state and presence may be retained/ } },
];

let backend: Backend;
forEachBackend((b) => { backend = b; }, () => {
  describe('hostile payloads from a device: refused with a reason, nothing stored, the hub keeps serving', () => {
    let root: string;
    let hub: HostileHub;
    let honest: HostileDevice;
    let honestSeq = 0;
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => unhandled.push(err);

    before(async () => {
      process.on('unhandledRejection', onUnhandled);
      root = mkdtempSync(join(tmpdir(), 'ef-hostile-'));
      hub = await startHostileHub(root, [ROGUE, 'honest', 'victim', 'keeper'], KEY, backend.database());
      honest = await hub.device('honest');
      await honestRoundTrip(hub, honest, 'honest', ++honestSeq);
    });
    after(async () => {
      process.off('unhandledRejection', onUnhandled);
      await hub.stop();
      rmSync(root, { recursive: true, force: true });
    });

    const invalid = (kind: string) => hub.link.invalidCounts().find((c) => c.deviceId === ROGUE && c.kind === kind)?.count ?? 0;

    for (const c of CASES) {
      it(c.name, async () => {
        hub.h.clock.advance(61_000);
        const rogue = await hub.device(c.device ?? ROGUE);
        const before = { invalid: invalid(c.kind), refusals: structuredClone(hub.parts.ingest.guard.refusals(ROGUE)), logs: hub.logger.lines.length };
        const result = await rogue.publish(c.topic ?? c.kind, c.payload, { retain: c.retain ?? false });
        const logged = () => hub.logger.lines.slice(before.logs);
        const e = c.expect;
        if ('closed' in e) {
          assert.equal(result, 'closed');
          const line = await waitFor('the refusal logged', () => logged().find((l) => l.msg === 'mqtt refused: publish_refused'));
          assert.match((line.obj as { why: string }).why, e.closed);
        } else {
          assert.equal(result, 'acked');
          if ('invalid' in e) {
            await waitFor(`the ${c.kind} message counted as invalid`, () => invalid(c.kind) === before.invalid + 1 || undefined);
            const line = logged().find((l) => l.level === 'warn' && (l.obj as { deviceId?: string }).deviceId === ROGUE);
            assert.ok(line, 'the drop is logged');
            assert.match((line.obj as { reason: string }).reason, e.invalid);
          } else if ('answer' in e) {
            const m = await waitFor(`the hub answering on ${e.on}`, () => rogue.got.find((x) => x.topic.endsWith(`/${e.on}`) && x.payload.includes('"code":')));
            assert.match(m.payload, e.answer);
          } else if ('refused' in e) {
            await waitFor(`the hub acking seq ${e.seq}`, () => rogue.acked().has(e.seq) || undefined);
            const now = hub.parts.ingest.guard.refusals(ROGUE);
            assert.equal(now?.[e.as][e.refused], (before.refusals?.[e.as][e.refused] ?? 0) + 1, JSON.stringify(now));
            assert.deepEqual([now?.last?.seq, now?.last?.reason], [e.seq, e.refused]);
          } else {
            for (const s of [e.seq ?? []].flat()) await waitFor(`the hub acking seq ${s}`, () => rogue.acked().has(s) || undefined, { timeoutMs: 10_000 });
            await waitFor('the message stored as checked', () => e.stored(hub) || undefined, { timeoutMs: 10_000 });
          }
        }
        if (!('stored' in e)) {
          assert.deepEqual(hub.h.store.telemetry.countFor(ROGUE), { windows: 0, events: 0 }, 'nothing of the rogue device stored');
          assert.equal(hub.h.store.devices.reportedState(ROGUE), null, 'no reported state stored');
          assert.deepEqual(hub.captures.repo.devices(hub.captureId).filter((d) => d.chunks > 0), [], 'no capture chunk stored');
        }
        // The hub still serves another device, and nothing failed inside it.
        await honestRoundTrip(hub, honest, 'honest', ++honestSeq);
        assert.equal(hub.counter('edgefleet_mqtt_handler_errors_total', { kind: c.kind }), 0, JSON.stringify(logged().filter((l) => l.level === 'error')));
        assert.deepEqual(unhandled, []);
        await rogue.c.endAsync(true);
      });
    }
  });
});
