// Per-device MQTT quotas (quota.ts) on a fake clock: the message rate throttles then refuses, the
// bytes of an hour refuse telemetry until the window slides, reports are bounded per interval.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MqttQuota, type QuotaReport } from './quota.js';
import { RecordingLogger, RecordingMetrics } from './testing/devices.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const TOPIC = 'ef/v1/d/dev-1/telemetry';

function quota(limits: ConstructorParameters<typeof MqttQuota>[0]['limits'], now = { t: T0 }) {
  const reports: QuotaReport[] = [];
  const metrics = new RecordingMetrics();
  const q = new MqttQuota({ clock: { now: () => new Date(now.t) }, logger: new RecordingLogger(), metrics, limits, onReport: (r) => reports.push(r) });
  return { q, reports, metrics, now };
}

describe('MqttQuota', () => {
  it('passes the burst, delays past it, refuses past the delay ceiling, and recovers with time', () => {
    const { q } = quota({ messagesPerSec: 10, burst: 5, maxDelayMs: 1000 });
    for (let i = 0; i < 5; i++) assert.deepEqual(q.admit('dev-1', TOPIC, 10, T0), { action: 'pass' });
    assert.deepEqual(q.admit('dev-1', TOPIC, 10, T0), { action: 'delay', ms: 100 });
    for (let i = 2; i <= 10; i++) assert.deepEqual(q.admit('dev-1', TOPIC, 10, T0), { action: 'delay', ms: i * 100 });
    const r = q.admit('dev-1', TOPIC, 10, T0);
    assert.equal(r.action, 'refuse');
    assert.equal(r.action === 'refuse' && r.kind, 'messages');
    // Another device has its own bucket.
    assert.deepEqual(q.admit('dev-2', 'ef/v1/d/dev-2/telemetry', 10, T0), { action: 'pass' });
    // 1.5 s later the debt of 10 is paid and 5 tokens are back.
    assert.deepEqual(q.admit('dev-1', TOPIC, 10, T0 + 1500), { action: 'pass' });
  });

  it('refuses a device that stays throttled for disconnectAfterMs', () => {
    const { q } = quota({ messagesPerSec: 10, burst: 1, maxDelayMs: 60_000, disconnectAfterMs: 3000 });
    assert.equal(q.admit('dev-1', TOPIC, 1, T0).action, 'pass');
    let t = T0;
    let last = q.admit('dev-1', TOPIC, 1, t);
    while (last.action === 'delay') {
      t += 50; // 20 a second against 10 allowed
      last = q.admit('dev-1', TOPIC, 1, t);
    }
    assert.equal(last.action, 'refuse');
    assert.ok(t - T0 >= 3000, `refused after ${t - T0} ms`);
  });

  it('a clock stepped back an hour neither throttles nor refuses a device that keeps to its quota', () => {
    const { q } = quota({ messagesPerSec: 10, burst: 5, maxDelayMs: 1000, bytesPerHour: 10_000 });
    for (let i = 0; i < 5; i++) assert.equal(q.admit('dev-1', TOPIC, 1000, T0 + 3_600_000).action, 'pass');
    // NTP steps the hub's clock back an hour; the device publishes at its allowed rate. The first after
    // the step may wait one token's time (the bucket cannot know how long the step hid), none after it.
    assert.deepEqual(q.admit('dev-1', TOPIC, 10, T0), { action: 'delay', ms: 100 });
    for (let i = 1; i < 20; i++) assert.equal(q.admit('dev-1', TOPIC, 10, T0 + i * 200).action, 'pass', `publish ${i}`);
    // The 5,000 bytes counted before the step age out within the hour that follows, as any others.
    assert.equal(q.admit('dev-1', TOPIC, 6000, T0 + 3_700_000).action, 'pass');
  });

  it('refuses telemetry and events over the bytes of the hour, not state, until the window slides', () => {
    const { q } = quota({ bytesPerHour: 1000, messagesPerSec: 1000, burst: 1000 });
    assert.equal(q.admit('dev-1', TOPIC, 600, T0).action, 'pass');
    assert.equal(q.admit('dev-1', 'ef/v1/d/dev-1/events', 300, T0 + 60_000).action, 'pass');
    const refused = q.admit('dev-1', TOPIC, 200, T0 + 120_000);
    assert.equal(refused.action === 'refuse' && refused.kind, 'bytes');
    assert.equal(q.admit('dev-1', 'ef/v1/d/dev-1/events', 200, T0 + 120_000).action, 'refuse');
    assert.equal(q.admit('dev-1', 'ef/v1/d/dev-1/state', 200, T0 + 120_000).action, 'pass');
    // The 600 bytes at T0 leave the window an hour later (five-minute slots): room again.
    assert.equal(q.admit('dev-1', TOPIC, 200, T0 + 3_540_000).action, 'refuse');
    assert.equal(q.admit('dev-1', TOPIC, 200, T0 + 3_600_000).action, 'pass');
    // Two hours of silence empty it.
    assert.equal(q.admit('dev-1', TOPIC, 1000, T0 + 3 * 3_600_000).action, 'pass');
  });

  it('gate counts every throttle and refusal, reports once per device, action and interval, and shows status', async () => {
    const { q, reports, metrics, now } = quota({ messagesPerSec: 1000, burst: 2, maxDelayMs: 5, reportEveryMs: 60_000 });
    const results: Array<Error | null | undefined> = [];
    const done = (err?: Error | null) => results.push(err);
    for (let i = 0; i < 10; i++) q.gate('dev-1', TOPIC, 1, () => false, done);
    await new Promise<void>((resolve) => { const check = () => (results.length === 10 ? resolve() : setImmediate(check)); check(); });
    const refused = results.filter((e) => e instanceof Error).length;
    assert.ok(refused > 0 && refused < 8, `refused ${refused}`);
    const throttled = 10 - 2 - refused;
    assert.equal(metrics.counters.get('edgefleet_mqtt_quota_exceeded_total{"kind":"messages","action":"throttle"}'), throttled);
    assert.equal(metrics.counters.get('edgefleet_mqtt_quota_exceeded_total{"kind":"messages","action":"disconnect"}'), refused);
    assert.deepEqual(reports.map((r) => r.action), ['throttle', 'disconnect']);
    const st = q.status('dev-1');
    assert.equal(st?.throttled, throttled);
    assert.equal(st?.disconnected, refused);
    assert.equal(q.status('dev-2'), undefined);
    // A minute later the next refusal is reported again, with the count of the ones left out.
    now.t += 60_000;
    for (let i = 0; i < 20; i++) q.gate('dev-1', TOPIC, 1, () => false, () => {});
    q.stop();
    const again = reports.filter((r) => r.action === 'disconnect');
    assert.equal(again.length, 2);
    assert.equal(again[1]?.sinceLastReport, refused - 1);
  });

  it('a device that stays over its quota is reported half as often each time, up to hourly; after a quiet spell, every minute again', () => {
    const { q, reports, metrics, now } = quota({ bytesPerHour: 100, reportEveryMs: 60_000 });
    const minute = () => Math.round((now.t - T0) / 60_000);
    const at: number[] = [];
    // A refusal every minute for 10 hours (each publish alone is over the hour's bytes).
    for (let m = 0; m < 600; m++) {
      now.t = T0 + m * 60_000;
      const before = reports.length;
      q.gate('dev-1', TOPIC, 1000, () => false, () => {});
      if (reports.length > before) at.push(minute());
    }
    assert.deepEqual(at, [0, 1, 3, 7, 15, 31, 63, 123, 183, 243, 303, 363, 423, 483, 543], 'reports 1, 2, 4, ... 60 minutes apart');
    assert.equal(metrics.counters.get('edgefleet_mqtt_quota_exceeded_total{"kind":"bytes","action":"disconnect"}'), 600, 'the metric counts every refusal');
    assert.equal(reports.reduce((n, r) => n + 1 + r.sinceLastReport, 0), 543 + 1, 'each report carries the ones left out since the last');
    // Quiet for three hours: the next two refusals, a minute apart, are both reported.
    now.t = T0 + (599 + 180) * 60_000;
    q.gate('dev-1', TOPIC, 1000, () => false, () => {});
    now.t += 60_000;
    q.gate('dev-1', TOPIC, 1000, () => false, () => {});
    assert.equal(reports.length, at.length + 2);
    q.stop();
  });

  it('refuses nonsense limits', () => {
    assert.throws(() => quota({ messagesPerSec: 0 }), /messagesPerSec must be a positive number/);
  });
});
