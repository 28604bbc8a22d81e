// The bus's sources on a real store: a deployment status change is published once per change (the
// repeated "active" of every state report is not), with its deployment id; connect and disconnect
// become presence events; committed audit entries are published; alerts that fire, resolve or are acknowledged are
// published once each; a rollout's changes are published once per transaction; disconnecting stops them all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@edgefleet/examples';
import { AlertRuleCreate, GateConfig, type StreamEvent } from '@edgefleet/shared';
import { Alerts } from '../alerts/service.js';
import { noopLogger } from '../mqtt/ports.js';
import { makeHarness } from '../testing/harness.js';
import { EventBus } from './bus.js';
import { connectEventSources } from './sources.js';

test('event sources: status changes once each, presence, committed audit entries', async () => {
  const h = makeHarness();
  try {
    const bus = new EventBus();
    const got: StreamEvent[] = [];
    bus.subscribe((e) => got.push(e));
    const handlers: Record<string, (id: string, m?: unknown) => void> = {};
    const fleet = {
      on: (k: string, fn: (id: string, m: unknown) => void) => { handlers[k] = fn; return () => delete handlers[k]; },
      onConnect: (fn: (id: string) => void) => { handlers['connect'] = fn; return () => delete handlers['connect']; },
      onDisconnect: (fn: (id: string) => void) => { handlers['disconnect'] = fn; return () => delete handlers['disconnect']; },
    };
    const off = connectEventSources({ bus, clock: h.clock, fleet: fleet as never, audit: h.store.audit, deployments: h.store.deployments, deviceEventEveryMs: 20 });
    const at = h.clock.now();
    h.store.devices.create('d-1', 'x'.repeat(32), {}, null, at);
    const dep = h.store.deployments.create({ model: 'm', version: '1.0.0', target: { all: true }, reason: 'r', createdBy: 't', at });
    h.store.deployments.addDevices(dep, 'm', ['d-1'], at);
    h.store.deployments.setStatus('d-1', 'm', '1.0.0', 'downloading', at, { progress: 0.5 });
    h.store.deployments.setStatus('d-1', 'm', '1.0.0', 'active', at, { progress: 1 });
    h.store.deployments.setStatus('d-1', 'm', '1.0.0', 'active', at, { progress: 1 });
    handlers['connect']?.('d-1');
    handlers['disconnect']?.('d-1');
    h.store.audit.append({ actor: 'a', action: 'device.add', target: 'd-1', at });
    await new Promise((r) => setImmediate(r)); // audit entries are announced after the current transaction
    // The disconnect came within the device's interval: it waits for its end (events/device-pacer.ts).
    assert.deepEqual(got.map((e) => e.type), ['deployment.progress', 'deployment.progress', 'device.presence', 'audit']);
    await waitFor('the disconnect published at the end of its interval', () => got.length >= 5 || undefined, { timeoutMs: 10_000 });
    assert.deepEqual(got.map((e) => e.type), ['deployment.progress', 'deployment.progress', 'device.presence', 'audit', 'device.presence']);
    assert.deepEqual(got.filter((e) => e.type === 'device.presence').map((e) => (e.data as { online: boolean }).online), [true, false]);
    const p = got[1]?.data as { deploymentId: number; status: string; progress: number };
    assert.deepEqual([p.deploymentId, p.status, p.progress], [dep, 'active', 1]);
    off();
    handlers['connect']?.('d-1');
    h.store.deployments.setStatus('d-1', 'm', '1.0.0', 'failed', at, {});
    assert.equal(got.length, 5, 'nothing after disconnecting the sources');
  } finally {
    h.close();
  }
});

test('event sources: alerts that fire and resolve in an evaluation pass, or are acknowledged, are published as `alert` events', async () => {
  const h = makeHarness();
  try {
    const bus = new EventBus();
    const got: StreamEvent[] = [];
    bus.subscribe((e) => got.push(e));
    const noop = () => () => true;
    const alerts = new Alerts({ store: h.store, clock: h.clock, logger: noopLogger, metrics: h.metrics });
    const off = connectEventSources({ bus, clock: h.clock, fleet: { on: noop, onConnect: noop, onDisconnect: noop } as never, audit: h.store.audit, deployments: h.store.deployments, alerts });
    h.store.devices.create('d-1', 'x'.repeat(32), {}, null, h.clock.now());
    h.store.alerts.addRule(AlertRuleCreate.parse({ name: 'offline', metric: 'devices_offline', threshold: 1 }), { actor: 't', at: h.clock.now() });
    alerts.evaluate();
    alerts.evaluate(); // still firing: no second event
    const [firing] = h.store.alerts.alerts({ state: 'firing' });
    h.store.db.transaction(() => h.store.alerts.ack(firing!.id, { actor: 'alice', at: h.clock.now(), reason: 'on it' }))();
    await Promise.resolve(); // announced once committed
    h.store.devices.markSeen('d-1', true, h.clock.now());
    alerts.evaluate();
    const evs = got.filter((e) => e.type === 'alert').map((e) => e.data as { event: string; alert: { state: string; rule: string; value: number } });
    assert.deepEqual(evs.map((e) => [e.event, e.alert.state, e.alert.rule, e.alert.value]), [['fired', 'firing', 'offline', 1], ['acknowledged', 'firing', 'offline', 1], ['resolved', 'resolved', 'offline', 0]]);
    off();
    h.store.devices.markSeen('d-1', false, h.clock.now());
    alerts.evaluate();
    assert.equal(got.filter((e) => e.type === 'alert').length, 3, 'nothing after disconnecting the sources');
  } finally {
    h.close();
  }
});

test('event sources: a rollout written in a transaction is published once as `rollout`, with its wave and state', async () => {
  const h = makeHarness();
  try {
    const bus = new EventBus();
    const got: StreamEvent[] = [];
    bus.subscribe((e) => got.push(e));
    const noop = () => () => true;
    const off = connectEventSources({ bus, clock: h.clock, fleet: { on: noop, onConnect: noop, onDisconnect: noop } as never, audit: h.store.audit, deployments: h.store.deployments, rollouts: h.store.rollouts });
    const at = h.clock.now().toISOString();
    const r = {
      id: 'ro-0123456789', model: 'm', version: '2.0.0', fromVersion: '1.0.0', target: { all: true as const }, waves: [{ name: 'canary', percent: 100, bakeSec: 1 }],
      gates: GateConfig.parse({}), advance: 'auto' as const, onFailure: 'rollback' as const, state: 'running' as const, currentWave: 0,
      progress: [{ state: 'pending' as const, startedAt: null, bakeUntil: null, evaluatingSince: null, gates: [] }], deploymentId: null,
      reason: 'r', stateReason: null, createdBy: 't', createdAt: at, updatedAt: at, window: null,
    };
    h.store.db.transaction(() => {
      h.store.rollouts.create(r);
      r.progress[0]!.state = 'baking' as never;
      h.store.rollouts.save(r);
    })();
    await new Promise((res) => setImmediate(res));
    const evs = got.filter((e) => e.type === 'rollout').map((e) => e.data as { id: string; wave: string; waveState: string; state: string });
    assert.deepEqual(evs.map((e) => [e.id, e.state, e.wave, e.waveState]), [['ro-0123456789', 'running', 'canary', 'baking']]);
    off();
    h.store.rollouts.save(r);
    await new Promise((res) => setImmediate(res));
    assert.equal(got.filter((e) => e.type === 'rollout').length, 1, 'nothing after disconnecting the sources');
  } finally {
    h.close();
  }
});
