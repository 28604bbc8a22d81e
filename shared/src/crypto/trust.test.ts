import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { canonicalBytes } from '../canonical.js';
import { DesiredBody } from '../wire/desired.js';
import { generateKeyPair, toPublicKeyFile, toSecretKeyFile, type KeyPair } from './keys.js';
import { signBytes, signEnvelope } from './sign.js';
import { assertThreshold, checkThreshold } from './threshold.js';
import { createTrustBody, verifyEnvelope, verifyTrustDocument, verifyTrustRotation } from './trust.js';
import { code } from '../assert-code.js';

const now = new Date('2026-06-01T00:00:00Z');
const seed = (n: number) => new Uint8Array(32).fill(n);
const root = [1, 2, 3].map((n) => generateKeyPair('root', `root${n}`, seed(n)));
const rel = [11, 12, 13].map((n) => generateKeyPair('release', `rel${n}`, seed(n)));
const hub = generateKeyPair('hub', 'hub', seed(21));
const trust = createTrustBody({ version: 1, expires: '2027-01-01T00:00:00Z', root, release: rel, hub: [hub], thresholds: { root: 2, release: 2 } });
const bytes = Buffer.from('manifest bytes');


test('threshold met by two distinct release keys', () => {
  const r = checkThreshold(trust, 'release', bytes, [signBytes(rel[0]!, bytes), signBytes(rel[1]!, bytes)]);
  assert.equal(r.ok, true);
  assert.deepEqual(r.valid.sort(), [rel[0]!.keyId, rel[1]!.keyId].sort());
  assert.equal(r.message, 'release signatures: 2 of threshold 2 valid');
});

test('a duplicated signature counts once', () => {
  const s = signBytes(rel[0]!, bytes);
  const r = checkThreshold(trust, 'release', bytes, [s, s, { ...s }]);
  assert.equal(r.ok, false);
  assert.deepEqual(r.valid, [rel[0]!.keyId]);
  assert.deepEqual(r.duplicates, [rel[0]!.keyId]);
  assert.throws(() => assertThreshold(trust, 'release', bytes, [s, s]), code('THRESHOLD_NOT_MET', /1 of threshold 2 valid \(1 key signed more than once, counted once/));
});

test('signatures by keys outside the role are ignored, neither counting nor failing', () => {
  const outsider = generateKeyPair('release');
  const sigs = [signBytes(rel[0]!, bytes), signBytes(rel[1]!, bytes), signBytes(outsider, bytes), signBytes(root[0]!, bytes)];
  const r = checkThreshold(trust, 'release', bytes, sigs);
  assert.equal(r.ok, true);
  assert.deepEqual(r.ignored.sort(), [outsider.keyId, root[0]!.keyId].sort());
  assert.deepEqual(r.invalid, []);
  assert.match(r.message, /2 signatures by keys not among the release keys of trust version 1 ignored/);
  // Only untrusted signatures: threshold not met, naming the ignored key.
  assert.throws(() => assertThreshold(trust, 'release', bytes, [signBytes(outsider, bytes)], 'bundle m-1.0.0'),
    code('THRESHOLD_NOT_MET', new RegExp(`^bundle m-1.0.0: release signatures: 0 of threshold 2 valid \\(1 signature by a key not among the release keys of trust version 1 ignored \\(${outsider.keyId.slice(0, 8)}…\\); expected release keys: ${rel.map((k) => `${k.keyId.slice(0, 8)}…`).join(', ')}\\)$`)));
});

test('an invalid signature by a role key is reported as SIGNATURE_INVALID', () => {
  const good = signBytes(rel[0]!, bytes);
  const bad = signBytes(rel[1]!, Buffer.from('other bytes'));
  const r = checkThreshold(trust, 'release', bytes, [good, bad]);
  assert.deepEqual(r.invalid, [rel[1]!.keyId]);
  assert.throws(() => assertThreshold(trust, 'release', bytes, [good, bad]),
    code('SIGNATURE_INVALID', new RegExp(`1 of threshold 2 valid \\(key ${rel[1]!.keyId.slice(0, 8)}… signature invalid\\)`)));
  // Met threshold despite one invalid signature: accepted, the invalid one still reported.
  const r2 = checkThreshold(trust, 'release', bytes, [good, bad, signBytes(rel[2]!, bytes)]);
  assert.equal(r2.ok, true);
  assert.deepEqual(r2.invalid, [rel[1]!.keyId]);
});

test('trust document: self-signed by a threshold of its root keys, not expired', () => {
  const doc = signEnvelope(trust, [root[0]!, root[1]!]);
  assert.deepEqual(verifyTrustDocument(JSON.parse(JSON.stringify(doc)), { now }), trust);
  assert.throws(() => verifyTrustDocument(signEnvelope(trust, [root[0]!]), { now }), code('THRESHOLD_NOT_MET', /trust document version 1: root signatures: 1 of threshold 2/));
  assert.throws(() => verifyTrustDocument(doc, { now: new Date('2027-02-01T00:00:00Z') }), code('TRUST_EXPIRED', /expired at 2027-01-01T00:00:00Z/));
  const edited = { ...doc, signed: { ...doc.signed, version: 9 } };
  assert.throws(() => verifyTrustDocument(edited, { now }), code('SIGNATURE_INVALID'));
  assert.throws(() => verifyTrustDocument({ ...doc, signed: { ...doc.signed, schema: 'edgefleet.trust/v2' } }, { now }), code('UNSUPPORTED_VERSION'));
  assert.throws(() => createTrustBody({ version: 1, expires: '2027-01-01T00:00:00Z', root, release: rel, hub: [hub], thresholds: { hub: 2 } }), code('SCHEMA_INVALID', /roles.hub.threshold: threshold 2 exceeds the role's 1 keys/));
});

function nextTrust(version: number, newRoot: KeyPair[]) {
  return createTrustBody({ version, expires: '2027-06-01T00:00:00Z', root: newRoot, release: rel, hub: [hub], thresholds: { root: 2, release: 2 } });
}
const newRoot = [31, 32, 33].map((n) => generateKeyPair('root', `nroot${n}`, seed(n)));

test('rotation accepted when signed by thresholds of the old and the new root keys', () => {
  const next = nextTrust(2, newRoot);
  const doc = signEnvelope(next, [root[0]!, root[2]!, newRoot[0]!, newRoot[1]!]);
  assert.deepEqual(verifyTrustRotation(trust, doc, { now }), next);
});

test('rotation signed only by the new root is refused, naming the current root', () => {
  const doc = signEnvelope(nextTrust(2, newRoot), [newRoot[0]!, newRoot[1]!]);
  assert.throws(() => verifyTrustRotation(trust, doc, { now }), code('TRUST_ROTATION_INVALID', /not signed by a threshold of the current \(version 1\) root keys: root signatures: 0 of threshold 2 valid/));
});

test('rotation signed only by the old root is refused, naming the new root', () => {
  const doc = signEnvelope(nextTrust(2, newRoot), [root[0]!, root[1]!]);
  assert.throws(() => verifyTrustRotation(trust, doc, { now }), code('TRUST_ROTATION_INVALID', /not signed by a threshold of its own \(version 2\) root keys/));
});

test('rotation to a lower or equal version is refused', () => {
  for (const v of [1]) {
    const doc = signEnvelope(nextTrust(v, newRoot), [root[0]!, root[1]!, newRoot[0]!, newRoot[1]!]);
    assert.throws(() => verifyTrustRotation({ ...trust, version: 1 }, doc, { now }), code('TRUST_ROTATION_INVALID', new RegExp(`new version ${v} is not higher than the current version 1`)));
  }
  const doc = signEnvelope(nextTrust(2, newRoot), [root[0]!, root[1]!, newRoot[0]!, newRoot[1]!]);
  assert.throws(() => verifyTrustRotation({ ...trust, version: 3 }, doc, { now }), code('TRUST_ROTATION_INVALID', /new version 2 is not higher than the current version 3/));
});

test('verifyEnvelope checks a desired-state document signed by the hub key', () => {
  const body = { schema: 'edgefleet.desired/v1', deviceId: 'dev-1', seq: 3, issued: '2026-06-01T00:00:00Z', expires: '2026-06-02T00:00:00Z', models: [] };
  const doc = signEnvelope(body, [hub]);
  const parsed = verifyEnvelope(doc, trust, 'hub', DesiredBody, 'desired state for dev-1');
  assert.deepEqual(parsed.config, {}); // defaults apply after verifying the bytes as sent
  assert.equal(parsed.seq, 3);
  assert.throws(() => verifyEnvelope({ signed: body, signatures: [] }, trust, 'hub', DesiredBody, 'desired state'), code('THRESHOLD_NOT_MET', /desired state is unsigned/));
  assert.throws(() => verifyEnvelope({ ...doc, signed: { ...body, seq: 4 } }, trust, 'hub', DesiredBody, 'desired state'), code('SIGNATURE_INVALID', /^desired state: hub signatures: 0 of threshold 1/));
  assert.throws(() => verifyEnvelope(signEnvelope(body, [rel[0]!]), trust, 'hub', DesiredBody, 'desired state'), code('THRESHOLD_NOT_MET', /not among the hub keys of trust version 1 ignored/));
  assert.throws(() => verifyEnvelope({ signed: { x: 1 }, signatures: [] }, trust, 'hub', z.object({ x: z.string() }), 'thing'), code('SCHEMA_INVALID', /invalid thing: signed.x/));
  assert.equal(canonicalBytes(doc.signed).length > 0, true);
});

// A key file or a manifest given as --trust (or to `edgefleet-agent trust set`) was refused as a trust
// document missing `signed` and `signatures`; it is now named for what it is.
test('another of our files given as a trust document is named for what it is', () => {
  const signed = createTrustBody({ version: 1, expires: '2027-01-01T00:00:00Z', root: [root[0]!], release: rel, hub: [hub] });
  assert.equal(verifyTrustDocument(signEnvelope(signed, [root[0]!]), { now }).version, 1);
  for (const file of [toSecretKeyFile(rel[0]!), toPublicKeyFile(rel[0]!), { schema: 'edgefleet.manifest/v1', name: 'vib' }]) {
    const schema = file.schema;
    assert.throws(() => verifyTrustDocument(file, { now }), code('SCHEMA_INVALID',
      new RegExp(`^invalid trust document: this is a "${schema.replace('.', '\\.')}" file; expected a signed edgefleet\\.trust/v1 document \\(\\{signed, signatures\\}, as "edgefleet trust init" writes trust\\.json\\)$`)));
  }
  // Without a schema on top it is judged by the envelope's schema, as before.
  assert.throws(() => verifyTrustDocument({ version: 1 }, { now }), code('SCHEMA_INVALID', /^invalid trust document: signed: /));
});
