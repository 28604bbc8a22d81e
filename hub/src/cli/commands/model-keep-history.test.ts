// `edgefleet model delete NAME VERSION --keep-history` against a real hub process (docs/cli.md,
// store/bundle-drop.ts): refused naming the deployment while a device is assigned the version, then the
// bundle file of an unassigned one goes, model ls / model show say so, and pushing it again restores it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMultiBundle, makeKeys, makeTrust, runCli } from '@edgefleet/examples';
import { startHub } from '@edgefleet/examples/fleet';

test('model delete --keep-history: refused while assigned, drops the file of an old version, a repush restores it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-keephist-'));
  const keys = makeKeys(join(dir, 'keys'));
  const hub = await startHub({ dataDir: join(dir, 'hub'), trustPath: makeTrust(dir, keys).path, hubKeyPath: keys.files.hub.keyPath });
  try {
    const cli = (args: string[]) => runCli('hub/src/cli/main.ts', args, { env: { EDGEFLEET_HUB: hub.http, EDGEFLEET_TOKEN: hub.adminToken } });
    const ok = async (args: string[]) => {
      const r = await cli(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const old = await buildMultiBundle({ dir: join(dir, 'b1'), keys, version: '1.0.0' });
    const cur = await buildMultiBundle({ dir: join(dir, 'b2'), keys, version: '2.0.0' });
    await ok(['model', 'push', old.path]);
    await ok(['model', 'push', cur.path]);
    await ok(['devices', 'add', '--id', 'pump-1', '--out', join(dir, 'pump-1.json')]);
    await ok(['deploy', 'audio-energy', '2.0.0', '--devices', 'pump-1', '--reason', 'current']);

    const held = await cli(['model', 'delete', 'audio-energy', '2.0.0', '--keep-history', '--reason', 'space']);
    assert.equal(held.code, 1);
    assert.match(held.stderr, /^error \[BUNDLE_IN_USE\]: hub: the bundle of audio-energy 2\.0\.0 cannot be dropped: deployments #1 \(device pump-1\) assign it/);

    const sha = (JSON.parse(await ok(['model', 'show', 'audio-energy', '1.0.0', '--json'])) as { bundle: { sha256: string } }).bundle.sha256;
    const file = join(dir, 'hub', 'blobs', 'sha256', sha.slice(0, 2), sha);
    assert.match(await ok(['model', 'delete', 'audio-energy', '1.0.0', '--keep-history', '--reason', 'older than a year']),
      /^dropped the bundle of audio-energy 1\.0\.0 \(.+ freed\); its history is kept; push the same bundle again to restore it\n$/);
    assert.equal(existsSync(file), false);
    assert.match(await ok(['model', 'ls']), /audio-energy\s+1\.0\.0\s+dropped \(/);
    assert.match(await ok(['model', 'show', 'audio-energy', '1.0.0']), /\nbundle: [0-9a-f]{64} .+ \(dropped at \S+ by admin; history kept; push the same bundle again to restore it\)\n/);
    const deploy = await cli(['deploy', 'audio-energy', '1.0.0', '--devices', 'pump-1', '--reason', 'back']);
    assert.equal(deploy.code, 1);
    assert.match(deploy.stderr, /error \[BUNDLE_DROPPED\]: hub: the bundle of audio-energy 1\.0\.0 was dropped at/);

    await ok(['model', 'push', old.path]);
    assert.ok(existsSync(file), 'the same bytes are back under the same sha256');
    assert.doesNotMatch(await ok(['model', 'ls']), /dropped/);
    await ok(['deploy', 'audio-energy', '1.0.0', '--devices', 'pump-1', '--reason', 'back']);
  } finally {
    await hub.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
