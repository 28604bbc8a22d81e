import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../errors.js';
import { parseWire, parseWireJson } from './common.js';
import { Manifest } from './manifest.js';
import { TrustDocument } from './trust.js';
import { DesiredDocument, Presence, ReportedState } from './desired.js';
import { Ack, EventBatch, TelemetryBatch } from './telemetry.js';
import { BlobGet, decodeBlobData, encodeBlobData } from './blob.js';

const sha = 'a'.repeat(64);

export function sampleManifest(): Record<string, unknown> {
  return {
    schema: 'edgefleet.manifest/v1',
    name: 'vibration-anomaly',
    version: '1.0.0',
    created: '2026-11-28T12:00:00Z',
    files: [{ path: 'model.onnx', sha256: sha, size: 10 }],
    entrypoint: 'model.onnx',
    runtime: { opset: 17, minAgentVersion: '0.1.0' },
    io: {
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 2] }],
      outputs: [{ name: 'probability', datatype: 'FP32', shape: [-1, 1] }],
    },
    features: [
      { name: 'rms', index: 0, kind: 'numeric', unit: 'mm/s' },
      { name: 'type', index: 1, kind: 'categorical', vocabulary: ['pump', 'fan'] },
    ],
    provenance: { data: [], training: { code: 'examples/src/train.ts' }, metrics: { auc: 0.9 }, reason: 'first' },
  };
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof AppError);
    return `${e.code}: ${e.message}`;
  }
  return 'no error';
}

test('a valid manifest parses, with policy and runtime defaults filled', () => {
  const m = parseWire(Manifest, sampleManifest(), 'manifest');
  assert.equal(m.policy.maxErrorRate, 0.05);
  assert.deepEqual(m.runtime.executionProviders, ['cpu']);
});

test('an unknown schema version is refused as UNSUPPORTED_VERSION naming the expected tag', () => {
  const msg = code(() => parseWire(Manifest, { ...sampleManifest(), schema: 'edgefleet.manifest/v9' }, 'manifest'));
  assert.match(msg, /^UNSUPPORTED_VERSION: invalid manifest: schema: unsupported schema "edgefleet.manifest\/v9": expected "edgefleet.manifest\/v1"/);
});

test('manifest refusals name the field and the expectation', () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ version: 'one' }, /version: expected a semantic version/],
    [{ entrypoint: 'other.onnx' }, /entrypoint: expected entrypoint "other.onnx" to be one of files\[\]\.path/],
    [{ files: [{ path: '../x', sha256: sha, size: 1 }] }, /files\[0\]\.path: expected a relative path inside the bundle/],
    [{ files: [{ path: 'model.onnx', sha256: 'xyz', size: 1 }] }, /files\[0\]\.sha256: expected a sha256/],
    [{ name: 'Bad Name' }, /name: expected a model name/],
  ];
  for (const [patch, re] of cases) {
    assert.match(code(() => parseWire(Manifest, { ...sampleManifest(), ...patch }, 'manifest')), re);
  }
  const m = sampleManifest();
  (m.features as Array<Record<string, unknown>>)[1] = { name: 'type', index: 0, kind: 'categorical' };
  const msg = code(() => parseWire(Manifest, m, 'manifest'));
  assert.match(msg, /column 0 of "features" is named twice/);
  assert.match(msg, /expected a vocabulary/);
});

// Found by the ML probe: a manifest written by hand without runtime.minAgentVersion was refused as
// "Invalid input: expected string, received undefined", which does not say the field is required.
test('a required field left out is named as required and missing, with what it expects', () => {
  const m = sampleManifest();
  m.runtime = { opset: 17 };
  assert.equal(code(() => parseWire(Manifest, m, 'manifest')), 'SCHEMA_INVALID: invalid manifest: runtime.minAgentVersion: required, but missing (expected string)');
  // A value of the wrong type keeps zod's words, which say what it was.
  m.runtime = { opset: 17, minAgentVersion: 1 };
  assert.match(code(() => parseWire(Manifest, m, 'manifest')), /runtime\.minAgentVersion: Invalid input: expected string, received number$/);
});

test('reference counts must match the edges', () => {
  const m = { ...sampleManifest(), reference: { id: sha, rows: 3, features: [{ kind: 'numeric', name: 'rms', edges: [0, 1, 2], counts: [3], moments: { n: 3, mean: 1, m2: 0, min: 1, max: 1 } }] } };
  assert.match(code(() => parseWire(Manifest, m, 'manifest')), /expected 2 counts for 3 edges/);
});

test('trust documents check thresholds against their keys', () => {
  const doc = {
    signed: {
      schema: 'edgefleet.trust/v1', version: 1, expires: '2027-01-01T00:00:00Z',
      keys: { [sha]: { alg: 'ed25519', public: 'AAAA' } },
      roles: { root: { keyIds: [sha], threshold: 2 }, release: { keyIds: [sha], threshold: 1 }, hub: { keyIds: ['b'.repeat(64)], threshold: 1 } },
    },
    signatures: [],
  };
  const msg = code(() => parseWire(TrustDocument, doc, 'trust document'));
  assert.match(msg, /roles\.root\.threshold: threshold 2 exceeds the role's 1 keys/);
  assert.match(msg, /roles\.hub\.keyIds\[0\]: key b{64} has no public key/);
});

test('device messages validate', () => {
  const desired = { signed: { schema: 'edgefleet.desired/v1', deviceId: 'd1', seq: 1, issued: '2026-11-28T00:00:00Z', expires: '2026-12-28T00:00:00Z', models: [{ name: 'm', version: '1.0.0', manifestSha256: sha, bundle: { sha256: sha, size: 5 } }] }, signatures: [] };
  assert.equal(parseWire(DesiredDocument, desired, 'desired').signed.config !== undefined, true);
  assert.match(code(() => parseWire(DesiredDocument, { ...desired, signed: { ...desired.signed, deviceId: 'a/b' } }, 'desired')), /deviceId: expected a device id/);
  parseWire(ReportedState, { schema: 'edgefleet.state/v1', deviceId: 'd1', at: '2026-11-28T00:00:00Z', agentVersion: '0.1.0', lastAppliedSeq: 0, trustVersion: 1, models: [{ name: 'm', active: null, installed: [], status: 'pending' }] }, 'state');
  // Disk space another machine reports is checked before the hub keeps it (docs/agent.md "Disk space").
  const state = { schema: 'edgefleet.state/v1', deviceId: 'd1', at: '2026-11-28T00:00:00Z', agentVersion: '0.1.0', lastAppliedSeq: 0, trustVersion: 1, models: [] };
  assert.deepEqual(parseWire(ReportedState, { ...state, disk: { free: 10, total: 100 } }, 'state').disk, { free: 10, total: 100 });
  assert.match(code(() => parseWire(ReportedState, { ...state, disk: { free: 101, total: 100 } }, 'state')), /disk: free bytes may not exceed total bytes/);
  assert.match(code(() => parseWire(ReportedState, { ...state, disk: { free: -1, total: 100 } }, 'state')), /disk\.free/);
  assert.match(code(() => parseWire(ReportedState, { ...state, disk: { free: 1.5, total: 100 } }, 'state')), /disk\.free/);
  parseWire(Presence, { schema: 'edgefleet.presence/v1', online: true, at: '2026-11-28T00:00:00Z' }, 'presence');
  parseWire(Ack, { schema: 'edgefleet.ack/v1', ranges: [[1, 4], [7, 7]] }, 'ack');
  assert.match(code(() => parseWire(Ack, { schema: 'edgefleet.ack/v1', ranges: [[5, 4]] }, 'ack')), /expected from <= to/);
  assert.match(code(() => parseWire(TelemetryBatch, { schema: 'edgefleet.telemetry/v1', deviceId: 'd1', windows: [] }, 'telemetry')), /windows/);
  assert.match(code(() => parseWire(EventBatch, { schema: 'edgefleet.events/v1', deviceId: 'd1', events: [{ seq: 1, at: 'yesterday', kind: 'error', message: 'x' }] }, 'events')), /events\[0\]\.at: expected an ISO 8601/);
  assert.match(code(() => parseWire(BlobGet, { schema: 'edgefleet.blob-get/v1', sha256: sha, offset: 0, blockSize: 10, count: 1 }, 'blob/get')), /blockSize/);
});

test('an event may name the clock that stamped it; one without a mark (an older agent) is accepted as before', () => {
  // docs/decisions/0059-clock-marks.md: events carry the same optional mark as windows, presence and state.
  const event = { seq: 1, at: '2026-11-28T00:00:00Z', kind: 'activated', message: 'x' };
  const batch = (e: object) => ({ schema: 'edgefleet.events/v1', deviceId: 'd1', events: [e] });
  assert.equal(parseWire(EventBatch, batch({ ...event, clock: '0f3a9c1e.2' }), 'events').events[0]?.clock, '0f3a9c1e.2');
  assert.equal('clock' in (parseWire(EventBatch, batch(event), 'events').events[0] ?? {}), false);
  assert.match(code(() => parseWire(EventBatch, batch({ ...event, clock: 'a/b' }), 'events')), /events\[0\]\.clock: expected a clock mark/);
});

test('parseWireJson refuses text that is not JSON', () => {
  assert.match(code(() => parseWireJson(Presence, '{oops', 'presence')), /^SCHEMA_INVALID: invalid presence: not JSON/);
});

test('blob frames round-trip and refuse lies about their length', () => {
  const bytes = Buffer.from('hello blocks');
  const frame = encodeBlobData({ sha256: sha, offset: 64, length: bytes.length, total: 100 }, bytes);
  const { header, bytes: out } = decodeBlobData(frame);
  assert.equal(header.offset, 64);
  assert.deepEqual(out, bytes);
  const lying = encodeBlobData({ sha256: sha, offset: 0, length: 99, total: 100 }, bytes);
  assert.match(code(() => decodeBlobData(lying)), /^SIZE_MISMATCH/);
  assert.match(code(() => decodeBlobData(Buffer.from([0, 0, 255, 255, 1]))), /header length 65535 does not fit/);
  assert.match(code(() => decodeBlobData(Buffer.from([1]))), /at least 4/);
});

test('a key a strict request schema does not know names the one likely meant and those expected', async () => {
  const { EnrollmentTokenCreate } = await import('./api.js');
  assert.throws(() => parseWire(EnrollmentTokenCreate, { maxuses: 3, ttlSec: 60 }, 'request body'), (err: unknown) => {
    assert.ok(err instanceof AppError && err.code === 'SCHEMA_INVALID');
    assert.equal(err.message, 'invalid request body: maxuses: unknown field; did you mean "maxUses"? (expected one of tags, ttlSec, maxUses, note)');
    return true;
  });
  // Nested, and beside another problem: each named at its own place.
  const { AgentConfig } = await import('./agent-config.js');
  assert.throws(() => parseWire(AgentConfig, { dataDir: 5, api: { prot: 1 } }, 'config'), (err: unknown) => {
    assert.ok(err instanceof AppError);
    assert.match(err.message, /api\.prot: unknown field; did you mean "port"\?/);
    assert.match(err.message, /dataDir: /);
    return true;
  });
});
