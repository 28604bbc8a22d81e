// A box enrolled again as a new device (`edgefleet-agent enroll --force`, docs/agent.md "CLI") takes the
// new identity's desired documents, with a real hub process, its real broker and real agent processes.
// The seq floors the box kept from the old identity refused the new id's documents, which the hub numbers
// from 1, as replayed (DOCUMENT_REPLAYED): for good when the old id's seq was not above the new id's (the
// hub reissues only above a reported seq ahead of its own), so the new identity's deployments, content
// keys and configuration never arrived and the box ran what the old one was sent.
// What the old identity queued and had not sent is dropped, counted (decision 0112's addendum): before, it
// was uploaded as the new id's history. enroll says so first and wants --drop-backlog for it.
// The hub marks the old id replaced by the new one (same device key: docs/decisions/0155-a-box-enrolled-again-replaces-its-old-id.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceInfo } from '@edgefleet/shared';
import { bundleFromOnnx, makeKeys, makeTrust, randomMlp, runCli } from '@edgefleet/examples';
import { createEnrollToken, pushBundle, startAgent, startHub, waitFor, type AgentHandle, type HubHandle } from '@edgefleet/examples/fleet';

const AGENT = 'agent/src/cli/main.ts';
const OPERATOR = 'hub/src/cli/main.ts';
const mlp = randomMlp({ inputDim: 4, hidden: [16], outputDim: 3, seed: 5 });
const row = { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [0.5, -1, 2, 0.25] }] };

test('enroll --force: the box takes the new device id\'s documents from seq 1 (a sealed version and its key)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-reenroll-'));
  const keys = makeKeys(join(dir, 'keys'));
  const trust = makeTrust(dir, keys);
  let hub: HubHandle | undefined;
  let agent: AgentHandle | undefined;
  try {
    hub = await startHub({ dataDir: join(dir, 'hub'), trustPath: trust.path, hubKeyPath: keys.files.hub.keyPath });
    const h = hub;
    const op = async (args: string[]) => {
      const r = await runCli(OPERATOR, [...args, '--hub', h.http, '--token', h.adminToken]);
      assert.equal(r.code, 0, `edgefleet ${args.join(' ')}: ${r.stderr}`);
    };
    const data = join(dir, 'box');
    const token = async (ring: string) => (await createEnrollToken(h, { tags: { ring }, maxUses: 1, ttlSec: 3600 })).token;
    const enroll = async (t: string, args: string[]) => {
      const r = await runCli(AGENT, ['enroll', '--hub', h.http, '--token', t, '--data-dir', data, ...args]);
      assert.equal(r.code, 0, r.stderr);
      return r;
    };
    const served = async (a: AgentHandle) => {
      const res = await fetch(`${a.url}/v2/models/secret/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(row) });
      return res.status === 200 ? ((await res.json()) as { model_version: string }).model_version : undefined;
    };

    // secret@1.0.0 sealed for ring a, secret@2.0.0 (another content key) for ring b.
    for (const version of ['1.0.0', '2.0.0']) {
      const key = randomBytes(32);
      const bundle = await bundleFromOnnx({ dir, name: 'secret', version, onnx: mlp.onnx, io: mlp.io, keys, encrypt: { key } });
      await pushBundle(h, bundle.path);
      await h.api('PUT', `/models/secret/versions/${version}/content-key`, { key: key.toString('base64') });
    }

    // The first identity, in ring a, applies one document (seq 1): the box's floor for the hub key is 1.
    await enroll(await token('a'), ['--id', 'old-box']);
    agent = await startAgent({ dataDir: data });
    await op(['deploy', 'secret', '1.0.0', '--tag', 'ring=a', '--reason', 'ring a']);
    await waitFor('old-box serves secret@1.0.0', async () => (await served(agent!)) === '1.0.0' || undefined, { timeoutMs: 60_000 });
    await op(['deploy', 'secret', '2.0.0', '--tag', 'ring=b', '--reason', 'ring b']);
    // A request just before the stop: the window its stop closes is queued, whatever the windows before it
    // (on a loaded machine the waits above can outlast a window, which was then sent and left none).
    assert.equal(await served(agent), '1.0.0');
    await agent.stop();

    // Enrolled again as a new device of ring b: it joins 2.0.0's deployment at once, and the hub sends it
    // its first document (seq 1, 2.0.0's key sealed to the box's device key) before it ever connects.
    // What old-box queued and has not sent (the window of its requests, closed at its stop) would be dropped:
    // said with the counts and refused before the token is spent (before, enroll --force said nothing of it).
    const ringB = await token('b');
    const refused = await runCli(AGENT, ['enroll', '--hub', h.http, '--token', ringB, '--data-dir', data, '--force']);
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, /^error \[CONFLICT\]: [1-9]\d* summary windows and \d+ events queued as old-box and not yet sent \(.*agent\.db\): enrolled as a new device, the box drops them at its next run .*"outbox 0 pending", then enroll again; to drop them, add --drop-backlog\. No enrollment token use was spent/);
    const forced = await enroll(ringB, ['--force', '--drop-backlog']); // the same token: its one use was not spent
    const counts = /^note: (\d+ summary windows and \d+ events) queued as old-box and not yet sent are dropped at the next run as \S+ \(--drop-backlog\)$/m.exec(forced.stderr);
    assert.ok(counts, forced.stderr);
    const newId = (await h.api<{ devices: DeviceInfo[] }>('GET', '/devices')).devices.find((d) => d.id !== 'old-box')!.id;
    assert.equal((await h.api<DeviceInfo>('GET', '/devices/old-box')).replaced?.by, newId, 'the old id is marked replaced by the new one');
    const newStart = Date.now();
    agent = await startAgent({ dataDir: data, config: { summaries: { windowSec: 1 } } });
    await waitFor(`${newId} serves secret@2.0.0`, async () => (await served(agent!)) === '2.0.0' || undefined, { timeoutMs: 30_000 });
    const reported = await waitFor(`${newId} reports 2.0.0 active`, async () => {
      const r = (await h.api<DeviceInfo>('GET', `/devices/${newId}`)).reported;
      return r?.lastAppliedSeq === 1 ? r : undefined;
    }, { timeoutMs: 30_000 });
    assert.equal(reported.refusal, null, `the new identity's document was refused: ${JSON.stringify(reported.refusal)}`);
    assert.match(agent.process.output().stderr, new RegExp(`"msg":"enrolled again as ${newId} \\(was old-box\\): the desired documents of old-box and their seqs no longer apply"`));
    // What old-box queued and had not sent (the window of its requests, closed at its stop) is dropped, said
    // with the counts: before, it was uploaded as the new id's, a window from before the new id existed.
    assert.ok(agent.process.output().stderr.includes(`"msg":"dropped ${counts[1]!} queued as old-box and not yet sent`), 'the counts enroll said');
    const windows = await waitFor(`${newId}'s own window of secret@2.0.0 (1 s windows)`, async () => {
      const w = JSON.stringify(await h.api('GET', `/devices/${newId}/windows`));
      return w.includes('"2.0.0"') ? w : undefined;
    }, { timeoutMs: 30_000 });
    const early = (JSON.parse(windows) as { windows: Array<{ start: string }> }).windows.filter((w) => Date.parse(w.start) < Math.floor(newStart / 1000) * 1000);
    assert.deepEqual(early, [], `old-box's windows went to ${newId}`);
  } finally {
    await agent?.stop();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
