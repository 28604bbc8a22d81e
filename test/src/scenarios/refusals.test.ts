// Fault test (issue 5): what the agent must refuse, through a real hub process. A tampered block
// (the hub's stored bundle file has bytes flipped in one block after the push) fails the download's
// sha256 check: install_failed HASH_MISMATCH. Crafted desired documents — a replayed older one, one
// for another device, an expired one, one signed by a non-hub key — reach the agent the way the
// embedded broker delivers documents: from the hub's store when the device (re)subscribes, so each is
// written into hub.db and the agent's link is cut (TCP proxy) to make it reconnect. Each is refused;
// the device keeps serving 1.0.0 and reports why (events at the hub, refusal in its state).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { datasetRows, generateVibration, type BundleResult } from '@edgefleet/examples';
import { hubEvents, pushBundle, startAgent, waitFor, type AgentHandle, type EnrolledAgent } from '@edgefleet/examples/fleet';
import { agentCli } from '../testkit/cli.js';
import { enrollAgents } from '../testkit/enroll.js';
import { DESIRED_SCHEMA, signEnvelope, type DesiredBody, type KeyPair } from '@edgefleet/shared';
import { startFlakyProxy, type FlakyProxy } from '../faults/flaky-proxy.js';
import { MODEL, bigBundle, fixtureAndHub, infer, sha256Hex, type HubSetup } from './helpers.js';

describe('refusals', () => {
  let dir: string;
  let s: HubSetup;
  let dev: EnrolledAgent;
  let proxy: FlakyProxy;
  let big: BundleResult;
  let agent: AgentHandle | undefined;
  const rows = datasetRows(generateVibration({ rows: 4, seed: 9 }));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-refusals-'));
    s = await fixtureAndHub(dir);
    big = await bigBundle(join(dir, 'fx', 'bundles'), s.fx.keys, '3.0.0', { hidden: 256 });
    await pushBundle(s.hub, big.path);
    [dev] = await enrollAgents(s.hub, 1, { dataRoot: join(dir, 'agents'), id: () => 'refuse-1' }) as [EnrolledAgent];
    proxy = await startFlakyProxy({ targetPort: Number(new URL(s.hub.mqtt).port), seed: 5 });
  });
  after(async () => {
    await agent?.stop();
    await proxy?.close();
    await s?.hub.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const serving = async (version: string) => {
    const r = await infer(agent!.url, rows.slice(0, 1));
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.model_version, version);
  };
  const storedEvents = () => hubEvents(s.hub.api, dev.deviceId);
  const hubDb = () => {
    const db = new Database(join(s.hub.dataDir, 'hub.db'));
    db.pragma('busy_timeout = 5000');
    return db;
  };
  /** Makes `doc` the device's current document in the hub's store and makes the device fetch it again. */
  const deliver = async (doc: unknown) => {
    const db = hubDb();
    try {
      const top = (db.prepare('SELECT MAX(seq) AS s FROM desired_documents WHERE device_id = ?').get(dev.deviceId) as { s: number }).s;
      db.prepare('INSERT INTO desired_documents (device_id, seq, document, issued_at, expires_at) VALUES (?, ?, ?, ?, ?)')
        .run(dev.deviceId, top + 1, JSON.stringify(doc), new Date().toISOString(), new Date(Date.now() + 86_400_000).toISOString());
    } finally {
      db.close();
    }
    proxy.cutAll();
  };
  const craft = (over: Partial<DesiredBody>, key: KeyPair = s.fx.keys.hub) => {
    const now = Date.now();
    const body: DesiredBody = {
      schema: DESIRED_SCHEMA, deviceId: dev.deviceId, seq: 50, issued: new Date(now).toISOString(), expires: new Date(now + 86_400_000).toISOString(),
      models: [{ name: MODEL, version: '2.0.0', manifestSha256: s.fx.bundles.v2.manifestSha256, bundle: { sha256: sha256Hex(s.fx.v2), size: s.fx.bundles.v2.size } }],
      config: {}, ...over,
    };
    return signEnvelope(body, [key]);
  };

  it('refuses a tampered block and crafted documents, keeps serving 1.0.0 and reports why', async () => {
    agent = await startAgent({ dataDir: dev.dataDir, config: { sync: { brokerUrl: `mqtt://127.0.0.1:${proxy.port}`, blockSize: 16 * 1024, reconnectMs: 300 } } });
    await s.hub.api('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { devices: [dev.deviceId] }, reason: 'refusals: baseline' });
    await waitFor('v1 serving', async () => (await infer(agent!.url, rows.slice(0, 1))).json?.model_version === '1.0.0', { timeoutMs: 90_000 });

    // Tampered block: flip bytes in the middle of the hub's stored bundle file.
    const sha = sha256Hex(big.path);
    const stored = join(s.hub.dataDir, 'blobs', 'sha256', sha.slice(0, 2), sha);
    assert.equal(readFileSync(stored).length, big.size, 'the hub stores the pushed bundle under its sha256');
    const fd = openSync(stored, 'r+');
    writeSync(fd, Buffer.from('tampered!'), 0, 9, Math.floor(big.size / 2));
    closeSync(fd);
    const d3 = await s.hub.api<{ id: number }>('POST', '/deployments', { model: MODEL, version: '3.0.0', target: { devices: [dev.deviceId] }, reason: 'refusals: tampered' });
    const failed = await waitFor('hub: deployment failed with HASH_MISMATCH', async () => {
      const d = await s.hub.api<{ devices: Array<{ deviceId: string; status: string; reason: string | null }> }>('GET', `/deployments/${d3.id}`);
      const x = d.devices.find((y) => y.deviceId === dev.deviceId);
      return x?.status === 'failed' ? x : undefined;
    }, { timeoutMs: 90_000 });
    assert.match(failed.reason ?? '', /^HASH_MISMATCH: downloaded blob has sha256/);
    const ev = (await storedEvents()).find((e) => e.kind === 'install_failed' && e.version === '3.0.0');
    assert.equal(ev?.code, 'HASH_MISMATCH');
    await serving('1.0.0');

    const status = async () => JSON.parse((await agentCli(['status', '--json', '--data-dir', dev.dataDir])).stdout) as { lastAppliedSeq: number; refusal?: { code: string; message: string; seq: number } };
    const applied = (await status()).lastAppliedSeq;
    assert.ok(applied >= 2);
    const db = hubDb();
    const first = JSON.parse((db.prepare('SELECT document FROM desired_documents WHERE device_id = ? ORDER BY seq LIMIT 1').get(dev.deviceId) as { document: string }).document) as unknown;
    db.close();

    const cases: Array<{ what: string; doc: unknown; code: RegExp; message: RegExp }> = [
      { what: 'a replayed older document', doc: first, code: /^DOCUMENT_REPLAYED$/, message: /is not above the last applied seq/ },
      { what: 'a document for another device', doc: craft({ seq: applied + 10, deviceId: 'someone-else' }), code: /^DOCUMENT_WRONG_DEVICE$/, message: /is for device "someone-else"/ },
      { what: 'an expired document', doc: craft({ seq: applied + 11, issued: new Date(Date.now() - 3 * 86_400_000).toISOString(), expires: new Date(Date.now() - 86_400_000).toISOString() }), code: /^DOCUMENT_EXPIRED$/, message: /expired at/ },
      { what: 'a document signed by a non-hub key', doc: craft({ seq: applied + 12 }, s.fx.keys.untrusted), code: /^(THRESHOLD_NOT_MET|SIGNATURE_INVALID|UNTRUSTED_KEY)$/, message: /hub/ },
    ];
    for (const c of cases) {
      const before = (await storedEvents()).filter((e) => e.kind === 'desired_refused').length;
      await deliver(c.doc);
      const e = await waitFor(`hub: desired_refused for ${c.what}`, async () => {
        const rs = (await storedEvents()).filter((x) => x.kind === 'desired_refused');
        return rs.length > before ? rs[rs.length - 1] : undefined;
      }, { timeoutMs: 60_000 });
      assert.match(e!.code ?? '', c.code, `${c.what}: ${e!.message}`);
      assert.match(e!.message, c.message);
      const st = await status();
      assert.equal(st.lastAppliedSeq, applied, `${c.what}: the applied seq does not move`);
      assert.match(st.refusal?.code ?? '', c.code, `${c.what}: the reported refusal names the reason`);
      // The hub shows it too, from the device's reported state.
      await waitFor(`hub: the device's reported refusal for ${c.what}`, async () => {
        const info = await s.hub.api<{ reported: { refusal: { code: string; seq: number } | null } | null }>('GET', `/devices/${dev.deviceId}`);
        return info.reported?.refusal && c.code.test(info.reported.refusal.code) && info.reported.refusal.seq === st.refusal?.seq ? true : undefined;
      }, { timeoutMs: 30_000 });
      await serving('1.0.0');
    }
    const devInfo = await s.hub.api<{ models: Array<{ name: string; version: string }>; reported: { disk?: { free: number; total: number } } | null }>('GET', `/devices/${dev.deviceId}`);
    assert.ok(devInfo.models.some((m) => m.name === MODEL && m.version === '1.0.0'), `hub: the device still runs 1.0.0: ${JSON.stringify(devInfo.models)}`);
    // And the room on the box's data dir, as it reported it (docs/agent.md "Disk space").
    const fs = statfsSync(dev.dataDir);
    assert.equal(devInfo.reported?.disk?.total, fs.blocks * fs.bsize, JSON.stringify(devInfo.reported));
    assert.ok(devInfo.reported!.disk!.free <= devInfo.reported!.disk!.total);
  });
});
