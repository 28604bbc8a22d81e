// A box enrolled again as a new device id (enroll --force keeps its device key) during a rollout
// (replaced.ts, docs/decisions/0155-a-box-enrolled-again-replaces-its-old-id.md), on the rollout test
// environment (real store, embedded broker, engine, manual clock) and the hub's REST enrollment: the old
// id, told but never reporting again, held its canary's install_success until stuckSec
// paused the rollout, again after every resume. Now the enrollment marks it replaced (audited, naming the
// rollout it leaves), it leaves the rollout while offline, the gate names it, and the wave is judged on the
// others; GET /rollouts/{id} lists it last as `replaced`, saying by which id, and the rollout's own audit trail
// has a rollout.device_replaced entry. An old id still connected (a cloned data dir) is not left out. A wave with nobody to judge says so (gates.ts).
// The operator sees the mark (GET /devices, devices ls --replaced, devices show), and creating a rollout judges the
// devices its waves will have (plan.ts inRollouts): a replaced id offline counts in no ring nor "given already".
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateBoxKeyPair, type DeviceCredentials, type DeviceInfo } from '@edgefleet/shared';
import { appOf, cleanup, cliAgainst, notified, others, prepare, report, setup, v1Everywhere, type Env } from './testing.js';
import { createApp } from '../api/app.js';
import { Metrics } from '../metrics.js';
import { Sealing } from '../sealing/service.js';
import { Keystore } from '../sealing/keystore.js';
import { FACTS } from '../testing/harness.js';

describe('replaced', () => {
  before(prepare);
  after(cleanup);

  const WAVES = [{ name: 'canary', percent: 40, minDevices: 3, bakeSec: 60 }, { name: 'all', percent: 100, bakeSec: 60 }];
  const GATES = { minPredictions: 150, stuckSec: 120, deferTimeoutSec: 3600 };
  const pub = (k: ReturnType<typeof generateBoxKeyPair>) => ({ keyId: k.keyId, public: Buffer.from(k.publicKey).toString('base64') });

  /** POST /api/v1/enroll over the hub's REST app, as `edgefleet-agent enroll --force` does with the box's device key. */
  async function enroll(e: Env, sealing: Sealing, key: ReturnType<typeof generateBoxKeyPair>): Promise<string> {
    const app = createApp({
      store: e.store, metrics: new Metrics(), clock: e.clock, trust: () => ({ signed: e.trust, signatures: [] }), brokers: () => [], fleet: null, sealing,
      maxBundleBytes: 1 << 20, verifyBundle: () => Promise.reject(new Error('unused')), deployments: e.parts.deployments, ingest: e.parts.ingest, rollouts: e.engine,
    });
    const token = e.store.enrollment.create({ tags: { ring: 'a' }, expires: new Date(e.clock.now().getTime() + 3_600_000), maxUses: 1, createdBy: 'op', at: e.clock.now() }).token;
    const res = await app.request('/api/v1/enroll', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, facts: FACTS, deviceKey: pub(key) }) });
    const text = await res.text();
    assert.equal(res.status, 201, text);
    return (JSON.parse(text) as DeviceCredentials).deviceId;
  }

  /** A minute later: `on` report 2.0.0 active with windows, the devices not told 1.0.0; one step. */
  async function minute(e: Env, id: string, on: readonly string[]): Promise<void> {
    e.clock.advance(61_000);
    report(e, on, '2.0.0');
    report(e, others(e, id), '1.0.0');
    await e.engine.tick();
  }

  it('a told box enrolled again leaves the rollout while offline: audited, named on install_success, the wave judged on the others', async () => {
    const e = await setup(10);
    try {
      const sealing = new Sealing(e.store, Keystore.open(e.dir));
      await v1Everywhere(e);
      const r = await e.engine.create({ id: 'ro-00000000ab', model: 'audio-energy', version: '2.0.0', target: { all: true }, waves: WAVES, gates: GATES, advance: 'auto', onFailure: 'rollback', reason: 'v2' }, { name: 'op' });
      const canary = notified(e, r.id);
      assert.equal(canary.length, 4);
      const [old, ...rest] = canary as [string, ...string[]];
      const key = generateBoxKeyPair();
      sealing.setDeviceKey(old, pub(key), 'enroll', e.clock.now());
      // Its box was switched off before it installed 2.0.0 (rebuilt) and enrolled again: the old id never reports again,
      // and install_success waited for it until gates.deferTimeoutSec, past stuckSec: paused, again after every resume.
      e.store.devices.markSeen(old, false, e.clock.now());
      const fresh = await enroll(e, sealing, key);
      const entry = e.store.audit.query({ action: 'device.replaced' }).find((a) => a.target === old);
      assert.deepEqual(entry?.details, { by: fresh, keyId: key.keyId, leftRollouts: [r.id] });
      assert.match(entry?.reason ?? '', new RegExp(`^its box enrolled again as ${fresh} with the same device key \\(${key.keyId.slice(0, 12)}…\\): ${old} leaves the rollouts it is placed in while offline \\(${r.id}\\); revoke it \\(edgefleet devices revoke ${old}\\)`));
      assert.ok(!e.store.rollouts.devices(r.id).some((d) => d.deviceId === old), 'it left the rollout');
      // The box itself, as its new id, joins the target with a place of its own and installs when told.
      for (let i = 0; i < 3 && e.engine.view(r.id).waves[0]?.state !== 'passed'; i++) await minute(e, r.id, notified(e, r.id).filter((id) => id !== old));
      const v = e.engine.view(r.id);
      assert.equal(v.state, 'running', v.stateReason ?? '');
      assert.equal(v.waves[0]?.state, 'passed', JSON.stringify(v.waves[0]?.gates));
      const gate = v.waves[0]?.gates.find((g) => g.name === 'install_success');
      assert.equal(gate?.samples.wave, notified(e, r.id).length);
      assert.ok(rest.every((id) => notified(e, r.id).includes(id)));
      assert.match(gate?.note ?? '', new RegExp(`1 replaced by a new enrollment of its box \\(enroll --force\\) and offline: left out \\(${old} now ${fresh}\\); edgefleet devices revoke ID takes an old id off the fleet`));
      // Its row says why it left, in the gate's words, and counts in no wave; the rollout's own trail says it too.
      const row = v.devices?.find((d) => d.deviceId === old);
      assert.deepEqual([row?.status, row?.wave, row?.notifiedAt === null], ['replaced', 'canary', false]);
      assert.equal(row?.reason, `replaced by a new enrollment of its box (enroll --force) and offline: left out (now ${fresh}); edgefleet devices revoke ${old} takes it off the fleet`);
      assert.equal(v.devices?.at(-1)?.deviceId, old, 'listed last');
      assert.equal(v.devices?.filter((d) => d.status !== 'replaced').length, v.waves.at(-1)?.devices);
      const limited = e.engine.view(r.id, true, 10);
      assert.deepEqual([limited.devices?.length, limited.devicesTotal, limited.devices?.some((d) => d.deviceId === old)], [10, 11, false]);
      const trail = e.store.audit.query({ target: r.id, action: 'rollout.device_replaced' });
      assert.deepEqual(trail.map((a) => [a.actor, a.reason, a.details]), [[entry?.actor, `${old} replaced by a new enrollment of its box (enroll --force) and offline: left out (now ${fresh})`, { device: old, by: fresh, keyId: key.keyId }]]);
    } finally {
      await e.close();
    }
  });

  it('an old id still connected (a cloned data dir) is marked, counts while connected and leaves once offline', async () => {
    const e = await setup(4);
    try {
      const sealing = new Sealing(e.store, Keystore.open(e.dir));
      await v1Everywhere(e);
      const r = await e.engine.create({ model: 'audio-energy', version: '2.0.0', target: { all: true }, waves: [{ name: 'all', percent: 100, bakeSec: 60 }], gates: GATES, advance: 'auto', onFailure: 'rollback', reason: 'v2' }, { name: 'op' });
      const old = 'd-001';
      const key = generateBoxKeyPair();
      sealing.setDeviceKey(old, pub(key), 'state', e.clock.now());
      e.store.devices.markSeen(old, true, e.clock.now());
      const fresh = await enroll(e, sealing, key);
      assert.match(e.store.audit.query({ action: 'device.replaced' })[0]?.reason ?? '', new RegExp(`: ${old} is connected now; it leaves the rollouts it is placed in once offline \\(${r.id}\\)`));
      assert.equal(e.store.audit.query({ target: r.id, action: 'rollout.device_replaced' })[0]?.reason, `${old} replaced by a new enrollment of its box (enroll --force), connected now: left out once offline (now ${fresh})`);
      assert.equal(e.engine.view(r.id).devices?.find((d) => d.deviceId === old)?.status !== 'replaced', true, 'connected, listed as any device');
      assert.ok(e.store.rollouts.devices(r.id).some((d) => d.deviceId === old), 'connected, it stays');
      e.store.devices.markSeen(old, false, e.clock.now());
      assert.ok(!e.store.rollouts.devices(r.id).some((d) => d.deviceId === old), 'offline, it leaves');
      assert.deepEqual(e.store.rollouts.replaced(r.id), { first: [{ deviceId: old, by: fresh, keyId: key.keyId, at: e.clock.now().toISOString() }], count: 1 });
      assert.equal(e.engine.view(r.id).devices?.find((d) => d.deviceId === old)?.status, 'replaced');
      // A box enrolled with a key no other device holds replaces nothing.
      await enroll(e, sealing, generateBoxKeyPair());
      assert.equal(e.store.audit.query({ action: 'device.replaced' }).length, 1);
    } finally {
      await e.close();
    }
  });

  it('the mark shows on GET /devices, devices ls --replaced and devices show; a bad ?replaced= is a 400 naming it', async () => {
    const e = await setup(3);
    const cli = await cliAgainst(e);
    try {
      const sealing = new Sealing(e.store, Keystore.open(e.dir));
      const key = generateBoxKeyPair();
      sealing.setDeviceKey('d-001', pub(key), 'enroll', e.clock.now());
      const at = e.clock.now().toISOString();
      const fresh = await enroll(e, sealing, key);
      const ls = async (...more: string[]) => (JSON.parse((await cli.run('devices', 'ls', ...more, '--json')).out) as { devices: DeviceInfo[] }).devices;
      assert.deepEqual((await ls()).map((d) => [d.id, d.replaced]), [['d-000', null], ['d-001', { by: fresh, at }], ['d-002', null], [fresh, null]]);
      assert.deepEqual((await ls('--replaced')).map((d) => d.id), ['d-001']);
      assert.deepEqual((await ls('--replaced', '--status', 'online')).map((d) => d.id), [], 'filters hold together');
      const table = await cli.run('devices', 'ls', '--replaced');
      assert.equal(table.code, 0, table.err);
      assert.match(table.out, /^ID +ONLINE .* REVOKED +REPLACED BY\n/);
      assert.match(table.out, new RegExp(`^d-001 +no .* ${fresh}$`, 'm'));
      const show = await cli.run('devices', 'show', 'd-001');
      assert.match(show.out, new RegExp(`^replaced: +by ${fresh} since ${at} \\([^)]* ago\\) \\(its box enrolled again: enroll --force\\); offline, so it is out of every rollout; edgefleet devices revoke d-001 takes the old id off the fleet$`, 'm'));
      assert.doesNotMatch((await cli.run('devices', 'show', fresh)).out, /^replaced:/m);
      const token = e.store.tokens.create('viewer', 'viewer', 'test', e.clock.now()).token;
      const bad = await appOf(e).request('/api/v1/devices?replaced=yes', { headers: { authorization: `Bearer ${token}` } });
      assert.equal(bad.status, 400);
      assert.match(await bad.text(), /replaced \\"yes\\" \(query parameter replaced\): expected true or false/);
      const others_ = await appOf(e).request('/api/v1/devices?replaced=false', { headers: { authorization: `Bearer ${token}` } });
      assert.deepEqual(((await others_.json()) as { devices: DeviceInfo[]; total: number }).devices.map((d) => d.id), ['d-000', 'd-002', fresh]);
    } finally {
      cli.close();
      await e.close();
    }
  });

  it('creating a rollout leaves a replaced id offline out of its checks: rings and "given already", as its waves do', async () => {
    const e = await setup(4);
    try {
      const sealing = new Sealing(e.store, Keystore.open(e.dir));
      await v1Everywhere(e);
      for (const id of ['d-000', 'd-001']) e.store.devices.setTags(id, { ring: 'a', site: 'n' });
      const key = generateBoxKeyPair();
      sealing.setDeviceKey('d-000', pub(key), 'enroll', e.clock.now());
      const fresh = await enroll(e, sealing, key);
      const req = { model: 'audio-energy', version: '2.0.0', target: { all: true as const }, gates: GATES, advance: 'auto' as const, onFailure: 'rollback' as const, reason: 'v2' };
      // The ring's second device is d-000's box, now `fresh` (its token's tags): the old id would have made the ring of 2.
      await assert.rejects(e.engine.create({ ...req, waves: [{ name: 'north', tags: { site: 'n' }, minDevices: 2, bakeSec: 60 }, { name: 'all', percent: 100, bakeSec: 60 }] }, { name: 'op' }),
        /waves\[0\]\.tags: the ring north \[site=n\] holds 1 device\(s\) of the target: expected at least 2 with site=n/);
      // Every device a rollout would count is given 2.0.0 already; the old id, on 1.0.0, is not told.
      await e.parts.deployments.deploy({ model: 'audio-energy', version: '2.0.0', target: { devices: ['d-001', 'd-002', 'd-003', fresh] }, reason: 'v2 by hand' }, 'op');
      await assert.rejects(e.engine.create({ ...req, waves: WAVES }, { name: 'op' }), /version: every device of the target \(4\) is given audio-energy 2\.0\.0 already/);
      // Connected again (a cloned data dir), it counts as any device.
      e.store.devices.markSeen('d-000', true, e.clock.now());
      const r = await e.engine.create({ ...req, waves: WAVES }, { name: 'op' });
      assert.ok(e.store.rollouts.devices(r.id).some((d) => d.deviceId === 'd-000'));
    } finally {
      await e.close();
    }
  });

  it('a wave with nobody to judge (a target reaching no device, every device revoked) says so when it pauses; rollback ends it', async () => {
    const e = await setup(3);
    try {
      await v1Everywhere(e);
      const gates = { minPredictions: 10, stuckSec: 120 };
      const nobody = await e.engine.create({ model: 'audio-energy', version: '2.0.0', target: { tags: { site: 'nowhere' } }, waves: [{ name: 'all', percent: 100, bakeSec: 60 }], gates, advance: 'auto', onFailure: 'rollback', reason: 'for boxes to come' }, { name: 'op' });
      const r = await e.engine.create({ model: 'audio-energy', version: '2.0.0', target: { all: true }, waves: [{ name: 'canary', percent: 30, minDevices: 1, bakeSec: 60 }, { name: 'all', percent: 100, bakeSec: 60 }], gates, advance: 'auto', onFailure: 'rollback', reason: 'v2' }, { name: 'op' });
      for (const d of e.store.devices.list()) e.store.devices.revoke(d.id, e.clock.now());
      for (let i = 0; i < 4; i++) {
        e.clock.advance(61_000);
        await e.engine.tick();
      }
      const words = 'install_success none \\(needs >= 0\\.95; no device of the wave to judge: a device that joins the target \\(enrolled, tagged into it\\) is placed and told; until then the wave waits, and gates.stuckSec pauses it';
      for (const [id, more] of [[nobody.id, '\\)'], [r.id, '; 3 devices revoked during the rollout: left out\\)']] as const) {
        const v = e.engine.view(id);
        assert.equal(v.state, 'paused', JSON.stringify(v.waves[0]?.gates));
        assert.match(v.stateReason ?? '', new RegExp(`stuck for 120 s with gates pending: ${words}${more}`));
      }
      assert.equal((await e.engine.act(r.id, 'rollback', 'nobody left', { name: 'op' })).state, 'rolled_back');
    } finally {
      await e.close();
    }
  });
});
