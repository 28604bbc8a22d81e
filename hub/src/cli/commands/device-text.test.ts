// `edgefleet devices show` text for what a live test cannot easily bring about (test/src/cli/devices-show.test.ts
// runs it against a real hub and agent): a refused document, a refused remote configuration, expired
// trust, a wrong clock, a revoked device that never reported, an old id of a box enrolled again, and text from others printed inert.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeviceInfo } from '@edgefleet/shared';
import { boxTime, clockCell, deviceText, shortDuration } from './device-text.js';

const NOW = new Date('2026-12-05T12:00:00.000Z');
const SHA = 'ab'.repeat(32);
const base: DeviceInfo = {
  id: 'pump-7', tags: {}, facts: { os: 'linux', arch: 'arm64', cpus: 4, memoryMb: 3900, agentVersion: '0.1.0' }, revoked: false, revokedAt: null,
  online: false, lastSeen: '2026-12-05T09:00:00.000Z', created: '2026-12-01T00:00:00.000Z', models: [], reported: null, clock: null, replaced: null,
};

test('shortDuration and clockCell: the largest whole unit', () => {
  assert.deepEqual([shortDuration(12_000), shortDuration(-180_000), shortDuration(7_200_000), shortDuration(400 * 86_400_000)], ['12s', '3m', '2h', '400d']);
  assert.equal(clockCell(null), '-');
  assert.equal(clockCell({ offsetMs: 400, measuredAt: NOW.toISOString(), shiftedWindows: 0 }), 'ok');
  assert.equal(clockCell({ offsetMs: -180_000, measuredAt: NOW.toISOString(), shiftedWindows: 0 }), '-3m');
});

test('a device in trouble: refusal, refused config, expired trust, clock ahead', () => {
  const d: DeviceInfo = {
    ...base,
    tags: { site: 'north' },
    models: [{ name: 'm', version: '1.0.0', status: 'installed' }, { name: 'm', version: '2.0.0', status: 'failed', previous: '1.0.0' }, { name: 'z', version: '3.0.0', status: 'installed' }],
    reported: {
      at: '2026-12-08T08:59:00.000Z', agentVersion: '0.2.0', lastAppliedSeq: 4, trustVersion: 3,
      refusal: { seq: 5, code: 'DOCUMENT_EXPIRED', message: 'expired at 2026-12-04T00:00:00.000Z', at: '2026-12-08T08:58:00.000Z' },
      trust: { expires: '2026-12-01T00:00:00.000Z', expired: true },
      config: { sha256: SHA, sources: [], status: 'failed', at: '2026-12-05T08:00:00.000Z', error: { sha256: 'cd'.repeat(32), code: 'CONFIG_INVALID', message: 'expected a number', field: 'infer.maxBatch' } },
      outbox: { items: 1234 }, disk: { free: 512 * 1024 ** 2, total: 2048 * 1024 ** 2 },
      capabilities: ['blob-blocks', 'outbox-v1', 'backend-wasm'], backend: 'wasm', starts: 3,
    },
    clock: { offsetMs: 3 * 86_400_000, measuredAt: '2026-12-05T08:59:00.000Z', shiftedWindows: 12 },
  };
  const text = deviceText(d, NOW);
  assert.equal(text, [
    'device:       pump-7',
    'state:        offline, last seen 2026-12-05T09:00:00.000Z (3h ago)',
    'tags:         site=north',
    'agent:        0.2.0 (linux arm64, 4 CPUs, 3900 MB), started 3 times',
    'runtime:      wasm backend',
    'capabilities: blob-blocks outbox-v1 backend-wasm',
    "reported:     2026-12-05T08:59:00.000Z (3h ago; box's clock: 2026-12-08T08:59:00.000Z), desired seq 4 applied",
    'trust:        version 3, EXPIRED 2026-12-01T00:00:00.000Z',
    'config:       refused cdcdcdcdcdcd: [CONFIG_INVALID] expected a number (field infer.maxBatch); runs sha256 abababababab',
    'outbox:       1234 entries not yet acked by the hub',
    'disk free:    512.0 MiB of 2.0 GiB (25%)',
    "clock:        +3d (ahead of the hub), measured 2026-12-05T08:59:00.000Z (3h ago); 12 windows placed by the hub's clock",
    "last refusal: desired seq 5, 2026-12-05T08:58:00.000Z (3h ago; box's clock: 2026-12-08T08:58:00.000Z): [DOCUMENT_EXPIRED] expired at 2026-12-04T00:00:00.000Z",
    '',
    'models:',
    '  NAME  ACTIVE  PREVIOUS  STATUS     ALSO INSTALLED',
    '  m     2.0.0   1.0.0     failed     1.0.0',
    '  z     -       -         installed  3.0.0',
    '',
  ].join('\n'));
});

test('a revoked device that never reported, with a tag that tries to forge a line', () => {
  const text = deviceText({ ...base, tags: { note: 'x\nlast refusal:  none' }, revoked: true, revokedAt: '2026-12-02T00:00:00.000Z', lastSeen: null }, NOW);
  assert.match(text, /^state: +offline, never seen; REVOKED 2026-12-02T00:00:00\.000Z$/m);
  assert.match(text, /^agent: +0\.1\.0 at enrollment \(no state reported\)$/m);
  assert.match(text, /^reported: +never$/m);
  assert.match(text, /^trust: +-$/m);
  assert.match(text, /^models:\n {2}\(none\)\n$/m);
  assert.equal(text.match(/^last refusal:/gm)?.length, 1, 'the tag prints inert, on its own line');
});

test('windows parked for versions the registry does not hold (a restored hub) are named with their versions', () => {
  const d: DeviceInfo = {
    ...base,
    parkedWindows: { windows: 3, bytes: 2048, versions: [{ model: 'other', version: '1.0.0', windows: 3, bytes: 2048, since: '2026-12-05T11:00:00.000Z' }] },
  };
  assert.match(deviceText(d, NOW), /^parked: +3 windows \(2\.0 KiB\) of versions the registry does not hold, stored once pushed again: other@1\.0\.0 3 since 2026-12-05T11:00:00\.000Z$/m);
  assert.doesNotMatch(deviceText(base, NOW), /parked/);
});

test('versions the hub holds back: refused for the box\'s backend, or waiting for its first state report', () => {
  const waiting = "waiting for the box's first state report (its backend): strict 1.0.0 does not load on the wasm backend (…); the hub sends it with the report if the box runs another backend (docs/decisions/0129-model-backends-checked.md)";
  const text = deviceText({ ...base, heldBack: [{ deploymentId: 7, model: 'strict', version: '1.0.0', reason: waiting, since: '2026-12-05T11:00:00.000Z' }, { deploymentId: 8, model: 'other', version: '2.0.0', reason: 'BACKEND_UNSUPPORTED: the box runs the wasm backend, …', since: '2026-12-05T11:58:00.000Z' }] }, NOW);
  assert.deepEqual(text.match(/^held back: .*$/gm), [
    `held back:    strict@1.0.0 (deployment 7) since 2026-12-05T11:00:00.000Z (1h ago): ${waiting}`,
    'held back:    other@2.0.0 (deployment 8) since 2026-12-05T11:58:00.000Z (2m ago): BACKEND_UNSUPPORTED: the box runs the wasm backend, …',
  ]);
});

test("the times a box stamped are the hub's (by its measured offset), with the box's own beside them once a minute or more apart", () => {
  const clock = (offsetMs: number): DeviceInfo['clock'] => ({ offsetMs, measuredAt: '2026-12-05T11:59:00.000Z', shiftedWindows: 0 });
  // A box 400 days behind refused a document 2 minutes ago by the hub's clock.
  assert.equal(boxTime('2025-10-31T11:58:00.000Z', clock(-400 * 86_400_000), NOW), "2026-12-05T11:58:00.000Z (2m ago; box's clock: 2025-10-31T11:58:00.000Z)");
  assert.equal(boxTime('2026-12-05T11:58:30.000Z', clock(30_000), NOW), '2026-12-05T11:58:00.000Z (2m ago)', 'under a minute apart: the hub\'s time alone');
  assert.equal(boxTime('2026-12-05T11:58:00.400Z', clock(400), NOW), '2026-12-05T11:58:00.400Z (2m ago)', 'within a second: as stamped');
  assert.equal(boxTime('2026-12-05T11:58:00.000Z', null, NOW), "2026-12-05T11:58:00.000Z (2m ago; the box's clock, not measured against the hub's)");
});

test('an old id of a box enrolled again: by which id, since when, and what it means now', () => {
  const replaced = { by: 'dev-new', at: '2026-12-05T10:00:00.000Z' };
  const line = (d: DeviceInfo) => deviceText(d, NOW).split('\n').find((l) => l.startsWith('replaced:'));
  assert.equal(line(base), undefined, 'a device not replaced has no line');
  assert.equal(line({ ...base, replaced }), 'replaced:     by dev-new since 2026-12-05T10:00:00.000Z (2h ago) (its box enrolled again: enroll --force); offline, so it is out of every rollout; edgefleet devices revoke pump-7 takes the old id off the fleet');
  assert.match(line({ ...base, replaced, online: true }) ?? '', /; online, so it counts in rollouts as any device; edgefleet devices revoke pump-7/);
  assert.match(line({ ...base, replaced, revoked: true, revokedAt: '2026-12-05T11:00:00.000Z' }) ?? '', /\(its box enrolled again: enroll --force\); revoked$/);
});
