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
