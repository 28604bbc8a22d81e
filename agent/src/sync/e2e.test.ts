// The agent's hub link end to end, with real processes on 127.0.0.1 port 0: a real `edgefleet-hub run`
// (embedded broker) and two `edgefleet-agent run` daemons enrolled with `edgefleet-agent enroll`.
// Deploy v1 to all -> both serve it and the deployment shows them active; predictions flow as summary
// windows through the outbox into the hub, whose totals equal the devices' own summaries exactly;
// v2 to one device -> it switches and reports it. Then, over a bare aedes broker (the hub never
// publishes bad documents), crafted desired documents are refused with the reason in the reported
// state while the device keeps serving. The admin commands (enroll, status, summaries) run in this
// process (main(), examples/src/testkit/in-process.ts: a process start costs ~0.4 s of CPU, and the
// outbox is polled through them); the hub and the daemons are processes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { pino } from 'pino';
import {
  CREDENTIALS_SCHEMA, DESIRED_SCHEMA, TRUST_TOPIC, createTrustBody, deviceTopic, generateKeyPair, sha256File, signEnvelope, windowTotals, withDeadline,
  type DesiredBody, type KeyPair, type ReportedState, type SummaryWindow,
} from '@edgefleet/shared';
import { makeFixture, runInProcess, startProcess, waitFor, type Fixture, type RunningProcess } from '@edgefleet/examples';
import { createAgent, type Agent } from '../agent.js';
import { main } from '../cli/main.js';
import { testConfig, req } from '../testing.js';

const CLI = 'agent/src/cli/main.ts';
/** `edgefleet-agent ARGS` in this process. */
const agentCli = (args: readonly string[]) => runInProcess(main, args);
const MODEL = 'vibration-anomaly';

// The testkit's waitFor, at this file's pace (processes and HTTP: 250 ms, 90 s).
function poll<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 90_000): Promise<T> {
  return waitFor(what, fn, { timeoutMs, intervalMs: 250 });
}
/** Every other await of this file on an agent, the broker or an MQTT client ends at a deadline naming it. */
const bounded = <T>(what: string, work: Promise<T>, ms = 30_000): Promise<T> => withDeadline(work, ms, what);

/** `rows` feature rows for the example model (deterministic values in a plausible range). */
function inferBody(fx: Fixture, rows: number, seed: number) {
  const input = fx.bundles.v1.manifest.io.inputs[0]!;
  const width = input.shape[1]!;
  const data: number[] = [];
  for (let i = 0; i < rows * width; i++) data.push(Math.round(Math.sin(seed * 131 + i * 7.3) * 300) / 100);
  return { inputs: [{ name: input.name, datatype: input.datatype, shape: [rows, width], data }] };
}

describe('agent <-> hub sync (real processes)', () => {
  let dir: string;
  let fx: Fixture;
  const procs: RunningProcess[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-sync-e2e-'));
    fx = await makeFixture(join(dir, 'fx'));
  });
  after(async () => {
    for (const p of procs.reverse()) await p.stop('SIGTERM', 20_000);
    rmSync(dir, { recursive: true, force: true });
  });

  it('deploys v1 to all and v2 to one; hub totals equal the devices\' summaries exactly', async () => {
    const hubData = join(dir, 'hub');
    const hub = startProcess('hub/src/server/main.ts', [
      'run', '--data-dir', hubData, '--http-port', '0', '--mqtt-port', '0', '--trust', fx.trustPath, '--hub-key', fx.keys.files.hub.keyPath, '--log-level', 'info',
    ]);
    procs.push(hub);
    const ready = JSON.parse(await hub.waitForLine(/"msg":"hub ready"/, 60_000)) as { http: string; mqtt: string };
    const admin = readFileSync(join(hubData, 'admin.token'), 'utf8').trim();
    const api = async (method: string, path: string, body?: unknown, raw?: Uint8Array) => {
      const res = await fetch(`${ready.http}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${admin}`, 'content-type': raw ? 'application/octet-stream' : 'application/json' },
        ...(raw ? { body: raw } : body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(60_000),
      });
      const text = await res.text();
      return { status: res.status, json: (text ? JSON.parse(text) : undefined) as any, text };
    };
    for (const b of [fx.v1, fx.v2]) {
      const r = await api('POST', '/models', undefined, readFileSync(b));
      assert.equal(r.status, 201, r.text);
    }
    const et = await api('POST', '/enrollment-tokens', { tags: { site: 'lab' }, maxUses: 2 });
    assert.equal(et.status, 201, et.text);

    const cfg = join(dir, 'agent.json');
    writeFileSync(cfg, JSON.stringify({ summaries: { windowSec: 2 }, sync: { blockSize: 64 * 1024, outbox: { messagesPerSec: 100 } } }));
    const ids = ['box-a', 'box-b'];
    const agents: Record<string, { data: string; url: string; p: RunningProcess }> = {};
    for (const id of ids) {
      const data = join(dir, id);
      const en = await agentCli(['enroll', '--hub', ready.http, '--token', et.json.token, '--data-dir', data, '--id', id]);
      assert.equal(en.code, 0, en.stderr);
      const p = startProcess(CLI, ['run', '--data-dir', data, '--api-port', '0', '--config', cfg]);
      procs.push(p);
      const line = JSON.parse(await p.waitForLine(/"msg":"ready"/, 60_000)) as { api: string; hub: { deviceId: string; broker: string } };
      assert.deepEqual(line.hub, { deviceId: id, broker: ready.mqtt });
      agents[id] = { data, url: line.api, p };
    }
    const st = JSON.parse((await agentCli(['status', '--json', '--data-dir', agents['box-a']!.data])).stdout) as { hub: { deviceId: string }; disk: { free: number; total: number } | null };
    assert.equal(st.hub.deviceId, 'box-a');
    const fs = statfsSync(agents['box-a']!.data);
    assert.equal(st.disk?.total, fs.blocks * fs.bsize, 'status --json says the data dir\'s disk');

    // v1 to all: both devices download it over MQTT blocks, install, serve; the hub sees them active.
    const d1 = await api('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { all: true }, reason: 'e2e: first rollout' });
    assert.equal(d1.status, 201, d1.text);
    for (const id of ids) {
      await poll(`${id} serving ${MODEL}`, async () => ((await req(agents[id]!.url, 'GET', `/v2/models/${MODEL}/ready`)).json?.ready === true ? true : undefined));
    }
    await poll('deployment 1 active on both devices', async () => {
      const d = (await api('GET', `/deployments/${d1.json.id}`)).json as { devices: Array<{ deviceId: string; status: string }> };
      return d.devices.length === 2 && d.devices.every((x) => x.status === 'active') ? d : undefined;
    });

    // Predictions (batches of rows), then wait until every window is written locally and acked by the hub.
    const sent: Record<string, number> = { 'box-a': 0, 'box-b': 0 };
    for (const [i, id] of [...ids, ...ids, 'box-a'].entries()) {
      const rows = 3 + i;
      const r = await req(agents[id]!.url, 'POST', `/v2/models/${MODEL}/infer`, inferBody(fx, rows, i));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.model_version, '1.0.0');
      sent[id]! += rows;
    }
    const local: SummaryWindow[] = [];
    for (const id of ids) {
      const windows = await poll(`${id}: windows written and acked`, async () => {
        const s = JSON.parse((await agentCli(['summaries', '--json', '--model', MODEL, '--data-dir', agents[id]!.data])).stdout) as { windows: Array<SummaryWindow & { resolution: string }> };
        const count = s.windows.reduce((n, w) => n + w.count, 0);
        if (count !== sent[id]) return undefined;
        const status = JSON.parse((await agentCli(['status', '--json', '--data-dir', agents[id]!.data])).stdout) as { outbox: { windows: number } };
        return status.outbox.windows === 0 ? s.windows : undefined;
      });
      local.push(...windows.map(({ resolution: _r, ...w }) => w));
    }
    const totals = await api('GET', `/models/${MODEL}/totals?version=1.0.0`);
    assert.equal(totals.status, 200, totals.text);
    assert.equal(totals.json.devices, 2);
    assert.equal(totals.json.count, sent['box-a']! + sent['box-b']!);
    const mine = windowTotals(local);
    assert.deepEqual(
      { count: totals.json.count, errors: totals.json.errors, latencyCount: totals.json.latencyCount, features: totals.json.features, outputs: totals.json.outputs, inputs: totals.json.inputs },
      JSON.parse(JSON.stringify(mine)),
    );
    assert.ok(Object.keys(mine.features).length > 0, 'the example model has feature summaries');
    // Every window names the clock that stamped it (this boot, no step: docs/decisions/0059-clock-marks.md), and so does the state the hub holds.
    const marks = [...new Set(local.map((w) => w.clock))];
    assert.equal(marks.length, 1, JSON.stringify(marks));
    assert.match(marks[0] ?? '', /^[0-9a-f]{8}\.0$/);
    assert.equal(((await api('GET', '/devices/box-a')).json as { reported: { clock?: string } }).reported.clock, marks[0]);
    // And so does every event the hub stored from it (its installs and activations), stamped by the same clock.
    const events = ((await api('GET', '/devices/box-a/events')).json as { events: Array<{ kind: string; clock?: string }> }).events;
    assert.ok(events.some((e) => e.kind === 'activated') && events.every((e) => e.clock === marks[0]), JSON.stringify(events));

    // v2 to one device id: it switches, the other keeps v1, and the hub shows what each runs.
    const d2 = await api('POST', '/deployments', { model: MODEL, version: '2.0.0', target: { devices: ['box-a'] }, reason: 'e2e: canary' });
    assert.equal(d2.status, 201, d2.text);
    await poll('box-a on 2.0.0', async () => {
      const r = await req(agents['box-a']!.url, 'POST', `/v2/models/${MODEL}/infer`, inferBody(fx, 1, 9));
      return r.json?.model_version === '2.0.0' ? true : undefined;
    });
    await poll('hub: box-a runs 2.0.0', async () => {
      const dev = (await api('GET', '/devices/box-a')).json as { models: Array<{ name: string; version: string }> };
      return dev.models.some((m) => m.name === MODEL && m.version === '2.0.0') ? dev : undefined;
    });
    assert.equal((await req(agents['box-b']!.url, 'POST', `/v2/models/${MODEL}/infer`, inferBody(fx, 1, 9))).json.model_version, '1.0.0');
    const dev = (await api('GET', '/devices/box-b')).json as { models: Array<{ name: string; version: string }> };
    assert.ok(dev.models.some((m) => m.name === MODEL && m.version === '1.0.0'), JSON.stringify(dev));
    // Every window acked: the hub shows each device's outbox backlog, as it reported it, at 0.
    for (const id of ids) {
      await poll(`hub: ${id} reports an empty outbox`, async () => {
        const d = (await api('GET', `/devices/${id}`)).json as { reported: { outbox?: { items: number } } | null };
        return d.reported?.outbox?.items === 0 ? true : undefined;
      });
    }

    for (const id of ids) {
      const s = await agents[id]!.p.stop('SIGTERM', 20_000);
      assert.equal(s.code, 0, `${id}: ${agents[id]!.p.output().stderr.slice(-2000)}`);
    }
    const out = agents['box-a']!.p.output();
    assert.match(out.stdout + out.stderr, /"msg":"stopped"/);
  });

  it('serves without a reachable hub, keeps windows in the outbox, and stops without waiting for it', async () => {
    const data = join(dir, 'offline');
    mkdirSync(data, { recursive: true });
    // A port nothing listens on: bind one, note it, close it.
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    writeFileSync(join(data, 'credentials.json'), JSON.stringify({ schema: CREDENTIALS_SCHEMA, deviceId: 'box-off', secret: 's'.repeat(24), brokers: [`mqtt://127.0.0.1:${port}`] }));
    writeFileSync(join(data, 'trust.json'), JSON.stringify(fx.trustDoc));
    const agent = createAgent(testConfig(data, { sync: { reconnectMs: 100 } }), { logger: pino({ level: 'silent' }), reconcileMs: 0 });
    await bounded('the offline agent\'s start', agent.start());
    try {
      assert.equal(agent.trust.get()?.signed.version, fx.trust.version, 'trust provisioned from trust.json');
      await bounded('installing v1 on the offline agent', agent.manager.install(fx.v1));
      const r = await req(agent.url, 'POST', `/v2/models/${MODEL}/infer`, inferBody(fx, 4, 2));
      assert.equal(r.status, 200, r.text);
      assert.equal(agent.sync?.isConnected(), false);
    } finally {
      await bounded('the offline agent\'s stop', agent.stop());
    }
    const st = JSON.parse((await agentCli(['status', '--json', '--data-dir', data])).stdout) as { outbox: { windows: number; events: number }; hub: { deviceId: string } };
    assert.equal(st.hub.deviceId, 'box-off');
    assert.ok(st.outbox.windows >= 1, 'the window written on stop waits in the outbox');
    assert.ok(st.outbox.events >= 1, 'the install event waits in the outbox');
  });

  describe('crafted desired documents (bare broker)', () => {
    let broker: Aedes;
    let server: Server;
    let url: string;
    let agent: Agent;
    let watcher: mqtt.MqttClient;
    const states: ReportedState[] = [];
    const id = 'box-x';
    let v1Bundle: { sha256: string; size: number };

    before(async () => {
      broker = await Aedes.createBroker();
      server = createServer(broker.handle);
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const data = join(dir, id);
      mkdirSync(data, { recursive: true });
      writeFileSync(join(data, 'credentials.json'), JSON.stringify({ schema: CREDENTIALS_SCHEMA, deviceId: id, secret: 's'.repeat(24), brokers: [url] }));
      writeFileSync(join(data, 'trust.json'), JSON.stringify(fx.trustDoc));
      watcher = await bounded('the watcher\'s connection to the bare broker', mqtt.connectAsync(url, { protocolVersion: 4, clientId: 'test-watcher' }));
      watcher.on('message', (_t, payload) => states.push(JSON.parse(payload.toString()) as ReportedState));
      await bounded('the watcher\'s subscription', watcher.subscribeAsync(deviceTopic(id, 'state'), { qos: 1 }));
      agent = createAgent(testConfig(data, { sync: { reconnectMs: 200 } }), { logger: pino({ level: 'silent' }), reconcileMs: 0 });
      await bounded('box-x\'s start', agent.start());
      await bounded('installing v1 on box-x', agent.manager.install(fx.v1));
      const h = await sha256File(fx.v1);
      v1Bundle = { sha256: h.sha256, size: h.size };
    });
    after(async () => {
      await bounded('box-x\'s stop', agent?.stop() ?? Promise.resolve());
      await bounded('the watcher\'s end', watcher?.endAsync() ?? Promise.resolve(), 5_000);
      await bounded('the bare broker\'s close', new Promise<void>((r) => broker.close(() => r())), 5_000);
      server?.close();
    });

    const doc = (over: Partial<DesiredBody>, key: KeyPair = fx.keys.hub) => {
      const now = Date.now();
      const body: DesiredBody = {
        schema: DESIRED_SCHEMA, deviceId: id, seq: 1, issued: new Date(now).toISOString(), expires: new Date(now + 86_400_000).toISOString(),
        models: [{ name: MODEL, version: '1.0.0', manifestSha256: fx.bundles.v1.manifestSha256, bundle: v1Bundle }], config: {}, ...over,
      };
      return JSON.stringify(signEnvelope(body, [key]));
    };
    const publish = (payload: string) => bounded('the broker\'s publish of a desired document', new Promise<void>((resolve, reject) => {
      broker.publish({ cmd: 'publish', topic: deviceTopic(id, 'desired'), payload: Buffer.from(payload), qos: 1, retain: true, dup: false }, (err) => (err ? reject(err) : resolve()));
    }), 10_000);
    const stillServing = async () => {
      const r = await req(agent.url, 'POST', `/v2/models/${MODEL}/infer`, inferBody(fx, 1, 1));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.model_version, '1.0.0');
    };

    it('accepts a valid document, then refuses another device\'s, a replayed, an expired and a non-hub-signed one, reporting why', async () => {
      await poll('connected', () => (agent.sync?.isConnected() ? true : undefined), 30_000);
      await publish(doc({ seq: 5 }));
      const applied = await poll('seq 5 applied', () => states.find((s) => s.lastAppliedSeq === 5 && !s.refusal));
      assert.ok(applied.capabilities.includes('backend-native'), `the reported state names the runtime's backend: ${applied.capabilities.join(', ')}`);
      const cases: Array<[string, RegExp, RegExp]> = [
        [doc({ seq: 6, deviceId: 'box-y' }), /^DOCUMENT_WRONG_DEVICE$/, /is for device "box-y", not this device "box-x"/],
        [doc({ seq: 5, issued: new Date(Date.now() - 1000).toISOString() }), /^DOCUMENT_REPLAYED$/, /seq 5 is not above the last applied seq 5/],
        [doc({ seq: 7, issued: new Date(Date.now() - 3 * 86_400_000).toISOString(), expires: new Date(Date.now() - 86_400_000).toISOString() }), /^DOCUMENT_EXPIRED$/, /seq 7 expired/],
        [doc({ seq: 8 }, fx.keys.untrusted), /^THRESHOLD_NOT_MET$/, /hub signatures: 0 of threshold 1 valid/],
      ];
      for (const [payload, code, message] of cases) {
        const before = states.length;
        await publish(payload);
        const s = await poll(`refusal ${code}`, () => states.slice(before).find((x) => x.refusal && message.test(x.refusal.message)));
        assert.match(s.refusal!.code, code);
        assert.equal(s.lastAppliedSeq, 5, 'a refused document does not move the applied seq');
        assert.equal(s.models.find((m) => m.name === MODEL)?.active, '1.0.0');
        await stillServing();
      }
      const events = agent.events.list({ kind: 'desired_refused' });
      assert.equal(events.length, 4);
      const st = JSON.parse((await agentCli(['status', '--json', '--data-dir', join(dir, id)])).stdout) as { lastAppliedSeq: number; refusal: { seq: number } };
      assert.equal(st.lastAppliedSeq, 5);
      assert.equal(st.refusal.seq, 8);
    });

    it('a refused document the broker delivers again at each reconnect is one refusal, not one event per reconnect', async () => {
      // The retained document is the refused seq 8: a box on a flapping link (or whose clock is off) gets
      // it again at every connection, which recorded an event each time, for the hub to keep for ever.
      const refusals = () => agent.events.list({ kind: 'desired_refused' }).length;
      const before = refusals();
      for (let i = 0; i < 3; i++) {
        const reports = states.length;
        (broker as unknown as { clients: Record<string, { close(): void }> }).clients[id]?.close();
        await poll('reconnected and reported', () => (states.slice(reports).some((x) => x.refusal?.seq === 8) ? true : undefined), 30_000);
      }
      assert.equal(refusals(), before, 'no new desired_refused event for the same document refused the same way');
      await stillServing();
    });

    it('applies a trust rotation on ef/v1/trust only when it chains from what it trusts', async () => {
      const publishTrust = (doc: unknown) => bounded('the broker\'s publish of a trust document', new Promise<void>((resolve, reject) => {
        broker.publish({ cmd: 'publish', topic: TRUST_TOPIC, payload: Buffer.from(JSON.stringify(doc)), qos: 1, retain: true, dup: false }, (err) => (err ? reject(err) : resolve()));
      }), 10_000);
      const expires = new Date(Date.now() + 30 * 86_400_000);
      const root2 = generateKeyPair('root', 'root2');
      const v2 = signEnvelope(createTrustBody({ version: 2, expires, root: [root2], release: [fx.keys.release], hub: [fx.keys.hub] }), [fx.keys.root, root2]);
      await publishTrust(v2);
      await poll('trust v2 applied', () => (agent.trust.get()?.signed.version === 2 ? true : undefined));
      assert.equal(agent.events.list({ kind: 'trust_rotated' }).length, 1);
      // Version 3 signed only by a brand-new root: it does not chain from v2's root key.
      const root3 = generateKeyPair('root', 'root3');
      const v3 = signEnvelope(createTrustBody({ version: 3, expires, root: [root3], release: [fx.keys.release], hub: [fx.keys.hub] }), [root3]);
      await publishTrust(v3);
      const refused = await poll('trust v3 refused', () => agent.events.list({ kind: 'trust_refused' })[0]);
      assert.match(refused.message, /trust version 3 refused/);
      assert.equal(agent.trust.get()?.signed.version, 2, 'the agent keeps the trust it had');
      // Retained: delivered again at every reconnect, and refused again, but told once.
      for (let i = 0; i < 2; i++) {
        const reports = states.length;
        (broker as unknown as { clients: Record<string, { close(): void }> }).clients[id]?.close();
        await poll('reconnected and reported', () => (states.length > reports ? true : undefined), 30_000);
      }
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(agent.events.list({ kind: 'trust_refused' }).length, 1, 'one trust_refused event for version 3');
      // Two root rotations while the box was away: version 5's roots are not version 2's, but the chain the
      // hub publishes with it (its versions before) leads there; version 3 of it has expired since.
      const [r4, r5] = [generateKeyPair('root', 'root4'), generateKeyPair('root', 'root5')];
      const past = new Date(Date.now() - 86_400_000);
      const c3 = signEnvelope(createTrustBody({ version: 3, expires: past, root: [root2], release: [fx.keys.release], hub: [fx.keys.hub] }), [root2]);
      const c4 = signEnvelope(createTrustBody({ version: 4, expires, root: [r4], release: [fx.keys.release], hub: [fx.keys.hub] }), [root2, r4]);
      const v5 = signEnvelope(createTrustBody({ version: 5, expires, root: [r5], release: [fx.keys.release], hub: [fx.keys.hub] }), [r4, r5]);
      await publishTrust(v5);
      await poll('trust v5 alone refused', () => (agent.events.list({ kind: 'trust_refused' }).some((e) => /version 5 refused/.test(e.message)) ? true : undefined));
      await publishTrust({ ...v5, chain: [v2, c3, c4] });
      await poll('trust v5 applied through the chain', () => (agent.trust.get()?.signed.version === 5 ? true : undefined));
      assert.ok(agent.events.list({ kind: 'trust_rotated' }).some((e) => /from version 2 to 5 through versions 3, 4$/.test(e.message)), JSON.stringify(agent.events.list({ kind: 'trust_rotated' }).map((e) => e.message)));
      await stillServing();
    });

    it('reports its outbox backlog in its state (nothing acks on this broker)', async () => {
      const st = await poll('a state report with a backlog', () => states.findLast((x) => (x.outbox?.items ?? 0) > 0));
      assert.ok((st.outbox?.items ?? 0) >= 1, JSON.stringify(st.outbox));
    });

    it('reports the room on its data dir\'s filesystem, as statfs reads it', async () => {
      const st = await poll('a state report with disk space', () => states.findLast((x) => x.disk !== undefined));
      const fs = statfsSync(join(dir, id));
      const disk = st.disk!;
      assert.equal(disk.total, fs.blocks * fs.bsize);
      // Other test files write and delete hundreds of MiB meanwhile (tarballs, models, databases): within
      // 1 GiB of what is free now, which a wrong unit (blocks, KiB, f_bfree) would be far from.
      assert.ok(disk.free <= disk.total && Math.abs(disk.free - fs.bavail * fs.bsize) < 2 ** 30, `${JSON.stringify(disk)} against ${fs.bavail * fs.bsize} free now`);
    });
  });
});
