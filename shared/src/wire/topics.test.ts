import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEVICE_TOPIC_KINDS, deviceTopic, parseTopic, TRUST_TOPIC } from './topics.js';

test('every device topic round-trips through build and parse', () => {
  for (const kind of DEVICE_TOPIC_KINDS) {
    assert.deepEqual(parseTopic(deviceTopic('dev-1', kind)), { kind: 'device', deviceId: 'dev-1', topic: kind });
  }
  assert.deepEqual(parseTopic(TRUST_TOPIC), { kind: 'trust' });
});

test('parse rejects anything outside the table', () => {
  for (const t of ['ef/v1/d/dev-1/other', 'ef/v1/d//state', 'ef/v2/d/a/state', 'ef/v1/d/+/state', 'ef/v1/d/#', 'ef/v1/d/a/b/state', '', 'ef/v1/trust/x', '$SYS/broker']) {
    assert.equal(parseTopic(t), null, t);
  }
});

test('build refuses ids that would break topic levels', () => {
  for (const id of ['a/b', '+', '#', '', 'x y']) assert.throws(() => deviceTopic(id, 'state'), /invalid device id/);
});
