import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTrustBody, generateKeyPair, signEnvelope, type DesiredBody, type TrustBody } from '@edgefleet/shared';
import { checkDesired } from './desired.js';

const root = generateKeyPair('root', 'root');
const release = generateKeyPair('release', 'release');
const hub = generateKeyPair('hub', 'hub');
const other = generateKeyPair('hub', 'other');
const trust: TrustBody = createTrustBody({ version: 1, expires: '2030-01-01T00:00:00Z', root: [root], release: [release], hub: [hub] });
const now = new Date('2026-11-28T12:00:00Z');

function body(patch: Partial<DesiredBody> = {}): DesiredBody {
  return { schema: 'edgefleet.desired/v1', deviceId: 'dev-1', seq: 5, issued: '2026-11-28T11:00:00Z', expires: '2026-12-12T11:00:00Z', models: [], config: {}, ...patch };
}
const check = (doc: unknown, lastSeq = 4) => checkDesired(doc, { trust, deviceId: 'dev-1', lastSeq, now });

test('a fresh document signed by the hub key for this device is accepted', () => {
  const v = check(signEnvelope(body(), [hub]));
  assert.equal(v.ok, true);
});

test('each bad document is refused with a code and a message saying why', () => {
  const cases: Array<[unknown, string, RegExp, number?]> = [
    [signEnvelope(body({ seq: 4 }), [hub]), 'DOCUMENT_REPLAYED', /seq 4 is not above the last applied seq 4/],
    [signEnvelope(body({ deviceId: 'dev-2' }), [hub]), 'DOCUMENT_WRONG_DEVICE', /for device "dev-2", not this device "dev-1"/],
    [signEnvelope(body({ expires: '2026-11-28T11:00:00Z' }), [hub]), 'DOCUMENT_EXPIRED', /expired at/],
    [signEnvelope(body(), [other]), 'THRESHOLD_NOT_MET', /hub/],
    [signEnvelope(body(), [release]), 'THRESHOLD_NOT_MET', /hub/],
    [{ signed: body(), signatures: [] }, 'THRESHOLD_NOT_MET', /unsigned/],
    [{ ...signEnvelope(body(), [hub]), signed: body({ seq: 6 }) }, 'SIGNATURE_INVALID', /signature invalid/],
    [{ signed: { ...body(), schema: 'edgefleet.desired/v2' }, signatures: [] }, 'UNSUPPORTED_VERSION', /expected "edgefleet.desired\/v1"/],
  ];
  for (const [doc, code, re] of cases) {
    const v = check(doc);
    assert.equal(v.ok, false);
    if (!v.ok) {
      assert.equal(v.code, code, v.message);
      assert.match(v.message, re);
    }
  }
});

test('clock skew within the allowance is tolerated', () => {
  assert.equal(check(signEnvelope(body({ expires: '2026-11-28T11:57:00Z' }), [hub])).ok, true);
  assert.equal(check(signEnvelope(body({ issued: '2026-11-28T12:03:00Z' }), [hub])).ok, true);
  assert.equal(check(signEnvelope(body({ issued: '2026-11-28T12:30:00Z' }), [hub])).ok, false);
});

test('the seq floor belongs to the signing key: a new hub key starts at 0, a removed key is refused whatever its seq', () => {
  const hub2 = generateKeyPair('hub', 'hub2');
  const floors: Record<string, number> = { [hub.keyId]: 2 ** 52 };
  const floor = (signers: string[]) => Math.max(0, ...signers.map((k) => floors[k] ?? 0));
  const rotated: TrustBody = createTrustBody({ version: 2, expires: '2030-01-01T00:00:00Z', root: [root], release: [release], hub: [hub2] });
  // Before the rotation the stolen key's floor refuses the hub's ordinary numbering.
  const before = checkDesired(signEnvelope(body({ seq: 9 }), [hub]), { trust, deviceId: 'dev-1', floor, now });
  assert.equal(before.ok, false);
  if (!before.ok) assert.match(before.message, /seq 9 is not above the last applied seq 4503599627370496 of hub key/);
  // After it, the new key's first document is accepted and reports who signed it.
  const next = checkDesired(signEnvelope(body({ seq: 9 }), [hub2]), { trust: rotated, deviceId: 'dev-1', floor, now });
  assert.equal(next.ok, true);
  if (next.ok) assert.deepEqual(next.signers, [hub2.keyId]);
  // The removed key cannot sign any seq, however high.
  const stolen = checkDesired(signEnvelope(body({ seq: 2 ** 53 - 1 }), [hub]), { trust: rotated, deviceId: 'dev-1', floor, now });
  assert.equal(stolen.ok, false);
  if (!stolen.ok) assert.equal(stolen.code, 'THRESHOLD_NOT_MET');
});
