// Data capture on the hub with a real Store, Registry, deployments part and the REST app: malformed
// requests get field-named errors, a capture rides in the targeted devices' desired documents (and
// leaves them when stopped), chunks are stored once by (capture, device, seq) (another chunk under a
// seq held is acked as taken, with the highest seq and the rows held), and every refusal
// (unknown capture, device outside the cohort, oversized, more rows than asked, the storage bound,
// sealed to another key) is answered with its reason. What the hub stores is ciphertext, and every
// bound (chunk size, storage per device, the bytes shown, a page) counts it as stored: the sealed key
// and nonces with the data. An agent's largest chunk fits the default chunk bound.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleFromOnnx, findBytes, makeKeys, makeTrust, randomMlp } from '@edgefleet/examples';
import {
  AgentConfig, CAPTURE_CHUNK_SCHEMA, CAPTURE_LIMITS, newCaptureKeyFile, openRows, parseCaptureKeyFile, sealRows, sealedRowsBytes,
  type Capture, type CaptureAck, type CaptureChunk, type DesiredDocument, type TrustBody,
} from '@edgefleet/shared';
import { Registry, bundleVerifier } from '../registry.js';
import type { FleetLink } from '../mqtt/ports.js';
import { RecordingLogger } from '../mqtt/testing/devices.js';
import { ManualClock, makeHarness, type Harness } from '../testing/harness.js';
import { makeParts, type Parts } from '../testing/parts.js';
import { CaptureService, DEFAULT_CAPTURE_OPTIONS } from './service.js';
import { forEachBackend, type Backend } from '../testing/backends.js';

/** The database backend of the suite running now (docs/decisions/0040-postgresql.md). */
let backend: Backend;
// The same suite on each database backend.
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
describe('data capture on the hub', () => {
  let dir: string;
  let h: Harness;
  let parts: Parts;
  let captures: CaptureService;
  const clock = new ManualClock();
  const key = newCaptureKeyFile();
  const other = newCaptureKeyFile();
  const published: Array<{ id: string; kind: string; payload: string }> = [];
  const link = { publish: (id: string, kind: string, payload: string) => { published.push({ id, kind, payload }); return Promise.resolve(); }, on: () => () => {} } as unknown as FleetLink;
  const post = (json: unknown, role: 'operator' | 'viewer' = 'operator') => h.req('POST', '/api/v1/captures', { role, json });
  const desired = (id: string) => h.store.desired.latest(id) as DesiredDocument | undefined;
  const chunk = async (c: Partial<CaptureChunk> & { captureId: number }, rows: string[], pub = key.public): Promise<CaptureChunk> => ({
    schema: CAPTURE_CHUNK_SCHEMA, deviceId: 'a', seq: 1, rows: rows.length, ...c,
    sealed: await sealRows(Buffer.from(rows.map((r) => `${r}\n`).join('')), pub),
  });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-hub-capture-'));
    const keys = makeKeys(join(dir, 'keys'));
    const trust: TrustBody = makeTrust(dir, keys).body;
    h = makeHarness({
      database: backend.database(),
      parts: (store) => {
        parts = makeParts({ store, link, hubKey: keys.hub, clock: clock, logger: new RecordingLogger(), desiredCapture: (id) => captures.desiredFor(id) });
        captures = new CaptureService({ store, link, deployments: parts.deployments, clock: clock, logger: new RecordingLogger(), options: { publicKey: key.public, maxBytesPerDevice: 4000, maxChunkBytes: 2000 } });
        return { deployments: parts.deployments, captures };
      },
    });
    const mlp = randomMlp({ inputDim: 3, hidden: [8], outputDim: 2, seed: 4 });
    const features = ['speed', 'temp', 'load'].map((name, index) => ({ name, index, kind: 'numeric' as const }));
    const b = await bundleFromOnnx({ dir: join(dir, 'bundles'), onnx: mlp.onnx, name: 'pump', version: '1.0.0', io: mlp.io, keys, features });
    await new Registry(h.store, bundleVerifier(() => trust), 'off').push(createReadStream(b.path), { maxBytes: 64 << 20, pushedBy: 'test', at: clock.now() });
    for (const [id, ring] of [['a', 'cap'], ['b', 'cap'], ['c', 'other']]) h.store.devices.create(id as string, `secret-of-${id}-0123456789`, { ring: ring as string }, null, clock.now());
  });
  after(() => {
    h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const ok = { model: 'pump', target: { tags: { ring: 'cap' } }, rate: 0.5, maxRows: 3, durationSec: 600, features: ['speed', 'temp'], reason: 'look at the inputs' };

  it('refuses malformed requests naming the field, and viewers', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ ...ok, rate: 2 }, /rate/], [{ ...ok, rate: 0 }, /rate/], [{ ...ok, maxRows: 0 }, /maxRows/], [{ ...ok, maxRows: 1.5 }, /maxRows/],
      [{ ...ok, durationSec: 10 ** 9 }, /durationSec/], [{ ...ok, target: {} }, /target/], [{ ...ok, reason: ' ' }, /reason/],
      [{ ...ok, model: 'Bad Name' }, /model/], [{ ...ok, features: [] }, /features/], [{ ...ok, extra: 1 }, /extra/],
      [{ ...ok, features: ['speed', 'nope'] }, /features: "nope" not in pump's manifest/], [{ ...ok, model: 'absent' }, /absent/],
    ];
    for (const [body, msg] of cases) {
      const res = await post(body);
      const j = (await res.json()) as { error: { message: string } };
      assert.ok(res.status === 400 || res.status === 404, `${JSON.stringify(body)}: HTTP ${res.status}`);
      assert.match(j.error.message, msg, JSON.stringify(body));
    }
    assert.equal((await post(ok, 'viewer')).status, 403);
    assert.equal((await h.req('GET', '/api/v1/captures', { role: 'viewer' })).status, 200);
    // An unknown capture points at what lists them, for the CLI's user and the API's.
    const none = await h.req('GET', '/api/v1/captures/999', { role: 'viewer' });
    assert.equal(none.status, 404);
    assert.match(((await none.json()) as { error: { message: string } }).error.message, /^capture 999 not found \(edgefleet capture ls, or GET \/captures, lists the captures\)$/);
  });

  it('puts the capture in the cohort\'s desired documents only, audited', async () => {
    const res = await post(ok);
    assert.equal(res.status, 201);
    const c = (await res.json()) as Capture;
    assert.deepEqual(c.devices.map((d) => [d.deviceId, d.status]), [['a', 'pending'], ['b', 'pending']]);
    assert.equal(c.keyId, parseCaptureKeyFile(JSON.stringify(key), 'k').keyId);
    assert.deepEqual(desired('a')?.signed.capture?.map((x) => [x.id, x.model, x.rate, x.maxRows, x.features, x.publicKey]), [[c.id, 'pump', 0.5, 3, ['speed', 'temp'], key.public]]);
    assert.equal(desired('c'), undefined, 'device c is not in the cohort');
    const audit = h.store.audit.query({ action: 'capture.create' } as never);
    assert.equal(audit.length, 1);
  });

  it('stores a chunk once, answers resends with the same ack, and counts rows per device', async () => {
    const id = captures.list().captures[0]!.id;
    const m = await chunk({ captureId: id }, ['{"x":1}', '{"x":2}']);
    const ack = captures.accept('a', m);
    assert.deepEqual(ack, { schema: 'edgefleet.capture-ack/v1', captureId: id, ranges: [[1, 1]] });
    assert.deepEqual(captures.accept('a', m), ack, 'a resend is acked again and not stored twice');
    // Another chunk under the same seq (a box numbering again from a restored agent.db): not stored, and
    // the ack says the seq is taken, the highest seq held and the rows held, so the box moves it above and
    // counts its rows from the hub's.
    const clash = await chunk({ captureId: id }, ['{"x":3}']);
    assert.deepEqual(captures.accept('a', clash), { ...ack, taken: [[1, 1]], maxSeq: 1, storedRows: 2 });
    const v = captures.view(id);
    assert.deepEqual(v.devices.find((d) => d.deviceId === 'a')?.rows, 2);
    assert.equal(v.rows, 2);
    const page = captures.repo.chunks(id, 0, 1 << 20);
    assert.equal(page.chunks.length, 1);
    assert.equal(openRows(page.chunks[0]!.sealed, parseCaptureKeyFile(JSON.stringify(key), 'k'), 'chunk').toString(), '{"x":1}\n{"x":2}\n');
    assert.deepEqual(findBytes([h.dir], [Buffer.from('{"x":1}')]).hits, [], 'the hub holds ciphertext only');
  });

  it('refuses with a reason: unknown capture, outside the cohort, sealed to another key, too large, too many rows, storage bound', async () => {
    const id = captures.list().captures[0]!.id;
    const code = (a: CaptureAck) => a.refused?.code;
    assert.equal(code(captures.accept('a', await chunk({ captureId: 999 }, ['{}']))), 'unknown_capture');
    assert.equal(code(captures.accept('c', await chunk({ captureId: id, deviceId: 'c' }, ['{}']))), 'not_in_capture');
    assert.equal(code(captures.accept('b', await chunk({ captureId: id, deviceId: 'b' }, ['{}'], other.public))), 'key_mismatch');
    assert.equal(code(captures.accept('b', await chunk({ captureId: id, deviceId: 'b', seq: 2 }, ['{}']))), 'key_mismatch', 'a refused part stays refused');
    // Device a had 2 rows of maxRows 3.
    assert.equal(code(captures.accept('a', await chunk({ captureId: id, seq: 2 }, ['{}', '{}']))), 'too_many_rows');
    assert.equal(captures.view(id).devices.find((d) => d.deviceId === 'b')?.status, 'refused');
    const c3 = (await (await post({ ...ok, target: { devices: ['b'] } })).json()) as Capture;
    assert.equal(code(captures.accept('b', await chunk({ captureId: c3.id, deviceId: 'b' }, ['x'.repeat(3000)]))), 'too_large');
    // The storage bound (4000 bytes per device over all captures) on a second capture for device a.
    const c2 = (await (await post({ ...ok, target: { devices: ['a'] }, maxRows: 1000 })).json()) as Capture;
    let last: CaptureAck | undefined;
    for (let seq = 1; seq <= 6; seq++) {
      last = captures.accept('a', await chunk({ captureId: c2.id, seq }, ['y'.repeat(600)]));
      if (last.refused) break;
    }
    assert.equal(code(last!), 'storage_quota');
    const held = (h.store.db.prepare('SELECT SUM(octet_length(sealed)) AS n FROM capture_chunks WHERE device_id = ?').get('a') as { n: number }).n;
    assert.ok(Number(held) <= 4000, `${held} bytes stored`);
    assert.match(captures.view(c2.id).devices[0]!.reason ?? '', /maxBytesPerDevice 4000/);
  });

  it('a last chunk ends the device\'s part; a stop takes the capture out of the documents, once, audited', async () => {
    const c = (await (await post({ ...ok, target: { devices: ['c'] } })).json()) as Capture;
    const why = 'maxRows 1 captured; 3 requests of m answered; 1 rows kept, 0 skipped';
    assert.equal(captures.accept('c', await chunk({ captureId: c.id, deviceId: 'c', end: 'done', reason: why }, ['{}'])).refused, undefined);
    assert.deepEqual([captures.view(c.id).devices[0]!.status, captures.view(c.id).devices[0]!.reason], ['done', why], 'the device\'s reason is the part\'s');
    const entries = h.store.audit.query({ target: 'c' } as never).map((e) => e.action);
    assert.deepEqual(entries, ['capture.upload_started', 'capture.upload_ended'], 'a first chunk that is also the last: both audited');
    assert.equal(captures.accept('c', await chunk({ captureId: c.id, deviceId: 'c', seq: 2, end: 'stopped', reason: 'later' }, [])).refused, undefined);
    assert.equal(captures.view(c.id).devices[0]!.reason, why, 'an ended part keeps its reason');
    assert.deepEqual(h.store.audit.query({ target: 'c' } as never).map((e) => e.action), entries, 'an end repeated is not audited again');
    assert.deepEqual(captures.desiredFor('c'), [], 'ended on the device: not in its next document');
    const id = captures.list().captures.at(-1)!.id;
    const stop = await h.req('DELETE', `/api/v1/captures/${id}?reason=enough`, { role: 'operator' });
    assert.equal(stop.status, 200);
    assert.equal(((await stop.json()) as Capture).stopped?.reason, 'enough');
    assert.equal(desired('b')?.signed.capture, undefined, 'stopped: gone from the documents');
    assert.equal((await h.req('DELETE', `/api/v1/captures/${id}?reason=again`, { role: 'operator' })).status, 409);
    assert.equal((await h.req('DELETE', `/api/v1/captures/${id}`, { role: 'operator' })).status, 400, 'a reason is required');
    assert.equal(published.filter((p) => p.kind === 'desired').length >= 3, true);
  });

  it('refuses listed devices that are unknown or revoked with 404, as deployments do, and stores nothing', async () => {
    h.store.devices.create('gone', 'secret-of-gone-0123456789', { ring: 'cap' }, null, clock.now());
    h.store.devices.revoke('gone', clock.now());
    const count = () => (h.store.db.prepare('SELECT COUNT(*) AS n FROM captures').get() as { n: number | string }).n;
    const before = count();
    const audited = () => h.store.audit.query({ action: 'capture.create' } as never).length;
    const entries = audited();
    for (const devices of [['a', 'a-typo'], ['gone']]) {
      const res = await post({ ...ok, target: { devices } });
      const j = (await res.json()) as { error: { code: string; message: string } };
      assert.deepEqual([res.status, j.error.code], [404, 'NOT_FOUND'], JSON.stringify(devices));
      assert.equal(j.error.message, `target.devices: unknown or revoked devices in target: ${devices.at(-1)}; expected enrolled devices not revoked (edgefleet devices ls)`);
      const dep = await h.req('POST', '/api/v1/deployments', { role: 'operator', json: { model: 'pump', version: '1.0.0', target: { devices }, reason: 'same target' } });
      assert.deepEqual([dep.status, ((await dep.json()) as { error: { message: string } }).error.message], [404, j.error.message], 'the same refusal as a deployment');
    }
    assert.equal(captures.list().captures.length, before, 'no capture stored');
    assert.equal(audited(), entries, 'no audit entry for a refusal');
  });

  it('counts a chunk as stored (sealed key and nonces with the data): the chunk bound, the storage bound, the bytes shown, a page', async () => {
    h.store.devices.create('d', 'secret-of-d-0123456789', { ring: 'count' }, null, clock.now());
    const svc = new CaptureService({ store: h.store, link, deployments: parts.deployments, clock, logger: new RecordingLogger(), options: { publicKey: key.public, maxBytesPerDevice: 10_000, maxChunkBytes: 3000 } });
    const { id } = svc.create({ ...ok, target: { devices: ['d'] }, maxRows: 1000 }, 'op', () => {});
    const stored = () => h.store.db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(octet_length(sealed)), 0) AS bytes FROM capture_chunks WHERE device_id = ?').get('d') as { n: number; bytes: number };
    // Past the wire schema (it caps the key and nonces): padding outside `data` still counts.
    const padded = await chunk({ captureId: id, deviceId: 'd', rows: 0 }, []);
    padded.sealed = { ...padded.sealed, key: { ...padded.sealed.key, box: 'A'.repeat(3000) }, data: '' };
    assert.equal(svc.accept('d', padded).refused?.code, 'too_large');
    assert.equal(Number(stored().n), 0);
    svc.repo.setDeviceStatus(id, 'd', 'capturing', null, clock.now());
    // Honest chunks until the storage bound: what is stored is what is counted, and stays within it.
    const size = sealedRowsBytes(601);
    let last: CaptureAck | undefined;
    let seq = 0;
    while (!last?.refused && seq < 20) last = svc.accept('d', await chunk({ captureId: id, deviceId: 'd', seq: ++seq }, ['y'.repeat(600)]));
    assert.equal(last?.refused?.code, 'storage_quota');
    const s = stored();
    assert.equal(Number(s.n), Math.floor(10_000 / size), `${s.n} chunks of ${size} bytes stored`);
    assert.ok(Number(s.bytes) <= 10_000, `${s.bytes} bytes stored`);
    assert.equal(svc.view(id).devices[0]!.bytes, Number(s.bytes), 'the bytes shown are the bytes stored');
    assert.equal(svc.view(id).bytes, Number(s.bytes));
    // Pages of 2.5 chunks' size hold two chunks each; every chunk once, in order.
    const seqs: number[] = [];
    let after = 0;
    for (let pages = 0; pages < 10; pages++) {
      const page = svc.repo.chunks(id, after, 2.5 * size);
      assert.ok(page.chunks.reduce((n, c) => n + Buffer.byteLength(JSON.stringify(c.sealed)), 0) <= 2.5 * size);
      assert.ok(page.chunks.length <= 2, `${page.chunks.length} chunks in a page`);
      seqs.push(...page.chunks.map((c) => c.seq));
      if (page.next === null) break;
      after = page.next;
    }
    assert.deepEqual(seqs, Array.from({ length: Number(s.n) }, (_, i) => i + 1));
    assert.equal(svc.repo.chunks(id, 0, 1).chunks.length, 1, 'at least one chunk a page');
  });

  it('takes the largest chunk an agent makes under the default bounds (capture.chunkBytes, its default and its maximum)', async () => {
    const schema = AgentConfig.shape.capture.unwrap();
    const limits = [schema.parse({}).chunkBytes, schema.shape.chunkBytes.unwrap().maxValue ?? Infinity];
    assert.deepEqual(limits, [64 * 1024, 96 * 1024]);
    h.store.devices.create('e', 'secret-of-e-0123456789', { ring: 'big' }, null, clock.now());
    const svc = new CaptureService({ store: h.store, link, deployments: parts.deployments, clock, logger: new RecordingLogger(), options: { publicKey: key.public } });
    const { id } = svc.create({ ...ok, target: { devices: ['e'] }, maxRows: 1000 }, 'op', () => {});
    for (const [i, chunkBytes] of limits.entries()) {
      assert.ok(sealedRowsBytes(chunkBytes) <= DEFAULT_CAPTURE_OPTIONS.maxChunkBytes, `a chunk of ${chunkBytes} bytes of rows is ${sealedRowsBytes(chunkBytes)} bytes sealed`);
      const rows = Array.from({ length: chunkBytes / 1024 }, () => 'z'.repeat(1023));
      const m = await chunk({ captureId: id, deviceId: 'e', seq: i + 1 }, rows);
      assert.equal(Buffer.byteLength(JSON.stringify(m.sealed)), sealedRowsBytes(chunkBytes));
      assert.deepEqual(svc.accept('e', m), { schema: 'edgefleet.capture-ack/v1', captureId: id, ranges: [[i + 1, i + 1]] });
    }
    const over = await chunk({ captureId: id, deviceId: 'e', seq: 9 }, ['z'.repeat(DEFAULT_CAPTURE_OPTIONS.maxChunkBytes)]);
    assert.equal(svc.accept('e', over).refused?.code, 'too_large', 'the bound still holds');
  });

  it('an earlier chunk stored after the last one (out of order, or on another hub) leaves the part ended', async () => {
    h.store.devices.create('f', 'secret-of-f-0123456789', { ring: 'late' }, null, clock.now());
    const { id } = captures.create({ ...ok, target: { devices: ['f'] }, maxRows: 10 }, 'op', () => {});
    assert.equal(captures.accept('f', await chunk({ captureId: id, deviceId: 'f', seq: 2, end: 'done' }, ['{"x":2}'])).refused, undefined);
    assert.deepEqual(captures.accept('f', await chunk({ captureId: id, deviceId: 'f', seq: 1 }, ['{"x":1}'])), { schema: 'edgefleet.capture-ack/v1', captureId: id, ranges: [[1, 1]] });
    const part = captures.view(id).devices[0]!;
    assert.deepEqual([part.status, part.rows, part.chunks], ['done', 2, 2], 'the part still says how it ended, with both chunks counted');
    assert.deepEqual(captures.desiredFor('f'), [], 'an ended part is not asked for again');
  });

  it('a device takes part in at most CAPTURE_LIMITS.maxActive captures: one more is refused 409 naming it, nothing stored; a stop makes room', async () => {
    h.store.devices.create('d-bound', 'secret-of-d-bound-0123456789', { ring: 'bound' }, null, clock.now());
    const one = () => post({ ...ok, target: { devices: ['d-bound'] } });
    const ids: number[] = [];
    for (let i = 0; i < CAPTURE_LIMITS.maxActive; i++) {
      const res = await one();
      assert.equal(res.status, 201, `capture ${i + 1} of ${CAPTURE_LIMITS.maxActive}`);
      ids.push(((await res.json()) as Capture).id);
    }
    const count = () => (h.store.db.prepare('SELECT COUNT(*) AS n FROM captures').get() as { n: number | string }).n;
    const before = count();
    const refused = await one();
    const body = (await refused.json()) as { error: { code: string; message: string } };
    assert.deepEqual([refused.status, body.error.code], [409, 'CONFLICT']);
    assert.equal(body.error.message, `target: device(s) d-bound already take part in ${CAPTURE_LIMITS.maxActive} captures; stop one first`);
    assert.equal(count(), before, 'nothing stored');
    assert.equal((await h.req('DELETE', `/api/v1/captures/${ids[0]}?reason=room`, { role: 'operator' })).status, 200);
    const again = await one();
    assert.equal(again.status, 201, 'a stopped capture makes room');
    ids.push(((await again.json()) as Capture).id);
    for (const id of ids.slice(1)) assert.equal((await h.req('DELETE', `/api/v1/captures/${id}?reason=done`, { role: 'operator' })).status, 200);
  });

  it('refuses captures when no capture key is configured', async () => {
    const bare = new CaptureService({ store: h.store, link, deployments: parts.deployments, clock: clock, logger: new RecordingLogger() });
    assert.throws(() => bare.create(ok, 'op', () => {}), (e: { code?: string; message: string }) => e.code === 'NOT_READY' && /capture.publicKey/.test(e.message));
  });
});
}
