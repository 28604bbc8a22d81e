// Data capture on a box whose data dir is put back from a backup (docs/operations.md "Upgrades"): the
// restored agent.db numbers the capture's chunks again from where the backup stood, under seqs the hub
// already holds a different chunk for. The hub stored a (capture, device, seq) once and acked the new
// chunk as a resend: its rows were lost. The hub now tells a resend (the same sealed chunk) from a clash
// (another chunk under that seq) and the box moves a clashing chunk above the hub's highest seq
// (docs/agent.md "Data capture"). The restored rows count is behind too: the hub's `taken` ack says how
// many rows it holds, and the box counts from there, so a capture with little room left ends at its
// maxRows instead of passing it and being refused (decision 0073). Real hub and agent processes, the data
// dir copied as an operator would.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datasetRows, generateVibration } from '@edgefleet/examples';
import { startAgent, waitFor, type AgentHandle, type EnrolledAgent } from '@edgefleet/examples/fleet';
import { operator } from '../testkit/cli.js';
import { enrollAgents } from '../testkit/enroll.js';
import type { Capture, CapturedRow } from '@edgefleet/shared';
import { MODEL, fixtureAndHub, getJson, infer, withAgentDb, type HubSetup } from './helpers.js';

describe('data capture on an agent data dir restored from a backup', () => {
  let dir: string;
  let keyPath: string;
  let s: HubSetup;
  let dev: EnrolledAgent;
  let agent: AgentHandle | undefined;
  const rows = datasetRows(generateVibration({ rows: 30, seed: 21 }));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-restored-capture-'));
    keyPath = join(dir, 'operator-capture.key');
    const kg = await operator(['capture', 'keygen', '--out', keyPath]);
    assert.equal(kg.code, 0, kg.stderr);
    s = await fixtureAndHub(dir, { config: { capture: { publicKey: kg.stdout.trim() } } });
    [dev] = await enrollAgents(s.hub, 1, { dataRoot: join(dir, 'agents'), id: () => 'restored-cap' }) as [EnrolledAgent];
  });
  after(async () => {
    await agent?.stop();
    await s?.hub.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const part = async (id: number) => (await s.hub.api<Capture>('GET', `/captures/${id}`)).devices.find((d) => d.deviceId === dev.deviceId);
  const hubRows = async (id: number) => (await part(id))?.rows ?? 0;
  const held = () => withAgentDb(dev.dataDir, (db) => (db.prepare('SELECT COUNT(*) AS n FROM capture_chunks').get() as { n: number }).n);

  /** The capture's next chunk seq on the box: it moves when a flush seals the rows held (every flushSec). */
  const nextSeq = (id: number) => withAgentDb(dev.dataDir, (db) => (db.prepare('SELECT next_seq AS n FROM captures WHERE id = ?').get(id) as { n: number } | undefined)?.n ?? 0);

  /** Serves rows [from, to) one request each, in pairs, each pair sealed before the next (so they are in several chunks); stops once the hub has `want`. */
  const phase = async (id: number, from: number, to: number, want: number) => {
    agent = await startAgent({ dataDir: dev.dataDir, config: { capture: { flushSec: 1 } } });
    await waitFor('v1 served and capturing', async () => ((await getJson(`${agent!.url}/v2/models/${MODEL}/versions/1.0.0/ready`))?.json?.ready === true
      && withAgentDb(dev.dataDir, (db) => db.prepare("SELECT 1 FROM captures WHERE id = ? AND status = 'capturing'").get(id)) ? true : undefined), { timeoutMs: 90_000 });
    let sealed = nextSeq(id);
    for (let i = from; i < to; i++) {
      assert.equal((await infer(agent.url, [rows[i]!])).status, 200);
      if (i % 2 === 1) {
        const was = sealed;
        sealed = await waitFor(`rows ${i - 1} and ${i} sealed`, () => { const n = nextSeq(id); return n > was ? n : undefined; }, { timeoutMs: 10_000, intervalMs: 50 });
      }
    }
    await waitFor(`the hub holds ${want} rows`, async () => ((await hubRows(id)) >= want && held() === 0 ? true : undefined), { timeoutMs: 30_000, intervalMs: 100 }).catch(() => undefined);
    await agent.stop();
    agent = undefined;
    return hubRows(id);
  };

  it('the rows captured after the restore reach the hub, each once and intact', async () => {
    await s.hub.api('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { devices: [dev.deviceId] }, reason: 'restore test' });
    const c = await s.hub.api<Capture>('POST', '/captures', { model: MODEL, rate: 1, durationSec: 3600, maxRows: 1000, reason: 'restore test', target: { devices: [dev.deviceId] } });
    // Beside it, one with room for 6 rows after the restore: the restored box counts 10 taken, the hub holds 20.
    const small = await s.hub.api<Capture>('POST', '/captures', { model: MODEL, rate: 1, durationSec: 3600, maxRows: 26, reason: 'restore test, small', target: { devices: [dev.deviceId] } });
    assert.equal(await phase(c.id, 0, 10, 10), 10);
    const backup = join(dir, 'backup');
    cpSync(dev.dataDir, backup, { recursive: true });
    assert.equal(await phase(c.id, 10, 20, 20), 20);
    rmSync(dev.dataDir, { recursive: true, force: true });
    cpSync(backup, dev.dataDir, { recursive: true });
    assert.equal(await phase(c.id, 20, 30, 30), 30, 'every row captured after the restore is stored at the hub');
    const p = await part(small.id);
    assert.deepEqual({ status: p?.status, rows: p?.rows }, { status: 'done', rows: 26 }, `the small capture ends at its maxRows, not refused: ${p?.reason}`);

    const r = await operator(['capture', 'fetch', String(c.id), '--key', keyPath, '--hub', s.hub.http, '--token', s.hub.adminToken]);
    assert.equal(r.code, 0, r.stderr);
    const got = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as CapturedRow);
    // Each request's rms_velocity (feature 0) is told apart: every one sent is there, once.
    const sent = rows.map((row) => Math.fround(row[0]!)).sort((a, b) => a - b);
    const fetched = got.map((g) => (g.inputs['rms_velocity'] as number[])[0]!).sort((a, b) => a - b);
    assert.deepEqual(fetched, sent);
  });
});
