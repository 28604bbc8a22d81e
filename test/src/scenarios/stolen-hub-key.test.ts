// Scenario (issue 16 item 1): recovering from a stolen hub key, with real processes. A thief holding
// the hub key pushes one document with seq 2^52 to a device (delivered the way the embedded broker
// delivers documents, then removed from the hub's store: the hub never numbered it). The device
// accepts and applies it, and from then on refuses the hub's ordinary documents as replayed. The
// operator follows docs/operations.md: a new hub key (`edgefleet keys generate`), a trust rotation
// that replaces the hub key (`edgefleet trust rotate --hub`), the hub restarted with both. The device
// applies the rotation, the hub's next ordinary document is accepted and applied, and a document the
// old key signs is refused whatever its seq.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { datasetRows, generateVibration, runCli } from '@edgefleet/examples';
import { hubEvents, startAgent, startHub, waitFor, type AgentHandle, type EnrolledAgent } from '@edgefleet/examples/fleet';
import { enrollAgents } from '../testkit/enroll.js';
import { DESIRED_SCHEMA, signEnvelope, type DesiredBody } from '@edgefleet/shared';
import { startFlakyProxy, type FlakyProxy } from '../faults/flaky-proxy.js';
import { MODEL, fixtureAndHub, infer, sha256Hex, type HubSetup } from './helpers.js';

const HUB_CLI = 'hub/src/cli/main.ts';
const AGENT_CLI = 'agent/src/cli/main.ts';
const STOLEN_SEQ = 2 ** 52;

describe('a stolen hub key', () => {
  let dir: string;
  let s: HubSetup;
  let dev: EnrolledAgent;
  let proxy: FlakyProxy;
  let agent: AgentHandle | undefined;
  const rows = datasetRows(generateVibration({ rows: 2, seed: 4 }));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-stolen-'));
    s = await fixtureAndHub(dir);
    [dev] = await enrollAgents(s.hub, 1, { dataRoot: join(dir, 'agents'), id: () => 'stolen-1' }) as [EnrolledAgent];
    proxy = await startFlakyProxy({ targetPort: Number(new URL(s.hub.mqtt).port), seed: 7 });
  });
  after(async () => {
    await agent?.stop();
    await proxy?.close();
    await s?.hub.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const version = async () => (await infer(agent!.url, rows.slice(0, 1))).json?.model_version as string | undefined;
  const status = async () => JSON.parse((await runCli(AGENT_CLI, ['status', '--json', '--data-dir', dev.dataDir])).stdout) as {
    lastAppliedSeq: number; trustVersion: number; refusal: { code: string; seq: number; message: string } | null;
  };
  const refusalOf = (seq: number) => waitFor(`agent: refusal of seq ${seq}`, async () => {
    const st = await status();
    return st.refusal?.seq === seq ? st.refusal : undefined;
  }, { timeoutMs: 60_000 });
  const hubDb = () => {
    const db = new Database(join(s.hub.dataDir, 'hub.db'));
    db.pragma('busy_timeout = 5000');
    return db;
  };
  /** What the box and the hub show now: the box's status and what it serves, the hub's documents for it, both programs' last lines. */
  const snapshot = async () => {
    const tail = (o: { stdout: string; stderr: string } | undefined, n: number) => `${o?.stdout ?? ''}${o?.stderr ?? ''}`.trimEnd().split('\n').slice(-n).join('\n');
    const db = hubDb();
    let rows: unknown;
    try {
      rows = db.prepare('SELECT seq, length(document) AS bytes, issued_at FROM desired_documents WHERE device_id = ? ORDER BY seq').all(dev.deviceId);
    } finally {
      db.close();
    }
    const st = await runCli(AGENT_CLI, ['status', '--json', '--data-dir', dev.dataDir]).then((r) => r.stdout, (e: unknown) => String(e));
    return [`agent status: ${st.trim()}`, `agent serves: ${await version().catch((e: unknown) => String(e))}`, `hub documents: ${JSON.stringify(rows)}`,
      `agent output:\n${tail(agent?.process.output(), 30)}`, `hub output:\n${tail(s.hub.process.output(), 20)}`].join('\n');
  };
  /** What a thief with the hub key and broker access does: the device gets `doc`; the hub's store never keeps it. */
  const steal = async (doc: unknown, seenBy: () => Promise<boolean>) => {
    const db = hubDb();
    let row: number | bigint;
    try {
      const top = (db.prepare('SELECT MAX(seq) AS s FROM desired_documents WHERE device_id = ?').get(dev.deviceId) as { s: number }).s;
      row = db.prepare('INSERT INTO desired_documents (device_id, seq, document, issued_at, expires_at) VALUES (?, ?, ?, ?, ?)')
        .run(dev.deviceId, top + 1, JSON.stringify(doc), new Date().toISOString(), new Date(Date.now() + 86_400_000).toISOString()).lastInsertRowid;
    } finally {
      db.close();
    }
    proxy.cutAll();
    // Timed out once in CI with nothing to say why (2026-12-07): what each side shows then goes with the failure.
    await waitFor('the device saw the stolen-key document', async () => ((await seenBy()) ? true : undefined), { timeoutMs: 90_000, explain: snapshot });
    const db2 = hubDb();
    try {
      db2.prepare('DELETE FROM desired_documents WHERE rowid = ?').run(row);
    } finally {
      db2.close();
    }
  };
  const stolenDoc = (seq: number, version: '1.0.0' | '2.0.0') => {
    const now = Date.now();
    const b = version === '2.0.0' ? s.fx.bundles.v2 : s.fx.bundles.v1;
    const body: DesiredBody = {
      schema: DESIRED_SCHEMA, deviceId: dev.deviceId, seq, issued: new Date(now).toISOString(), expires: new Date(now + 86_400_000).toISOString(),
      models: [{ name: MODEL, version, manifestSha256: b.manifestSha256, bundle: { sha256: sha256Hex(version === '2.0.0' ? s.fx.v2 : s.fx.v1), size: b.size } }],
      config: {},
    };
    return signEnvelope(body, [s.fx.keys.hub]);
  };

  it('a rotation that replaces the hub key starts a new seq space; the old key is refused whatever its seq', async () => {
    agent = await startAgent({ dataDir: dev.dataDir, config: { sync: { brokerUrl: `mqtt://127.0.0.1:${proxy.port}`, reconnectMs: 300 } } });
    await s.hub.api('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { devices: [dev.deviceId] }, reason: 'stolen: baseline' });
    await waitFor('v1 serving', async () => ((await version()) === '1.0.0' ? true : undefined), { timeoutMs: 90_000 });

    // The thief's document (seq 2^52, version 2.0.0) is accepted and applied.
    // Seen once it serves 2.0.0: the hub serves the blocks of a version its documents name, so the row
    // deleted while the box still downloads left it without them (timed out once under load).
    await steal(stolenDoc(STOLEN_SEQ, '2.0.0'), async () => (await status()).lastAppliedSeq === STOLEN_SEQ && (await version()) === '2.0.0');
    await waitFor('the stolen-key document applied', async () => ((await version()) === '2.0.0' ? true : undefined), { timeoutMs: 90_000 });

    // The lock-out: the hub's next ordinary document is refused as replayed.
    const d1 = await s.hub.api<{ id: number }>('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { devices: [dev.deviceId] }, reason: 'stolen: back to 1.0.0' });
    const locked = await waitFor('agent: the hub\'s document refused as replayed', async () => {
      const st = await status();
      return st.refusal?.code === 'DOCUMENT_REPLAYED' ? st.refusal : undefined;
    }, { timeoutMs: 60_000 });
    assert.match(locked.message, new RegExp(`is not above the last applied seq ${STOLEN_SEQ}`));
    assert.equal(await version(), '2.0.0');

    // The procedure of docs/operations.md: new hub key, rotation replacing it, hub restarted with both.
    const keysDir = join(dir, 'newkeys');
    const gen = await runCli(HUB_CLI, ['keys', 'generate', '--role', 'hub', '--out', keysDir, '--name', 'hub2']);
    assert.equal(gen.code, 0, gen.stderr);
    const trust2 = join(dir, 'trust-2.json');
    const rot = await runCli(HUB_CLI, ['trust', 'rotate', '--from', s.fx.trustPath, '--hub', join(keysDir, 'hub2.pub'), '--sign', s.fx.keys.files.root.keyPath, '--out', trust2]);
    assert.equal(rot.code, 0, rot.stderr);
    const ports = { httpPort: Number(new URL(s.hub.http).port), mqttPort: Number(new URL(s.hub.mqtt).port) };
    await s.hub.stop();
    s.hub = await startHub({ dataDir: s.hub.dataDir, trustPath: trust2, hubKeyPath: join(keysDir, 'hub2.key'), ...ports });
    await waitFor('agent: trust version 2 applied', async () => ((await status()).trustVersion === 2 ? true : undefined), { timeoutMs: 90_000 });
    // The agent's event of it reaches the hub through its outbox, a moment after the agent applied it.
    const rotated = await waitFor('the trust_rotated event on the hub', async () => (await hubEvents(s.hub.api, dev.deviceId)).find((e) => e.kind === 'trust_rotated'), { timeoutMs: 30_000 });
    assert.match(rotated.message, /the hub keys changed/);

    // The hub's next ordinary document (its own numbering, signed by the new key) is accepted and applied.
    const d2 = await s.hub.api<{ id: number }>('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { devices: [dev.deviceId] }, reason: 'stolen: after rotation' });
    assert.ok(d2.id > d1.id);
    await waitFor('1.0.0 serving again after the rotation', async () => ((await version()) === '1.0.0' ? true : undefined), { timeoutMs: 90_000 });
    const applied = (await status()).lastAppliedSeq;
    assert.ok(applied > 0 && applied < 1000, `the hub's own numbering applies: ${applied}`);

    // The stolen key is refused whatever its seq.
    await steal(stolenDoc(STOLEN_SEQ + 1, '2.0.0'), async () => (await status()).refusal?.seq === STOLEN_SEQ + 1);
    const r = await refusalOf(STOLEN_SEQ + 1);
    assert.equal(r.code, 'THRESHOLD_NOT_MET', r.message);
    assert.equal((await status()).lastAppliedSeq, applied);
    assert.equal(await version(), '1.0.0');
  });
});
