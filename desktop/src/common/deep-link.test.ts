import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkHash, parseDeepLink } from './deep-link.js';

test('deep links: a device with an optional profile; everything else refused with a reason', () => {
  assert.deepEqual(parseDeepLink('edgefleet://device/cam-7'), { kind: 'device', id: 'cam-7', profile: null });
  assert.deepEqual(parseDeepLink('edgefleet://device/cam-7?profile=prod%20eu'), { kind: 'device', id: 'cam-7', profile: 'prod eu' });
  assert.equal(linkHash(parseDeepLink('edgefleet://device/a.b_c-1')), '#/devices/a.b_c-1');
  assert.deepEqual(parseDeepLink('edgefleet://rollout/ro-1a2b3c4d5e?profile=prod'), { kind: 'rollout', id: 'ro-1a2b3c4d5e', profile: 'prod' });
  assert.equal(linkHash(parseDeepLink('edgefleet://rollout/ro-1a2b3c4d5e')), '#/rollouts/ro-1a2b3c4d5e');
  const refused: Array<[string, RegExp]> = [
    ['https://device/cam-7', /scheme https:/],
    ['edgefleet://model/1', /unknown target "model"/],
    ['edgefleet://rollout/1', /rollout id "1" is not valid/],
    ['edgefleet://rollout/ro-1A2B3C4D5E', /rollout id .* is not valid/],
    ['edgefleet://rollout/ro-1a2b3c4d5e/x', /exactly one rollout id/],
    ['edgefleet://device/', /exactly one device id/],
    ['edgefleet://device/a/b', /exactly one device id/],
    ['edgefleet://device/..%2Fetc', /device id "..\/etc" is not valid/],
    ['edgefleet://device/%3Cscript%3E', /is not valid/],
    ['edgefleet://device/cam?x=1', /only \?profile= is allowed/],
    ['edgefleet://user:pw@device/cam', /credentials/],
    ['edgefleet://device/cam#frag', /fragment/],
    ['not a url', /not a URL/],
    [`edgefleet://device/${'a'.repeat(3000)}`, /longer than 2048/],
  ];
  for (const [raw, why] of refused) {
    assert.throws(() => parseDeepLink(raw), (e: Error & { code?: string }) => e.code === 'INVALID_INPUT' && why.test(e.message) && /expected edgefleet:\/\/device\/.* or edgefleet:\/\/rollout\//.test(e.message), raw);
  }
});
