// What a daemon that runs for months repeats, done many times in one process with real parts: model
// swaps back and forth (real ORT sessions on real bundles), hub link drops (a real aedes on
// 127.0.0.1 port 0) and remote configuration changes taken live. After each series, open file
// descriptors (/proc/self/fd), handles, process and client listeners and live sessions must be back
// within a small bound of where they were after the first few rounds: a leak of one per round would
// show as 30 to 50 more.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import { settingsHash } from '@edgefleet/shared';
import { waitFor } from '@edgefleet/examples';
import type { Agent } from './agent.js';
import { agentOnBroker, makeKit, mlpBundle, req, row, startAgent, testConfig } from './testing.js';

/** Everything that would grow if a round leaked: fds, handles, process listeners. */
function resources() {
  const listeners = ['exit', 'uncaughtException', 'unhandledRejection', 'warning', 'SIGTERM', 'SIGINT'].reduce((n, e) => n + process.listenerCount(e), 0);
  return { fds: readdirSync('/proc/self/fd').length, handles: process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length, listeners };
}

function assertBounded(what: string, before: ReturnType<typeof resources>, after: ReturnType<typeof resources>, rounds: number): void {
  // A few of slack for what happens to be in flight (a pooled fetch connection, a timer); a leak per round is `rounds`.
  const slack = 4;
  assert.ok(after.fds <= before.fds + slack, `${what}: open fds ${before.fds} -> ${after.fds} after ${rounds} rounds`);
  assert.ok(after.handles <= before.handles + slack, `${what}: active handles ${before.handles} -> ${after.handles} after ${rounds} rounds`);
  assert.equal(after.listeners, before.listeners, `${what}: process listeners ${before.listeners} -> ${after.listeners}`);
}

/** The runtime's sessions alive (active or draining), and the releases still under way (runtime/live-versions.ts). */
function sessions(agent: Agent): { live: number; draining: number } {
  const versions = (agent.runtime as unknown as { versions: { live: Map<string, unknown>; drained: Set<unknown> } }).versions;
  return { live: versions.live.size, draining: versions.drained.size };
}

test('50 swaps between two versions: sessions are released, fds and listeners stay bounded', async (t) => {
  const kit = makeKit('ef-longrun-swap-');
  const agent = await startAgent(join(kit.dir, 'data'), {}, {});
  t.after(async () => {
    await agent.stop();
    kit.cleanup();
  });
  agent.trust.put(kit.trust.doc, 1);
  await agent.manager.install((await mlpBundle(kit, '1.0.0', { seed: 1 })).path);
  await agent.manager.install((await mlpBundle(kit, '2.0.0', { seed: 2 })).path);
  const swap = async (i: number) => {
    const version = i % 2 === 0 ? '1.0.0' : '2.0.0';
    await agent.manager.activate('mlp', version);
    const r = await req(agent.url, 'POST', '/v2/models/mlp/infer', row([i, 1, 2, 3]));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.model_version, version);
  };
  for (let i = 0; i < 4; i++) await swap(i);
  await agent.manager.settled();
  await waitFor('the old sessions released', () => sessions(agent).draining === 0);
  const before = resources();
  const ROUNDS = 50;
  for (let i = 0; i < ROUNDS; i++) await swap(i);
  await agent.manager.settled();
  const s = await waitFor('the old sessions released', () => {
    const n = sessions(agent);
    return n.draining === 0 ? n : undefined;
  });
  assert.deepEqual(s, { live: 1, draining: 0 }, 'one session alive: the active version');
  assertBounded('swaps', before, resources(), ROUNDS);
  assert.deepEqual(agent.models.listVersions('mlp').map((v) => v.version).sort(), ['1.0.0', '2.0.0']);
});

async function listen(broker: Aedes, sockets: Set<Socket>): Promise<Server> {
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    broker.handle(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

/**
 * An agent enrolled as `deviceId` with a local aedes broker for its hub, serving the MLP 1.0.0; torn down
 * after the test. `sockets` holds the broker's connections (to cut them).
 */
async function enrolledAgent(t: TestContext, prefix: string, deviceId: string, overrides: Parameters<typeof testConfig>[1] = {}) {
  const kit = makeKit(prefix);
  const broker = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server = await listen(broker, sockets);
  const agent = agentOnBroker(t, { kit, deviceId, url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`, broker, server, over: overrides });
  await agent.start();
  await agent.manager.install((await mlpBundle(kit, '1.0.0')).path);
  return { agent, broker, sockets };
}

test('30 hub link drops: the MQTT client, timers, fds and listeners do not pile up', async (t) => {
  // Each link is cut as soon as it is up, a connection too short to count (agent/src/sync/reconnect.ts):
  // the waits double up to 30 × reconnectMs. At 50 ms that was 1.5 s a round (44 s for the test); at
  // 5 ms, 150 ms. The rounds, and what is counted after them, are the same.
  const { agent, broker, sockets } = await enrolledAgent(t, 'ef-longrun-link-', 'box-long', { sync: { reconnectMs: 5 } });
  let connects = 0;
  broker.on('client', () => connects++);
  const sync = agent.sync!;
  const client = () => (sync as unknown as { client: NodeJS.EventEmitter }).client;
  const clientListeners = () => client().eventNames().reduce((n, e) => n + client().listenerCount(e), 0);
  const drop = async () => {
    const seen = connects;
    for (const s of sockets) s.destroy();
    await waitFor('the link back up', () => connects > seen && sync.isConnected(), { timeoutMs: 20_000, intervalMs: 10 });
    // A window and an event sent while up; the outbox drains (acks are the hub's: none here, they stay queued).
    agent.events.add({ kind: 'error', message: `round ${seen}` });
    sync.outboxChanged();
  };
  await waitFor('the link up', () => sync.isConnected(), { timeoutMs: 20_000 });
  for (let i = 0; i < 3; i++) await drop();
  const before = { ...resources(), client: clientListeners() };
  const ROUNDS = 30;
  for (let i = 0; i < ROUNDS; i++) await drop();
  const after = { ...resources(), client: clientListeners() };
  assertBounded('link drops', before, after, ROUNDS);
  assert.equal(after.client, before.client, `listeners on the MQTT client ${before.client} -> ${after.client}`);
  const inFlight = (sync.outbox as unknown as { inFlight: Map<number, number> }).inFlight.size;
  assert.ok(inFlight <= sync.outbox.pending(), `in-flight outbox entries (${inFlight}) are at most those queued`);
});

test('200 remote configuration changes applied live: timers, fds and listeners do not pile up', async (t) => {
  const { agent } = await enrolledAgent(t, 'ef-longrun-config-', 'box-config');
  let version = 0;
  // Every setting the agent takes live, changed each round (docs/agent.md "Remote configuration").
  const change = async (i: number) => {
    const settings = {
      'summaries.windowSec': 60 * (1 + (i % 2)), 'summaries.checkpointSec': 1 + (i % 4), 'summaries.budgetBytes': 8_000_000 + i,
      'concurrency.perModel': 1 + (i % 3), 'sync.outbox.batchSize': 10 + (i % 5), 'log.level': i % 2 ? 'warn' : 'error',
    };
    agent.remoteConfig!.apply({ sha256: settingsHash(settings), sources: [{ scope: 'fleet', version: ++version }], settings });
    assert.equal(agent.remoteConfig!.report()?.status, 'applied', JSON.stringify(agent.remoteConfig!.report()));
    const r = await req(agent.url, 'POST', '/v2/models/mlp/infer', row([i, 1, 2, 3]));
    assert.equal(r.status, 200, r.text);
  };
  for (let i = 0; i < 10; i++) await change(i);
  const before = resources();
  const ROUNDS = 200;
  for (let i = 0; i < ROUNDS; i++) await change(i);
  assertBounded('configuration changes', before, resources(), ROUNDS);
});
