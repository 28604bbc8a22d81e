// GET /devices/{id} shows a device's MQTT quota throttles and disconnects (hub/src/mqtt/quota.ts) as
// `mqttQuota`, and nothing for a device that never went over.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { DeviceInfo } from '@edgefleet/shared';
import { makeHarness } from '../testing/harness.js';
import { MqttQuota } from '../mqtt/quota.js';
import { RecordingLogger, RecordingMetrics } from '../mqtt/testing/devices.js';

it('GET /devices/{id} shows mqttQuota for a device that went over its quota', async () => {
  const now = { t: Date.parse('2026-03-01T12:00:00Z') };
  const quota = new MqttQuota({ clock: { now: () => new Date(now.t) }, logger: new RecordingLogger(), metrics: new RecordingMetrics(), limits: { bytesPerHour: 100 } });
  const h = makeHarness({ quota });
  try {
    for (const id of ['heavy', 'quiet']) h.store.devices.create(id, `secret-${id}`, {}, null, h.clock.now());
    const errors: Array<Error | null | undefined> = [];
    quota.gate('heavy', 'ef/v1/d/heavy/telemetry', 80, () => false, (e) => errors.push(e));
    quota.gate('heavy', 'ef/v1/d/heavy/telemetry', 80, () => false, (e) => errors.push(e));
    assert.equal(errors[0], null);
    assert.match(String(errors[1]), /quota exceeded \(bytes\)/);

    const res = await h.req('GET', '/api/v1/devices/heavy', { role: 'viewer' });
    assert.equal(res.status, 200);
    const info = DeviceInfo.parse(await res.json());
    assert.deepEqual(info.mqttQuota, {
      throttled: 0, disconnected: 1,
      last: { at: '2026-03-01T12:00:00.000Z', kind: 'bytes', action: 'disconnect', why: '160 bytes in the last hour exceed bytesPerHour 100' },
    });
    const quiet = DeviceInfo.parse(await (await h.req('GET', '/api/v1/devices/quiet', { role: 'viewer' })).json());
    assert.equal(quiet.mqttQuota, undefined);
  } finally {
    quota.stop();
    h.close();
  }
});
