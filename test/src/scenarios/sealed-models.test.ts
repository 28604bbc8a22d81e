// Sealed models end to end (docs/decisions/0029-sealed-models.md): a real hub process and real agent
// processes running a real ORT model that is encrypted. Packed with `model pack --encrypt`, pushed with
// its content key, deployed: an entitled agent (whose device key reached the hub only in its reported
// state) serves it; a box not entitled cannot install it, with no key or with another box's; the
// operator revokes a device and re-keys the model in one command (`model rekey --sign`); the new
// version reaches the entitled box and no key of it reaches the revoked one; a box that loses its device
// key serves the model again once the hub re-seals its key. Every byte of every file
// in the hub's and the agents' data dirs is scanned: the plaintext model is in none of them.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBytes, makeKeys, makeTrust, randomMlp, secretWindows, type Keys } from '@edgefleet/examples';
import { startAgent, startAgents, startHub, waitFor, type AgentHandle, type HubHandle } from '@edgefleet/examples/fleet';
import { agentCli, operator } from '../testkit/cli.js';
import { enrollAgents } from '../testkit/enroll.js';
import type { DeviceEvent, DeviceInfo } from '@edgefleet/shared';
import { withAgentDb } from './helpers.js';

const mlp = randomMlp({ inputDim: 4, hidden: [128], outputDim: 3, seed: 21 });
const row = { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [0.5, -1, 2, 0.25] }] };

describe('sealed models: real hub, real agents, real ORT', () => {
  let dir: string;
  let keys: Keys;
  let hub: HubHandle;
  const agents: AgentHandle[] = [];
  const op = async (args: string[]) => {
    const r = await operator(args);
    assert.equal(r.code, 0, `edgefleet ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const remote = () => ['--hub', hub.http, '--token', hub.adminToken];
  const served = async (a: AgentHandle) => {
    const res = await fetch(`${a.url}/v2/models/secret/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(row) });
    return res.status === 200 ? ((await res.json()) as { model_version: string }).model_version : undefined;
  };
  const keysHeld = (dataDir: string) => withAgentDb(dataDir, (db) => (db.prepare('SELECT key_id FROM content_keys').all() as { key_id: string }[]).map((r) => r.key_id));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-sealed-e2e-'));
    keys = makeKeys(join(dir, 'keys'));
    const trust = makeTrust(dir, keys);
    hub = await startHub({ dataDir: join(dir, 'hub'), trustPath: trust.path, hubKeyPath: keys.files.hub.keyPath });
  });
  after(async () => {
    for (const a of agents) await a.stop();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves only where entitled, re-keys past a revoked box, and leaves no plaintext on any disk', async () => {
    // The ML engineer: pack encrypted, sign, push with the content key.
    const src = join(dir, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'model.onnx'), mlp.onnx);
    writeFileSync(join(src, 'manifest.json'), JSON.stringify({
      schema: 'edgefleet.manifest/v1', name: 'secret', version: '1.0.0', entrypoint: 'model.onnx',
      runtime: { opset: 17, minAgentVersion: '0.1.0' }, io: mlp.io,
      provenance: { data: [], training: { code: 'test' }, metrics: {}, reason: 'sealed e2e' },
    }));
    const out = join(dir, 'out');
    mkdirSync(out);
    await op(['model', 'pack', '--manifest', join(src, 'manifest.json'), '--model', join(src, 'model.onnx'), '--out', out, '--encrypt']);
    const v1 = join(out, 'secret-1.0.0.efb');
    const k1 = join(out, 'secret-1.0.0.key');
    await op(['model', 'sign', v1, '--key', keys.files.release.keyPath]);
    rmSync(src, { recursive: true });
    // Pushed without its key first: the push says deploys wait for the key, and how to give it.
    const keyless = await operator(['model', 'push', v1, ...remote()]);
    assert.equal(keyless.code, 0, keyless.stderr);
    assert.match(keyless.stderr, /^note: secret 1\.0\.0 is encrypted and no --content-key was given: deploys and rollouts of it are refused \(CONTENT_KEY_MISSING\) unless the hub holds its content key from an earlier push; to give it: edgefleet model push .*secret-1\.0\.0\.efb --content-key KEY_FILE/m);
    assert.match(await op(['model', 'push', v1, '--content-key', k1, ...remote()]), /in the registry already with this bundle .*; content key [0-9a-f]{12} stored/);

    // Three boxes: e1 (its key file lost after enrollment: the hub learns its new key from its state),
    // e2 (never entitled), e3 (entitled, then revoked).
    const devs = await enrollAgents(hub, 3, { dataRoot: join(dir, 'agents'), id: (i) => `e${i + 1}`, tags: (i) => ({ ring: i === 1 ? 'other' : 'sealed' }) });
    rmSync(join(devs[0]!.dataDir, 'device-key.json'));
    agents.push(...await startAgents([devs[0]!, devs[2]!].map((d) => ({ dataDir: d.dataDir }))));
    const [a1, a3] = agents as [AgentHandle, AgentHandle];
    await waitFor('the hub recorded e1\'s new device key from its state', async () => {
      const { entries } = await hub.api<{ entries: { action: string; target: string }[] }>('GET', '/audit?action=device.key_changed');
      return entries.some((e) => e.target === 'e1') || undefined;
    }, { timeoutMs: 30_000 });
    await op(['deploy', 'secret', '1.0.0', '--tag', 'ring=sealed', '--reason', 'sealed rollout', ...remote()]);
    await waitFor('e1 and e3 serve secret@1.0.0', async () => (await served(a1)) === '1.0.0' && (await served(a3)) === '1.0.0' || undefined, { timeoutMs: 60_000 });

    // e2 holds the bundle (a copied USB stick) but no key for it: refused, with none or with e1's.
    const e2 = devs[1]!.dataDir;
    assert.equal((await agentCli(['trust', 'set', join(e2, 'trust.json'), '--data-dir', e2])).code, 0);
    const bare = await agentCli(['install', v1, '--data-dir', e2]);
    assert.equal(bare.code, 1);
    assert.match(bare.stderr, /error \[CONTENT_KEY_MISSING\]: secret@1\.0\.0 is encrypted/);
    const e1Key = JSON.parse(readFileSync(join(devs[0]!.dataDir, 'device-key.json'), 'utf8')) as { public: string };
    const sealedToE1 = join(dir, 'sealed-e1.json');
    await op(['model', 'seal', '--key', k1, '--to', e1Key.public, '--out', sealedToE1]);
    const stolen = await agentCli(['install', v1, '--key', sealedToE1, '--data-dir', e2]);
    assert.equal(stolen.code, 1);
    assert.match(stolen.stderr, /CONTENT_KEY_MISSING.*sealed to device key/);
    // The USB path works for the box the key is sealed to (e2's own key, from `key show`).
    const e2Pub = JSON.parse((await agentCli(['key', 'show', '--data-dir', e2])).stdout) as { public: string };
    const sealedToE2 = join(dir, 'sealed-e2.json');
    await op(['model', 'seal', '--key', k1, '--to', e2Pub.public, '--out', sealedToE2]);
    const usb = await agentCli(['install', v1, '--key', sealedToE2, '--data-dir', e2]);
    assert.equal(usb.code, 0, usb.stderr);

    // Revoke e3, re-key in one command, push, deploy: e1 gets 2.0.0; no key of 2.0.0 reaches e3.
    await op(['devices', 'revoke', 'e3', '--reason', 'box stolen', ...remote()]);
    await op(['model', 'rekey', v1, '--key', k1, '--version', '2.0.0', '--reason', 're-keyed after e3 was revoked', '--sign', keys.files.release.keyPath]);
    const v2 = join(out, 'secret-2.0.0.efb');
    const k2 = join(out, 'secret-2.0.0.key');
    assert.ok(existsSync(k2));
    await op(['model', 'push', v2, '--content-key', k2, ...remote()]);
    await op(['deploy', 'secret', '2.0.0', '--tag', 'ring=sealed', '--reason', 're-keyed', ...remote()]);
    await waitFor('e1 serves secret@2.0.0', async () => (await served(a1)) === '2.0.0' || undefined, { timeoutMs: 60_000 });
    const k2Id = (JSON.parse(readFileSync(k2, 'utf8')) as { keyId: string }).keyId;
    assert.ok(keysHeld(devs[0]!.dataDir).includes(k2Id));
    assert.ok(!keysHeld(devs[2]!.dataDir).includes(k2Id), 'the revoked box holds no key of the re-keyed version');
    // The box serves it before its state report reaches the hub: wait for the hub to record it.
    await waitFor('the hub records secret@2.0.0 active on e1', async () => {
      const info = await hub.api<DeviceInfo>('GET', '/devices/e1');
      return info.models.some((m) => m.name === 'secret' && m.version === '2.0.0' && m.status === 'active') || undefined;
    }, { timeoutMs: 30_000 });
    const { events } = await hub.api<{ events: DeviceEvent[] }>('GET', '/devices/e1/events');
    assert.ok(!events.some((e) => e.kind === 'install_failed'), JSON.stringify(events.filter((e) => e.kind === 'install_failed')));

    // e1 loses its device key again and restarts: its stored key no longer opens, so secret@2.0.0 does not
    // load at start; the hub seals the key to the new device key, and the box serves the model again with
    // no redeploy. (It stayed unserved, 404, while its state and the deployment said active.)
    await a1.stop();
    rmSync(join(devs[0]!.dataDir, 'device-key.json'));
    const a1b = await startAgent({ dataDir: devs[0]!.dataDir });
    agents.push(a1b);
    await waitFor('e1 serves secret@2.0.0 again once the hub re-sealed its key', async () => (await served(a1b)) === '2.0.0' || undefined, { timeoutMs: 60_000 });

    // Every byte of every file the hub and the boxes keep: no window of the plaintext model.
    const scan = findBytes([hub.dataDir, join(dir, 'agents')], secretWindows(mlp.onnx, 6));
    assert.deepEqual(scan.hits, []);
    assert.ok(scan.files > 10, `scanned ${scan.files} files`);
  });
});
