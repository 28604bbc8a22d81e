// A wave failed by devices that did not install (docs/rollouts.md "Gates"), on the rollout test environment
// (real store, real embedded broker on 127.0.0.1:0, manual clock): a canary box refuses its desired document
// (DOCUMENT_EXPIRED, its clock behind) over MQTT, install_success fails and the rollout rolls back. The
// rollout view still says which device did not install and why: install_success's note, the failed wave's
// record, the audit entry, and the device's row reads `rolled_back (had refused: ...)`, also in
// `edgefleet rollout show`. A wave with more such devices names the first five and says how many more.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { waitFor } from '@edgefleet/examples';
import { EVENTS_SCHEMA, deviceTopic, type DeviceEvent } from '@edgefleet/shared';
import { GATES, cleanup, cliAgainst, notified, others, prepare, report, setup, v1Everywhere, type Env } from './testing.js';
import { RECORD_DEVICES, notInstalledNote, notInstalledRecord } from './not-installed.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('not-installed', () => {
  before(prepare);
  after(cleanup);

  /** The device's own events over the real broker, then until its row of deployment `dep` reads `status`. */
  async function sendEvent(e: Env, dep: number, id: string, event: Omit<DeviceEvent, 'seq' | 'at'>, status: string): Promise<void> {
    const c = await mqtt.connectAsync(e.link.address().mqtt, { protocolVersion: 4, clientId: id, username: id, password: `secret-${Number(id.slice(2))}`, reconnectPeriod: 0 });
    try {
      const events = [{ seq: 1, at: e.clock.now().toISOString(), ...event }];
      await c.publishAsync(deviceTopic(id, 'events'), JSON.stringify({ schema: EVENTS_SCHEMA, deviceId: id, events }), { qos: 1 });
      await waitFor(`${id} ${status}`, () => e.store.deployments.get(dep).devices.some((x) => x.deviceId === id && x.status === status) || undefined);
    } finally {
      await c.endAsync();
    }
  }

  const depOf = (e: Env, rolloutId: string) => e.store.rollouts.get(rolloutId).deploymentId!;
  const refuse = (e: Env, rolloutId: string, id: string) => {
    const seq = e.store.desired.latest(id)!.signed.seq;
    return sendEvent(e, depOf(e, rolloutId), id, { kind: 'desired_refused', code: 'DOCUMENT_EXPIRED', message: `desired-state document seq ${seq} expired, device clock behind`, data: { seq } }, 'refused');
  };

  describe('a wave failed by devices that did not install', () => {
    it('names the refusing device and its reason on install_success, the wave and its row, kept after the rollback', async () => {
      const e = await setup(8);
      try {
        await v1Everywhere(e);
        const r = await e.engine.create({ model: 'audio-energy', version: '3.0.0', target: { all: true }, waves: [{ name: 'canary', percent: 30, minDevices: 3, bakeSec: 60 }, { name: 'all', percent: 100, bakeSec: 60 }], gates: GATES, advance: 'auto', onFailure: 'rollback', reason: 'v3' }, { name: 'op' });
        const [box, ...rest] = notified(e, r.id);
        // 30 % of 8 with minDevices 3: 3 or more, as the rollout's id places them (decision 0105); one refusal fails
        // install_success (threshold 0.95) whatever the count.
        assert.ok(rest.length >= 2, `the canary told ${rest.length + 1} devices`);
        await refuse(e, r.id, box!);
        e.clock.advance(61_000);
        report(e, rest, '3.0.0');
        report(e, others(e, r.id), '1.0.0');
        await e.engine.tick();
        const v = e.engine.view(r.id);
        assert.deepEqual([v.state, v.waves[0]?.state], ['rolled_back', 'failed']);
        const why = `DOCUMENT_EXPIRED: desired-state document seq \\d+ expired, device clock behind`;
        const gate = v.waves[0]?.gates.find((g) => g.name === 'install_success');
        assert.equal(gate?.verdict, 'fail');
        assert.match(gate?.note ?? '', new RegExp(`^not installed: ${box} refused \\(${why}\\)$`));
        assert.deepEqual(v.waves[0]?.notInstalled?.devices.map((d) => [d.deviceId, d.status]), [[box, 'refused']]);
        assert.equal(v.waves[0]?.notInstalled?.more, 0);
        assert.equal(v.waves[1]?.notInstalled, undefined);
        const row = (id: string) => e.engine.view(r.id).devices?.find((d) => d.deviceId === id)?.status ?? '';
        // Sent back, not there yet, then back on 1.0.0: both say why it had not installed.
        assert.match(row(box!), new RegExp(`^rolling back: pending \\(had refused: ${why}\\)$`));
        for (const id of rest) assert.equal(row(id), 'rolling back: pending', 'installed, then sent back: no reason to show');
        report(e, [box!, ...rest], '1.0.0');
        assert.match(row(box!), new RegExp(`^rolled_back \\(had refused: ${why}\\)$`));
        for (const id of rest) assert.equal(row(id), 'rolled_back');
        // The audit entry of the failure carries the record too.
        const failed = e.store.audit.query({}).find((a) => a.action === 'rollout.wave_failed' && a.target === r.id);
        assert.deepEqual((failed?.details as { notInstalled?: { devices: Array<{ deviceId: string }> } }).notInstalled?.devices.map((d) => d.deviceId), [box]);
        // rollout show prints the note and the row.
        const cli = await cliAgainst(e);
        const show = await cli.run('rollout', 'show', r.id).finally(() => cli.close());
        assert.equal(show.code, 0, show.err);
        assert.match(show.out, new RegExp(`install_success .* fail +not installed: ${box} refused \\(${why}\\)`));
        assert.match(show.out, new RegExp(`^${box} .* rolled_back \\(had refused: ${why}\\)$`, 'm'));
      } finally {
        await e.close();
      }
    });

    it('names the first five of seven with the count of the rest (a failed install included)', async () => {
      const e = await setup(8);
      try {
        await v1Everywhere(e);
        const r = await e.engine.create({ model: 'audio-energy', version: '3.0.0', target: { all: true }, waves: [{ name: 'all', percent: 100, bakeSec: 60 }], gates: GATES, advance: 'auto', onFailure: 'pause', reason: 'v3' }, { name: 'op' });
        const told = notified(e, r.id);
        assert.equal(told.length, 8);
        for (const id of told.slice(0, 6)) await refuse(e, r.id, id);
        await sendEvent(e, depOf(e, r.id), told[6]!, { kind: 'install_failed', model: 'audio-energy', version: '3.0.0', code: 'VERIFY_FAILED', message: 'bundle signature does not verify' }, 'failed');
        e.clock.advance(61_000);
        report(e, [told[7]!], '3.0.0');
        await e.engine.tick();
        const v = e.engine.view(r.id);
        assert.deepEqual([v.state, v.waves[0]?.state], ['paused', 'failed']);
        const note = v.waves[0]?.gates.find((g) => g.name === 'install_success')?.note ?? '';
        assert.match(note, new RegExp(`^not installed: ${told.slice(0, 5).map((id) => `${id} refused \\(DOCUMENT_EXPIRED: [^)]*\\)`).join(', ')}, and 2 more$`));
        assert.deepEqual(v.waves[0]?.notInstalled?.devices.map((d) => d.status), [...Array(6).fill('refused'), 'failed']);
        assert.equal(v.waves[0]?.notInstalled?.devices[6]?.reason, 'VERIFY_FAILED: bundle signature does not verify');
        // Paused, not rolled back: each row keeps its own status.
        assert.equal(v.devices?.find((d) => d.deviceId === told[6])?.status, 'failed');
      } finally {
        await e.close();
      }
    });

    it('keeps the first RECORD_DEVICES devices with their reasons cut, and counts the rest', () => {
      const rows = Array.from({ length: RECORD_DEVICES + 5 }, (_, i) => ({ deviceId: `d-${i}`, status: 'failed' as const, reason: 'x'.repeat(500) }));
      const rec = notInstalledRecord(rows);
      assert.deepEqual([rec.devices.length, rec.more], [RECORD_DEVICES, 5]);
      assert.ok(rec.devices.every((d) => (d.reason ?? '').length === 160 && d.reason!.endsWith('…')));
      assert.match(notInstalledNote(rec) ?? '', /, and 20 more$/);
      assert.equal(notInstalledNote(notInstalledRecord([])), null);
    });
  });
});
