// Configuration rollouts through the rollout engine (config-rollout.ts, decision 0045), hub side with a
// real store, broker and engine and a manual clock: devices outside the told waves keep the previous
// document in their desired documents; a configuration refused by the canary, or one that raises the
// model error rate or restarts agents, is rolled back by writing the previous document again; a good one
// walks every wave; a plain PUT of the scope while it rolls is refused; abort restores the previous one.
// A box that refused it reads rolled_back once the rollout rolled back, as it runs the previous settings.
// config_applied names the boxes that refused (and why) or have not applied it yet; a completed rollout's
// rollback is refused while another configuration rollout holds a device of its scope (decision 0088).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { settingsHash } from '@edgefleet/shared';
import { actOverRest, actions, cleanup, notified, others, prepare, report, setup, v1Everywhere, type Env } from './testing.js';
import { complete, minute, reportConfig } from './config-testing.js';
import { RolloutEngine } from './engine.js';
import { RollupGateData } from './rollup-gate-data.js';
import { ConfigService } from '../config/service.js';
import { RecordingLogger } from '../mqtt/testing/devices.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('config-rollout', () => {
  before(prepare);
  after(cleanup);

  const WAVES = [{ name: 'canary', percent: 20, minDevices: 2, bakeSec: 60 }, { name: 'all', percent: 100, bakeSec: 60 }];
  const GATES = { minPredictions: 150 };
  /** A canary of 40 % at least 1 device: 4 of the 10 under the id ro-00000000ab. */
  const FOUR = [{ name: 'canary', percent: 40, minDevices: 1, bakeSec: 60 }, { name: 'all', percent: 100, bakeSec: 60 }];

  /** The settings a device's newest desired document carries. */
  const sent = (e: Env, id: string) => e.store.desired.latest(id)?.signed.agentConfig?.settings;

  async function start(e: Env, settings: Record<string, unknown>, gates: object = GATES, waves = WAVES, id?: string) {
    await v1Everywhere(e);
    e.parts.config.put({ kind: 'fleet' }, { 'summaries.windowSec': 60 }, 'op', 'baseline', e.clock.now());
    await e.parts.deployments.issueDesiredMany(e.store.devices.list().map((d) => d.id));
    reportConfig(e, e.store.devices.list().map((d) => d.id));
    const r = await e.engine.createConfig({ ...(id ? { id } : {}), scope: 'fleet', settings, waves, gates, advance: 'auto', onFailure: 'rollback', reason: 'try it' }, { name: 'op' });
    return r;
  }

  describe('configuration rollouts', () => {
    it('a good configuration walks canary -> all; devices not yet told keep the previous document', async () => {
      const e = await setup(10);
      try {
        const r = await start(e, { 'summaries.windowSec': 30 });
        assert.deepEqual(r.config, { scope: 'fleet', version: 2, fromVersion: 1 });
        const canary = notified(e, r.id);
        assert.ok(canary.length >= 2 && canary.length < 10, `canary of ${canary.length}`);
        for (const id of canary) assert.deepEqual(sent(e, id), { 'summaries.windowSec': 30 }, `${id} is told`);
        for (const id of others(e, r.id)) {
          assert.deepEqual(sent(e, id), { 'summaries.windowSec': 60 }, `${id} keeps the previous document`);
          assert.deepEqual(e.parts.config.desiredFor(id)?.sources, [{ scope: 'fleet', version: 1 }]);
        }
        // A plain PUT of the scope while it rolls is refused.
        assert.throws(() => e.parts.config.put({ kind: 'fleet' }, { 'summaries.windowSec': 10 }, 'op', 'x', e.clock.now()), /being rolled out by rollout ro-/);

        await minute(e, r.id, canary);
        const afterCanary = e.engine.view(r.id);
        assert.equal(afterCanary.waves[0]?.state, 'passed', JSON.stringify(afterCanary.waves[0]?.gates));
        assert.deepEqual(afterCanary.waves[0]?.gates.map((g) => g.name), ['config_applied', 'reporting', 'predictions', 'model_error_rate', 'latency_p95', 'restarts']);
        await e.engine.tick();
        assert.equal(notified(e, r.id).length, 10);
        e.clock.advance(61_000);
        reportConfig(e, notified(e, r.id));
        report(e, notified(e, r.id), '1.0.0');
        await e.engine.tick();
        const done = e.engine.view(r.id);
        assert.equal(done.state, 'completed', JSON.stringify(done.waves[1]?.gates));
        assert.deepEqual(done.config, { scope: 'fleet', version: 2, fromVersion: 1 });
        for (const d of e.store.devices.list()) assert.deepEqual(sent(e, d.id), { 'summaries.windowSec': 30 });
        assert.equal(e.parts.config.document({ kind: 'fleet' }).version, 2);
        assert.ok(e.store.audit.query({ action: 'config.set' }).some((a) => (a.details as { rollout?: string }).rollout === r.id), 'the document write is audited');
      } finally {
        await e.close();
      }
    });

    it('a configuration the canary refuses is rolled back: the previous document is written again and sent', async () => {
      const e = await setup(10);
      try {
        const r = await start(e, { 'summaries.windowSec': 5 });
        const canary = notified(e, r.id);
        reportConfig(e, canary, { refuse: true });
        await e.engine.tick();
        e.clock.advance(61_000);
        await e.engine.tick();
        const v = e.engine.view(r.id);
        assert.equal(v.state, 'rolled_back', JSON.stringify(v.waves[0]?.gates));
        assert.match(v.stateReason ?? '', /config_applied 0 \(threshold 0\.95\)/);
        // Which box refused it and why, in its own words: once back on the previous document it no longer reports the refusal.
        const first = e.store.rollouts.devices(r.id).filter((d) => d.notifiedAt !== null).map((d) => d.deviceId)[0];
        assert.match(v.waves[0]?.gates.find((g) => g.name === 'config_applied')?.note ?? '', new RegExp(`^${canary.length} refused the configuration: d-\\d{3}, d-\\d{3}.* \\(${first}: CONFIG_INVALID summaries\\.windowSec: refused\\)$`));
        // Still reporting the refusal, the boxes run the previous settings the rollback sends them again.
        const told = () => e.engine.view(r.id).devices!.filter((d) => d.notifiedAt !== null).map((d) => d.status);
        assert.deepEqual(told(), canary.map(() => 'rolled_back'), 'the refusing boxes are back on the previous settings, not restarting');
        reportConfig(e, canary);
        assert.deepEqual(told(), canary.map(() => 'rolled_back'), 'told devices back on the previous settings');
        const doc = e.parts.config.document({ kind: 'fleet' });
        assert.deepEqual([doc.version, doc.settings], [3, { 'summaries.windowSec': 60 }]);
        assert.match(doc.reason ?? '', new RegExp(`rollback of rollout ${r.id}`));
        for (const d of e.store.devices.list()) assert.deepEqual(sent(e, d.id), { 'summaries.windowSec': 60 });
        assert.equal(e.store.desired.latest(canary[0]!)?.signed.agentConfig?.sha256, settingsHash({ 'summaries.windowSec': 60 }));
        assert.deepEqual(actions(e, r.id).slice(-2), ['rollout.wave_failed', 'rollout.rolled_back']);
        // Released: the scope takes plain writes again.
        assert.equal(e.parts.config.put({ kind: 'fleet' }, { 'summaries.windowSec': 20 }, 'op', 'after', e.clock.now()).version, 4);
      } finally {
        await e.close();
      }
    });

    it('a told box offline pauses the wave at stuckSec naming it; offline for gates.deferTimeoutSec it is left out and the rollout goes on', async () => {
      const e = await setup(10);
      try {
        // A canary of 4 (places are drawn from the id): one left out leaves 3, most of them and above its minDevices (offline.ts).
        const r = await start(e, { 'summaries.windowSec': 30 }, { ...GATES, stuckSec: 60, deferTimeoutSec: 600 }, FOUR, 'ro-00000000ab');
        const [away, ...rest] = notified(e, r.id);
        assert.equal(rest.length, 3);
        const seen = e.clock.now();
        e.store.devices.markSeen(away!, false, seen);
        for (let i = 0; i < 3 && e.store.rollouts.get(r.id).state === 'running'; i++) await minute(e, r.id, rest);
        const v = e.engine.view(r.id);
        assert.equal(v.state, 'paused');
        assert.match(v.stateReason ?? '', new RegExp(`config_applied [0-9.]+ \\(needs >= 0\\.95; 1 not applied yet: ${away} offline since ${seen.toISOString()}; `
          + 'an offline device is left out once offline for gates.deferTimeoutSec \\(600 s\\) since told\\)'));
        // Still away 10 minutes after it was told: resumed, the wave is judged without it and the rollout completes.
        e.clock.advance(600_000);
        await e.engine.act(r.id, 'resume', 'the box is switched off', { name: 'op' });
        await complete(e, r.id);
        const gate = e.engine.view(r.id).waves[0]?.gates.find((g) => g.name === 'config_applied');
        assert.deepEqual([gate?.value, gate?.samples.wave], [1, rest.length]);
        assert.equal(gate?.note, `1 offline for gates.deferTimeoutSec (600 s) since told: left out, sent the configuration when it reconnects (${away} since ${seen.toISOString()})`);
        assert.deepEqual(sent(e, away!), { 'summaries.windowSec': 30 }, 'its document waits for it');
      } finally {
        await e.close();
      }
    });

    it('a box that applied it and was switched off before sending a window is named on reporting, as for a model (offline.ts)', async () => {
      const e = await setup(10);
      try {
        const r = await start(e, { 'summaries.windowSec': 30 }, { ...GATES, stuckSec: 60 }, FOUR, 'ro-00000000ab');
        const canary = notified(e, r.id);
        const [away, ...rest] = canary;
        reportConfig(e, canary);
        const seen = e.clock.now();
        e.store.devices.markSeen(away!, false, seen);
        for (let i = 0; i < 3 && e.store.rollouts.get(r.id).state === 'running'; i++) await minute(e, r.id, rest);
        const v = e.engine.view(r.id);
        assert.equal(v.state, 'paused', JSON.stringify(v.waves[0]?.gates));
        assert.match(v.stateReason ?? '', new RegExp(`reporting 0\\.75 \\(needs >= 0\\.8; .*1 of them offline \\(${away} since ${seen.toISOString()}\\): a box switched off sends its windows when it reconnects\\)`));
      } finally {
        await e.close();
      }
    });

    it('a wave whose told boxes are mostly switched off is not judged on the others: it waits, and pauses at stuckSec', async () => {
      const e = await setup(10);
      try {
        const r = await start(e, { 'summaries.windowSec': 30 }, { ...GATES, stuckSec: 60, deferTimeoutSec: 600 }, FOUR, 'ro-00000000ab');
        const canary = notified(e, r.id);
        for (const id of canary.slice(0, 3)) e.store.devices.markSeen(id, false, e.clock.now());
        e.clock.advance(600_000);
        for (let i = 0; i < 3 && e.store.rollouts.get(r.id).state === 'running'; i++) await minute(e, r.id, canary.slice(3));
        const v = e.engine.view(r.id);
        assert.equal(v.state, 'paused', JSON.stringify(v.waves[0]?.gates));
        assert.match(v.stateReason ?? '', /config_applied 0\.25 \(needs >= 0\.95; 3 not applied yet: .*; 3 of the 4 told offline for gates\.deferTimeoutSec \(600 s\) since told \(.*\): not left out, as the wave would be judged on 1 device\(s\), not most of the 4 told; it waits for them\)/);
        assert.deepEqual(sent(e, canary[0]!), { 'summaries.windowSec': 30 });
      } finally {
        await e.close();
      }
    });

    it('a configuration under which the canary fails in the model, or its agents restart, fails its gates', async () => {
      for (const bad of ['errors', 'restarts'] as const) {
        const e = await setup(10);
        try {
          const r = await start(e, { 'concurrency.perModel': 1 });
          const canary = notified(e, r.id);
          e.clock.advance(61_000);
          reportConfig(e, canary, bad === 'restarts' ? { starts: 9 } : {});
          report(e, canary, '1.0.0', bad === 'errors' ? { bad: 10 } : {});
          report(e, others(e, r.id), '1.0.0');
          await e.engine.tick();
          const v = e.engine.view(r.id);
          assert.equal(v.state, 'rolled_back', `${bad}: ${JSON.stringify(v.waves[0]?.gates)}`);
          assert.match(v.stateReason ?? '', bad === 'errors' ? /model_error_rate 10/ : /restarts 8 \(threshold 2\)/);
          assert.deepEqual(e.parts.config.document({ kind: 'fleet' }).settings, { 'summaries.windowSec': 60 });
        } finally {
          await e.close();
        }
      }
    });

    it('rollback of a completed rollout restores the previous document only while the scope is at the version it wrote (else 409)', async () => {
      const e = await setup(6);
      try {
        const first = await start(e, { 'summaries.windowSec': 30 });
        await complete(e, first.id);
        // A day later someone writes version 3; rolling back the old rollout would put version 1's settings over it.
        e.clock.advance(86_400_000);
        const v3 = { 'summaries.windowSec': 15, 'runtime.batching': 'on' };
        assert.equal(e.parts.config.put({ kind: 'fleet' }, v3, 'alice', 'new tuning', e.clock.now()).version, 3);
        const refused = await actOverRest(e, first.id, 'rollback', 'wrong rollout id');
        assert.equal(refused.status, 409, JSON.stringify(refused.body));
        assert.equal(refused.body.error?.code, 'CONFLICT');
        assert.match(refused.body.error?.message ?? '', new RegExp(`^rollout ${first.id} is completed: fleet is at configuration version 3 now \\(written by alice at [^)]+\\), not version 2 this rollout wrote`));
        const doc = e.parts.config.document({ kind: 'fleet' });
        assert.deepEqual([doc.version, doc.settings], [3, v3], 'the newer document stands');
        assert.equal(e.store.rollouts.get(first.id).state, 'completed');
        assert.ok(!actions(e, first.id).includes('rollout.rolled_back'), 'a refused rollback leaves no audit entry');

        // A rollout of version 3 -> 4 that completed and is still the newest write rolls back to version 3's settings.
        const second = await e.engine.createConfig({ scope: 'fleet', settings: { 'summaries.windowSec': 20 }, waves: WAVES, gates: GATES, advance: 'auto', onFailure: 'rollback', reason: 'finer' }, { name: 'op' });
        await complete(e, second.id);
        const ok = await actOverRest(e, second.id, 'rollback', 'finer windows cost too much');
        assert.deepEqual([ok.status, ok.body.state], [200, 'rolled_back'], JSON.stringify(ok.body));
        const back = e.parts.config.document({ kind: 'fleet' });
        assert.deepEqual([back.version, back.settings], [5, v3]);
        for (const d of e.store.devices.list()) assert.deepEqual(sent(e, d.id), v3);
      } finally {
        await e.close();
      }
    });

    it('rollback of a completed rollout is refused while another configuration rollout holds a device of its scope', async () => {
      const e = await setup(6);
      try {
        const first = await start(e, { 'summaries.windowSec': 30 });
        await complete(e, first.id);
        e.store.devices.setTags('d-005', { hw: 'v2' });
        const other = await e.engine.createConfig({ scope: 'tag/hw=v2', settings: { 'log.level': 'warn' }, waves: [{ name: 'all', percent: 100, bakeSec: 60 }], gates: GATES, advance: 'auto', onFailure: 'rollback', reason: 'v2 boxes' }, { name: 'op' });
        const refused = await actOverRest(e, first.id, 'rollback', 'too coarse');
        assert.equal(refused.status, 409, JSON.stringify(refused.body));
        assert.equal(refused.body.error?.message, `rollout ${other.id} (config tag/hw=v2 v0 -> v1, running) is active over devices of fleet, which rolling back ${first.id} would write (d-005): `
          + 'a device is one rollout\'s at a time; abort the rollout or wait for it to finish');
        assert.deepEqual([e.parts.config.document({ kind: 'fleet' }).version, e.store.rollouts.get(first.id).state], [2, 'completed'], 'nothing written');
        await e.engine.act(other.id, 'abort', 'later', { name: 'op' });
        const ok = await actOverRest(e, first.id, 'rollback', 'too coarse');
        assert.deepEqual([ok.status, ok.body.state], [200, 'rolled_back'], JSON.stringify(ok.body));
      } finally {
        await e.close();
      }
    });

    it('abort restores the previous document; a second rollout over the same devices is refused', async () => {
      const e = await setup(6);
      try {
        const r = await start(e, { 'summaries.windowSec': 30 });
        const canary = notified(e, r.id);
        reportConfig(e, canary.slice(0, 1), { refuse: true });
        reportConfig(e, canary.slice(1));
        await assert.rejects(e.engine.createConfig({ scope: 'tag/ring=a', settings: { 'log.level': 'warn' }, advance: 'auto', onFailure: 'rollback', reason: 'x' }, { name: 'op' }), /configuration rollout ro-\w+ .* is active over the same devices/);
        const a = await e.engine.act(r.id, 'abort', 'changed my mind', { name: 'op' });
        assert.equal(a.state, 'rolled_back');
        // The box that refused it runs the previous settings still; one that applied it does once it applies them again.
        const told = () => e.engine.view(r.id).devices!.filter((d) => d.notifiedAt !== null).map((d) => d.status);
        assert.deepEqual(told(), ['rolled_back', ...canary.slice(1).map(() => 'pending')]);
        reportConfig(e, canary.slice(1));
        assert.deepEqual(told(), canary.map(() => 'rolled_back'));
        assert.deepEqual(e.parts.config.document({ kind: 'fleet' }).settings, { 'summaries.windowSec': 60 });
        for (const d of e.store.devices.list()) assert.deepEqual(sent(e, d.id), { 'summaries.windowSec': 60 });
      } finally {
        await e.close();
      }
    });

    it('a configuration rollout with settings this hub\'s MQTT would refuse from the boxes is refused at create, nothing stored', async () => {
      const e = await setup(2);
      try {
        const engine = new RolloutEngine({ store: e.store, deployments: e.parts.deployments, gateData: new RollupGateData(e.store), clock: e.clock, logger: new RecordingLogger(), config: new ConfigService(e.store, { maxPayloadBytes: 100_000 }) });
        await assert.rejects(
          engine.createConfig({ scope: 'fleet', settings: { 'sync.outbox.maxMessageBytes': 200_000 }, waves: WAVES, gates: GATES, advance: 'auto', onFailure: 'rollback', reason: 'bigger' }, { name: 'op' }),
          (err: { code?: string; message?: string }) => err.code === 'CONFIG_INVALID' && /sync\.outbox\.maxMessageBytes: expected at most 100000 bytes/.test(err.message ?? ''),
        );
        assert.deepEqual(e.store.rollouts.list().rollouts, []);
        // A scope no device is in has nothing to roll through: the error says how to store it instead.
        await assert.rejects(
          e.engine.createConfig({ scope: 'tag/site=nowhere', settings: { 'log.level': 'warn' }, advance: 'auto', onFailure: 'rollback', reason: 'x' }, { name: 'op' }),
          (err: { code?: string; message?: string }) => err.code === 'INVALID_INPUT'
            && err.message === 'scope tag/site=nowhere reaches no device: expected at least one to roll it to (store it without a rollout: edgefleet config set without --rollout, or PUT /api/v1/config/tag/site=nowhere)',
        );
        assert.deepEqual(e.store.rollouts.list().rollouts, []);
        // Settings the scope holds already (none stored: no settings) have nothing to roll out.
        await assert.rejects(
          e.engine.createConfig({ scope: 'fleet', settings: {}, advance: 'auto', onFailure: 'rollback', reason: 'x' }, { name: 'op' }),
          (err: { code?: string; message?: string }) => err.code === 'INVALID_INPUT' && err.message === 'fleet version 0 holds these settings already: nothing to roll out',
        );
        assert.deepEqual(e.store.rollouts.list().rollouts, []);
      } finally {
        await e.close();
      }
    });
  });
});
