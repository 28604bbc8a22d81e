// The hub as a real process, restarted with a trust document that rotated the release key out (made by
// `edgefleet trust rotate`): `edgefleet deploy` of a version signed only by the old key fails with
// VERSION_NOT_TRUSTED naming the version, its signer and the key the trust accepts, and the hub stores
// no deployment, and `model ls` marks the version not trusted (docs/security.md "Key rotation and stored versions").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signBundle } from '@edgefleet/shared';
import { buildExampleBundle, makeKeys, makeTrust, runCli, startProcess } from '@edgefleet/examples';

test('after a release key rotation the hub refuses to deploy a version only the old key signed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-trust-rotation-'));
  const keys = makeKeys(join(dir, 'keys'));
  const trust = makeTrust(dir, keys);
  const v1 = await buildExampleBundle({ dir, version: '1.0.0', keys });
  const data = join(dir, 'hub');
  const start = (trustPath: string) => startProcess('hub/src/server/main.ts', ['run', '--data-dir', data, '--http-port', '0', '--mqtt-port', '0', '--trust', trustPath, '--hub-key', keys.files.hub.keyPath]);
  let hub = start(trust.path);
  try {
    const cliAt = async () => {
      const ready = JSON.parse(await hub.waitForLine(/"msg":"hub ready"/, 60_000)) as { http: string };
      const env = { EDGEFLEET_HUB: ready.http, EDGEFLEET_TOKEN: readFileSync(join(data, 'admin.token'), 'utf8').trim() };
      return (args: string[]) => runCli('hub/src/cli/main.ts', args, { env });
    };
    let cli = await cliAt();
    const pushed = await cli(['model', 'push', v1.path]);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.equal((await cli(['devices', 'add', '--id', 'pump-1', '--out', join(dir, 'pump-1.json')])).code, 0);
    assert.match((await cli(['model', 'ls'])).stdout, /\nvibration-anomaly\s+1\.0\.0\s.*\syes\s+native, wasm\n$/);
    await hub.stop('SIGTERM', 20_000);

    const rotated = await runCli('hub/src/cli/main.ts', ['trust', 'rotate', '--from', trust.path, '--release', keys.files.untrusted.pubPath, '--sign', keys.files.root.keyPath, '--out', join(dir, 'trust-2.json')]);
    assert.equal(rotated.code, 0, rotated.stderr);
    hub = start(join(dir, 'trust-2.json'));
    cli = await cliAt();
    const refused = await cli(['deploy', 'vibration-anomaly', '1.0.0', '--all', '--reason', 'after the rotation']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, new RegExp(`error \\[VERSION_NOT_TRUSTED\\]: hub: vibration-anomaly@1\\.0\\.0 is signed by release key\\(s\\) ${keys.release.keyId.slice(0, 12)}…, but the hub's trust \\(version 2\\) accepts 1 of release key\\(s\\) ${keys.untrusted.keyId.slice(0, 12)}…`));
    assert.match(refused.stderr, /Sign it with a current release key/);
    // model ls marks the version and says why.
    const models = (await cli(['model', 'ls'])).stdout;
    assert.match(models, /^NAME\s+VERSION\s+SIZE\s+PUSHED\s+BY\s+DEPRECATED\s+TRUSTED\s+BACKENDS\n/);
    assert.match(models, /\nvibration-anomaly\s+1\.0\.0\s.*\sno\s+native, wasm\n/);
    assert.match(models, /\nTRUSTED no: no threshold of the hub's current release keys signed it; deploys and rollouts of it are refused \(VERSION_NOT_TRUSTED\): sign it with a current release key and push it as a new version \(or "edgefleet model delete NAME VERSION" first, if nothing refers to it\)\n/);
    const ls = await cli(['deployments', 'ls', '--json']);
    assert.deepEqual((JSON.parse(ls.stdout) as { deployments: unknown[] }).deployments, []);

    // Found by the ML probe: a new version signed by the rotated-out key was uploaded whole, then
    // refused by the hub ("hub: bundle …"). model push checks it against the hub's trust first and uploads nothing.
    const v2 = await buildExampleBundle({ dir, version: '2.0.0', keys });
    const old = await cli(['model', 'push', v2.path]);
    assert.equal(old.code, 1);
    assert.equal(old.stderr, `error [THRESHOLD_NOT_MET]: bundle ${v2.path}, checked against the hub's trust version 2 before uploading (nothing was pushed): release signatures: 0 of threshold 1 valid (1 signature by a key not among the release keys of trust version 2 ignored (${keys.release.keyId.slice(0, 8)}…); expected release keys: ${keys.untrusted.keyId.slice(0, 8)}…)\n`);
    mkdirSync(join(dir, 'new'));
    const resigned = await buildExampleBundle({ dir: join(dir, 'new'), version: '2.0.0', sign: false });
    await signBundle(resigned.path, keys.untrusted);
    const ok = await cli(['model', 'push', resigned.path]);
    assert.equal(ok.code, 0, ok.stderr);
  } finally {
    await hub.stop('SIGTERM', 20_000);
    rmSync(dir, { recursive: true, force: true });
  }
});
