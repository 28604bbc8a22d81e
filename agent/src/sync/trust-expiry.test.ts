// A box restarted 400 days later (issue 16 item 2), with an injected agent clock and a bare aedes
// broker standing in for the hub: it starts and serves with its expired trust; installs and desired
// documents are refused as TRUST_EXPIRED and the reported state says the trust expired; a trust
// rotation delivered on ef/v1/trust resumes both (the refused document is taken again). And boxes that
// refused a document by a wrong clock (booted in 2000 before NTP, two days ahead) take it once the clock is
// set, without a reconnect, the refusal naming the clock and what to do (docs/operations.md "Clocks that
// are wrong").
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import {
  CREDENTIALS_SCHEMA, DESIRED_SCHEMA, TRUST_TOPIC, createTrustBody, deviceTopic, sha256File, signEnvelope, verifyTrustRotation,
  type DesiredBody, type ReportedState,
} from '@edgefleet/shared';
import type { BundleResult } from '@edgefleet/examples';
import { makeKit, mlpBundle, req, row, startAgent, type Kit } from '../testing.js';
import type { Agent } from '../agent.js';
import { SKEW_MS, trustExpired } from '../trust-current.js';

const DAY = 86_400_000;

async function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a box restarted 400 days later, boxes whose clock is set after they refused a document', () => {
  let kit: Kit;
  let broker: Aedes;
  let server: Server;
  let url: string;
  let watcher: mqtt.MqttClient;
  let agent: Agent | undefined;
  let v1: BundleResult;
  let v2: BundleResult;
  const states: ReportedState[] = [];
  const id = 'box-late';
  const t0 = Date.now();
  let now = t0;
  const clock = { now: () => now };

  before(async () => {
    kit = makeKit('ef-trust-expiry-');
    v1 = await mlpBundle(kit, '1.0.0');
    v2 = await mlpBundle(kit, '2.0.0', { seed: 2 });
    broker = await Aedes.createBroker();
    server = createServer(broker.handle);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
    watcher = await mqtt.connectAsync(url, { protocolVersion: 4, clientId: 'watcher' });
    watcher.on('message', (_t, p) => states.push(JSON.parse(p.toString()) as ReportedState));
    await watcher.subscribeAsync([id, 'box-2000', 'box-ahead'].map((d) => deviceTopic(d, 'state')), { qos: 1 });
  });
  after(async () => {
    await agent?.stop();
    await watcher?.endAsync();
    await new Promise<void>((r) => broker.close(() => r()));
    server?.close();
    kit?.cleanup();
  });

  const publish = (topic: string, payload: unknown) => new Promise<void>((resolve, reject) => {
    broker.publish({ cmd: 'publish', topic, payload: Buffer.from(JSON.stringify(payload)), qos: 1, retain: true, dup: false }, (err) => (err ? reject(err) : resolve()));
  });

  it('the expiry check has the same skew allowance as desired documents', () => {
    const exp = Date.parse(kit.trust.body.expires);
    assert.equal(trustExpired(kit.trust.body, new Date(exp + SKEW_MS - 1000)), false);
    assert.equal(trustExpired(kit.trust.body, new Date(exp + SKEW_MS + 1000)), true);
  });

  it('serves with expired trust, refuses installs and documents and reports it; fresh trust resumes them', async () => {
    const data = join(kit.dir, id);
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, 'credentials.json'), JSON.stringify({ schema: CREDENTIALS_SCHEMA, deviceId: id, secret: 's'.repeat(24), brokers: [url] }));
    writeFileSync(join(data, 'trust.json'), JSON.stringify(kit.trust.doc));
    agent = await startAgent(data, { sync: { reconnectMs: 200 } }, { clock });
    await agent.manager.install(v1.path);
    await agent.stop();

    // 400 days later (the trust expired after 365).
    now = t0 + 400 * DAY;
    agent = await startAgent(data, { sync: { reconnectMs: 200 } }, { clock });
    const served = await req(agent.url, 'POST', '/v2/models/mlp/infer', row([1, 2, 3, 4]));
    assert.equal(served.status, 200, served.text);
    assert.equal(served.json.model_version, '1.0.0');
    const st = await until('state reporting expired trust', () => states.find((s) => s.trust?.expired === true));
    assert.equal(st.trust?.expires, kit.trust.body.expires);

    await assert.rejects(agent.manager.install(v2.path), (e: Error & { code?: string }) => e.code === 'TRUST_EXPIRED' && /installing mlp@2\.0\.0 refused: trust document version 1 expired at/.test(e.message));
    assert.equal(agent.events.list({ kind: 'install_failed' }).at(-1)?.code, 'TRUST_EXPIRED');

    const h1 = await sha256File(v1.path);
    const body: DesiredBody = {
      schema: DESIRED_SCHEMA, deviceId: id, seq: 1, issued: new Date(now).toISOString(), expires: new Date(now + DAY).toISOString(),
      models: [{ name: 'mlp', version: '1.0.0', manifestSha256: v1.manifestSha256, bundle: { sha256: h1.sha256, size: h1.size } }], config: {},
    };
    const before = states.length;
    await publish(deviceTopic(id, 'desired'), signEnvelope(body, [kit.keys.hub]));
    const refused = await until('desired document refused', () => states.slice(before).find((s) => s.refusal?.seq === 1));
    assert.equal(refused.refusal?.code, 'TRUST_EXPIRED');
    assert.equal(refused.lastAppliedSeq, 0);

    // Fresh trust from the hub: version 2, same keys, chained by the root key.
    const fresh = signEnvelope(createTrustBody({ version: 2, expires: new Date(now + 365 * DAY), root: [kit.keys.root], release: [kit.keys.release], hub: [kit.keys.hub] }), [kit.keys.root]);
    verifyTrustRotation(kit.trust.body, fresh, { now: new Date(now) });
    await publish(TRUST_TOPIC, fresh);
    const resumed = await until('the refused document applied under fresh trust', () => states.find((s) => s.trustVersion === 2 && s.lastAppliedSeq === 1 && s.trust?.expired === false));
    assert.equal(resumed.models.find((m) => m.name === 'mlp')?.active, '1.0.0');
    const r = await agent.manager.install(v2.path);
    assert.equal(r.active?.active, '2.0.0');
  });

  async function boxAt(id: string, at: number): Promise<void> {
    await agent?.stop();
    const data = join(kit.dir, id);
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, 'credentials.json'), JSON.stringify({ schema: CREDENTIALS_SCHEMA, deviceId: id, secret: 's'.repeat(24), brokers: [url] }));
    writeFileSync(join(data, 'trust.json'), JSON.stringify(kit.trust.doc));
    now = at;
    agent = await startAgent(data, { sync: { reconnectMs: 200 } }, { clock, deferCheckMs: 100 });
    await agent.manager.install(v1.path); // the bare broker serves no bundles: the document names what the box holds
  }

  async function document(id: string, expiresInMs = DAY): Promise<unknown> {
    const h1 = await sha256File(v1.path);
    const body: DesiredBody = {
      schema: DESIRED_SCHEMA, deviceId: id, seq: 1, issued: new Date(t0).toISOString(), expires: new Date(t0 + expiresInMs).toISOString(),
      models: [{ name: 'mlp', version: '1.0.0', manifestSha256: v1.manifestSha256, bundle: { sha256: h1.sha256, size: h1.size } }], config: {},
    };
    return signEnvelope(body, [kit.keys.hub]);
  }

  it('a clock in 2000: refused naming the clock, taken once NTP sets it', async () => {
    const id = 'box-2000';
    await boxAt(id, Date.parse('2000-01-01T00:00:00Z'));
    await publish(deviceTopic(id, 'desired'), await document(id));
    const refused = await until('the document refused', () => states.find((s) => s.deviceId === id && s.refusal?.seq === 1));
    assert.equal(refused.refusal?.code, 'DOCUMENT_EXPIRED');
    assert.match(refused.refusal?.message ?? '', /this box's clock reads 2000-01-01T.*, \d+ days behind the hub that issued it .*set it \(NTP\); the document is taken again once the clock agrees/);
    assert.equal(agent!.events.list({ kind: 'desired_refused' }).length, 1);

    now = t0; // NTP steps the clock; no reconnect, no new document
    const applied = await until('the document taken after the step', () => states.find((s) => s.deviceId === id && s.lastAppliedSeq === 1));
    assert.equal(applied.models.find((m) => m.name === 'mlp')?.active, '1.0.0');
    assert.equal(agent!.events.list({ kind: 'desired_refused' }).length, 1, 'refused once, not once per look');
  });

  it('a clock two days ahead: the document reads expired until the clock is set back', async () => {
    const id = 'box-ahead';
    await boxAt(id, t0 + 2 * DAY);
    await publish(deviceTopic(id, 'desired'), await document(id, DAY));
    const refused = await until('the document refused', () => states.find((s) => s.deviceId === id && s.refusal?.seq === 1));
    assert.equal(refused.refusal?.code, 'DOCUMENT_EXPIRED');
    assert.match(refused.refusal?.message ?? '', /expired at .* \(this box's clock reads .*\): if the clock is wrong, set it \(NTP\)/);

    now = t0 + 60_000;
    await until('the document taken after the clock was set back', () => states.find((s) => s.deviceId === id && s.lastAppliedSeq === 1));
  });
});
