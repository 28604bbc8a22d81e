// Data capture end to end (docs/decisions/0035-data-capture.md): a real hub process configured with
// the operators' capture public key (made by `edgefleet capture keygen`) and real agent processes
// serving the example model. A capture on a tag cohort takes exactly maxRows rows of the requests
// with the chosen features; `edgefleet capture fetch --key` decrypts them into JSON lines equal to
// what was sent. A device outside the cohort captures nothing; a stopped capture stops; a box with a
// small budget ends its capture as budget_full within the budget and uploads it after a restart.
// Every byte of the hub's and the agents' data dirs is scanned: the captured plaintext is in none.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datasetRows, findBytes, generateVibration } from '@edgefleet/examples';
import { startAgent, waitFor, type AgentHandle, type EnrolledAgent } from '@edgefleet/examples/fleet';
import { operator } from '../testkit/cli.js';
import { enrollAgents } from '../testkit/enroll.js';
import type { Capture, CapturedRow } from '@edgefleet/shared';
import { MODEL, fixtureAndHub, infer, withAgentDb, type HubSetup } from './helpers.js';

describe('data capture: real hub, real agents, sealed to the operators\' key', () => {
  let dir: string;
  let s: HubSetup;
  let keyPath: string;
  let devs: EnrolledAgent[];
  const agents = new Map<string, AgentHandle>();
  const rows = datasetRows(generateVibration({ rows: 60, seed: 9 }));
  const remote = () => ['--hub', s.hub.http, '--token', s.hub.adminToken];
  const capture = (id: number) => s.hub.api<Capture>('GET', `/captures/${id}`);
  const part = async (id: number, dev: string) => (await capture(id)).devices.find((d) => d.deviceId === dev);
  const local = (dev: EnrolledAgent, id: number) => withAgentDb(dev.dataDir, (db) => ({
    status: (db.prepare('SELECT status FROM captures WHERE id = ?').get(id) as { status: string } | undefined)?.status,
    held: (db.prepare('SELECT COALESCE(SUM(bytes), 0) AS n FROM capture_chunks').get() as { n: number }).n,
    chunks: (db.prepare('SELECT COUNT(*) AS n FROM capture_chunks WHERE capture_id = ?').get(id) as { n: number }).n,
  }));
  const fetchRows = async (id: number): Promise<CapturedRow[]> => {
    const r = await operator(['capture', 'fetch', String(id), '--key', keyPath, ...remote()]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as CapturedRow);
  };
  const start = async (dev: EnrolledAgent, capture: Record<string, unknown> = {}) => {
    await agents.get(dev.deviceId)?.stop();
    agents.set(dev.deviceId, await startAgent({ dataDir: dev.dataDir, config: { capture: { flushSec: 1, ...capture } } }));
    return agents.get(dev.deviceId)!;
  };
  const create = (body: Record<string, unknown>) => s.hub.api<Capture>('POST', '/captures', { model: MODEL, rate: 1, durationSec: 600, reason: 'capture e2e', ...body });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-capture-e2e-'));
    keyPath = join(dir, 'operator-capture.key');
    const kg = await operator(['capture', 'keygen', '--out', keyPath]);
    assert.equal(kg.code, 0, kg.stderr);
    s = await fixtureAndHub(dir, { config: { capture: { publicKey: kg.stdout.trim() } } });
    devs = await enrollAgents(s.hub, 3, { dataRoot: join(dir, 'agents'), id: (i) => `cap${i + 1}`, tags: (i) => ({ ring: ['cap', 'budget', 'other'][i]! }) });
    await Promise.all([start(devs[0]!), start(devs[1]!, { budgetBytes: 65_536, chunkBytes: 4096, uploadsPerSec: 0.01 }), start(devs[2]!)]);
    await s.hub.api('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { all: true }, reason: 'capture e2e' });
    for (const a of agents.values()) await waitFor('v1 serving', async () => (await infer(a.url, rows.slice(0, 1))).json?.model_version === '1.0.0' || undefined, { timeoutMs: 90_000 });
  });
  after(async () => {
    await Promise.allSettled([...agents.values()].map((a) => a.stop()));
    await s?.hub.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('captures maxRows of the cohort\'s requests, fetches and decrypts them to the rows sent; outsiders capture nothing; no plaintext on any disk', async () => {
    const [c1, , c3] = devs as [EnrolledAgent, EnrolledAgent, EnrolledAgent];
    const a = await create({ target: { tags: { ring: 'cap' } }, maxRows: 30, features: ['rms_velocity', 'rpm'] });
    assert.deepEqual(a.devices.map((d) => d.deviceId), ['cap1']);
    await waitFor('cap1 took the capture', () => local(c1, a.id).status === 'capturing' || undefined, { timeoutMs: 30_000 });
    for (let i = 0; i < 40; i++) {
      assert.equal((await infer(agents.get('cap1')!.url, [rows[i]!])).status, 200);
      assert.equal((await infer(agents.get('cap3')!.url, [rows[i]!])).status, 200);
    }
    await waitFor('cap1 done with 30 rows at the hub', async () => {
      const p = await part(a.id, 'cap1');
      return (p?.status === 'done' && p.rows === 30) || undefined;
    }, { timeoutMs: 60_000 });
    await waitFor('cap1 holds nothing of it once acked', () => local(c1, a.id).chunks === 0 || undefined, { timeoutMs: 30_000 });

    const got = await fetchRows(a.id);
    assert.equal(got.length, 30);
    const features = [0, 5]; // rms_velocity, rpm
    got.forEach((r, i) => {
      assert.equal(r.device, 'cap1');
      assert.equal(r.model, MODEL);
      assert.equal(r.version, '1.0.0');
      assert.deepEqual(Object.keys(r.inputs), ['rms_velocity', 'rpm']);
      assert.deepEqual([r.inputs['rms_velocity'], r.inputs['rpm']], features.map((f) => [Math.fround(rows[i]![f]!)]), `row ${i}`);
      assert.ok(Object.keys(r.outputs).length > 0);
      assert.ok(Math.abs(Date.parse(r.time) - Date.now()) < 600_000);
    });

    // The device outside the cohort served the same traffic and captured nothing.
    assert.deepEqual(withAgentDb(c3.dataDir, (db) => db.prepare('SELECT COUNT(*) AS n FROM captures').get()), { n: 0 });
    const audit = await s.hub.api<{ entries: Array<{ action: string }> }>('GET', '/audit');
    for (const action of ['capture.create', 'capture.upload_started', 'capture.upload_ended', 'capture.fetch']) {
      assert.ok(audit.entries.some((e) => e.action === action), `audited: ${action}`);
    }

    // The plaintext of every captured row is on no disk: neither the hub's nor any agent's.
    const lines = got.map((r) => Buffer.from(JSON.stringify(r)));
    const needles = [...lines, Buffer.from('"inputs":{"rms_velocity":[')];
    const scan = findBytes([s.hub.dataDir, ...devs.map((d) => d.dataDir)], needles);
    assert.ok(scan.files > 10, `scanned ${scan.files} files`);
    assert.deepEqual(scan.hits, []);
    // The scan can fail: the same needles are found in a file holding the fetched rows.
    writeFileSync(join(dir, 'rows.jsonl'), `${lines.join('\n')}\n`);
    assert.ok(findBytes([dir], needles).hits.length > 0);
  });

  it('a stop request stops the capture on the device', async () => {
    const [c1] = devs as [EnrolledAgent];
    const c = await create({ target: { devices: ['cap1'] }, maxRows: 1000 });
    await waitFor('cap1 took it', () => local(c1, c.id).status === 'capturing' || undefined, { timeoutMs: 30_000 });
    for (let i = 0; i < 10; i++) await infer(agents.get('cap1')!.url, [rows[i]!]);
    await waitFor('10 rows at the hub', async () => ((await part(c.id, 'cap1'))?.rows === 10) || undefined, { timeoutMs: 30_000 });
    const stopped = await s.hub.api<Capture>('DELETE', `/captures/${c.id}?reason=${encodeURIComponent('enough rows')}`);
    assert.equal(stopped.stopped?.reason, 'enough rows');
    await waitFor('cap1 reported the stop', async () => ((await part(c.id, 'cap1'))?.status === 'stopped') || undefined, { timeoutMs: 30_000 });
    assert.equal(local(c1, c.id).status, 'stopped');
    for (let i = 10; i < 30; i++) await infer(agents.get('cap1')!.url, [rows[i]!]);
    await new Promise((r) => setTimeout(r, 2500)); // two flush intervals: nothing more may arrive
    assert.equal((await part(c.id, 'cap1'))?.rows, 10);
    assert.equal(local(c1, c.id).chunks, 0);
    assert.equal((await fetchRows(c.id)).length, 10);

    // Fetched: the operator purges its chunks on the hub; the record stays, a fetch says why it is empty.
    const purged = await operator(['capture', 'purge', String(c.id), '--reason', 'fetched', ...remote()]);
    assert.equal(purged.code, 0, purged.stderr);
    assert.match(purged.stdout, new RegExp(`^capture ${c.id} purged: [1-9]\\d* bytes of sealed chunks deleted \\(10 rows were received\\)\n$`));
    const shown = await operator(['capture', 'show', String(c.id), ...remote()]);
    assert.match(shown.stdout, /\(purged\)\n[\s\S]*purged by admin at .* bytes of chunks deleted\): fetched\n/);
    const refetch = await operator(['capture', 'fetch', String(c.id), '--key', keyPath, ...remote()]);
    assert.equal(refetch.code, 1);
    assert.match(refetch.stderr, /chunks were purged at .*: nothing to fetch/);
  });

  it('a full budget ends the capture within the budget; it uploads after a restart', async () => {
    const c2 = devs[1]!;
    const c = await create({ target: { devices: ['cap2'] }, maxRows: 5000 });
    await waitFor('cap2 took it', () => local(c2, c.id).status === 'capturing' || undefined, { timeoutMs: 30_000 });
    let sent = 0;
    while (local(c2, c.id).status === 'capturing' && sent < 3000) {
      await infer(agents.get('cap2')!.url, [rows[sent % rows.length]!]);
      if (++sent % 100 === 0) await new Promise((r) => setTimeout(r, 1200)); // let a flush run
    }
    await waitFor('cap2 budget full', () => local(c2, c.id).status === 'budget_full' || undefined, { timeoutMs: 30_000 });
    const l = local(c2, c.id);
    assert.ok(l.held <= 65_536, `${l.held} bytes held; budget 65536`);
    assert.ok(l.chunks >= 2, `${l.chunks} chunks held`);
    // Restarted with a normal upload rate: everything it held reaches the hub, then the end.
    await start(c2, { uploadsPerSec: 50 });
    await waitFor('hub: cap2 budget_full', async () => ((await part(c.id, 'cap2'))?.status === 'budget_full') || undefined, { timeoutMs: 60_000 });
    await waitFor('cap2 holds nothing', () => local(c2, c.id).chunks === 0 || undefined, { timeoutMs: 30_000 });
    const p = await part(c.id, 'cap2');
    const got = await fetchRows(c.id);
    assert.equal(got.length, p!.rows);
    assert.ok(got.length > 20 && got.length < sent, `${got.length} rows of ${sent} requests`);
    assert.ok(got.every((r) => r.device === 'cap2' && Object.keys(r.inputs).length === 12));
  });

  it('refuses malformed capture requests with field-named errors', async () => {
    for (const [body, field] of [[{ rate: 1.5 }, 'rate'], [{ maxRows: -1 }, 'maxRows'], [{ target: { devices: [] } }, 'target'], [{ features: ['nope'] }, 'features']] as const) {
      await assert.rejects(create({ target: { all: true }, maxRows: 1, ...body }), (e: Error) => e.message.includes(field), field);
    }
  });
});
