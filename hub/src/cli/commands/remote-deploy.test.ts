// `edgefleet deploy` / `deployments ls` / `deployments show [--watch]` against a real hub
// process: targets by tag and ids, usage errors for bad targets, hub errors for unknown
// models/devices, the device table with progress bars, and --watch ending when every
// device has settled (here: superseded by a newer deployment). The commands run in this process (main()
// with the environment in its context: a process start costs ~0.4 s of CPU), --watch too, read as it
// writes; test/src/cli/convention.test.ts runs the real program for its exit codes and piped output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeploymentDeviceStatus, type Deployment } from '@edgefleet/shared';
import { StringWriter } from '@edgefleet/shared/cli';
import { buildExampleBundle, makeKeys, makeTrust, runInProcess, startProcess, waitFor } from '@edgefleet/examples';
import { main } from '../main.js';
import { SETTLED, countsLine, describeReach, isSettled, progressBar, renderDeployment, targetFrom } from './remote-deploy.js';

test('targetFrom: exactly one target, tags as KEY=VALUE', () => {
  assert.deepEqual(targetFrom('a, b', [], false), { devices: ['a', 'b'] });
  assert.deepEqual(targetFrom(undefined, ['ring=canary', 'site=n'], false), { tags: { ring: 'canary', site: 'n' } });
  assert.deepEqual(targetFrom(undefined, [], true), { all: true });
  assert.throws(() => targetFrom(undefined, [], false), /expected exactly one target/);
  assert.throws(() => targetFrom('a', [], true), /expected exactly one target/);
  assert.throws(() => targetFrom(undefined, ['ring'], false), /--tag ring: expected KEY=VALUE/);
  assert.throws(() => targetFrom(',', [], false), /expected a comma-separated list/);
});

test('isSettled reads the counts, which cover devices a limited view does not list', () => {
  const counts = (c: Partial<Deployment['counts']>) => ({ ...Object.fromEntries(DeploymentDeviceStatus.options.map((x) => [x, 0])), ...c }) as Deployment['counts'];
  const d = { id: 7, model: 'm', version: '2.0.0', target: { all: true as const }, reason: 'r', createdBy: 'op', created: '2026-12-05T00:00:00.000Z', devices: [] };
  assert.equal(isSettled({ ...d, counts: counts({ active: 3, failed: 1 }) }), true);
  assert.equal(isSettled({ ...d, counts: counts({ active: 3, downloading: 1 }), devicesTotal: 4 }), false, 'one device under way, not listed');
});

test('progressBar and countsLine', () => {
  assert.equal(progressBar({ status: 'downloading', progress: 0.5 }, 10), '[#####-----]  50%');
  assert.equal(progressBar({ status: 'active', progress: null }, 4), '[####] 100%');
  assert.equal(progressBar({ status: 'pending', progress: null }, 4), '[----]   0%');
  assert.equal(countsLine({ pending: 1, active: 2, failed: 0, rolled_back: 1 }), '1 pending, 2 active, 1 rolled back');
  assert.equal(countsLine({}), 'no devices');
  // A device that refused the document is settled (--watch stops) and counted apart from active.
  assert.equal(countsLine({ active: 2, refused: 1 }), '2 active, 1 refused');
  assert.equal(progressBar({ status: 'refused', progress: null }, 4), '[----]   0%');
  // An undeployed device's row has nothing in progress: blank, as wide as a bar.
  assert.equal(progressBar({ status: 'removed', progress: null }, 4), ' '.repeat(11));
  assert.ok(SETTLED.has('refused'));
});

test("a rollout's deployment reads as the rollout's, not as its first wave's devices", () => {
  const d = { id: 7, model: 'm', version: '2.0.0', target: { devices: ['c-1'] }, reason: 'rollout ro-1: x', createdBy: 'op', created: '2026-12-05T00:00:00.000Z', counts: { active: 2 }, devices: [] };
  assert.equal(describeReach(d), 'devices c-1');
  assert.equal(describeReach({ ...d, rollout: 'ro-1' }), "rollout ro-1's waves");
  assert.match(renderDeployment({ ...d, rollout: 'ro-1', counts: { ...Object.fromEntries(DeploymentDeviceStatus.options.map((x) => [x, 0])), active: 2 } as Deployment['counts'] }), /^deployment 7: m 2\.0\.0 -> rollout ro-1's waves\n/);
});

test('deploy and deployments ls/show/--watch against a running hub', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-deploy-cli-'));
  const keys = makeKeys(join(dir, 'keys'));
  const trust = makeTrust(dir, keys);
  const v1 = await buildExampleBundle({ dir, version: '1.0.0', keys });
  const hub = startProcess('hub/src/server/main.ts', ['run', '--data-dir', join(dir, 'hub'), '--http-port', '0', '--mqtt-port', '0', '--trust', trust.path, '--hub-key', keys.files.hub.keyPath]);
  try {
    const ready = JSON.parse(await hub.waitForLine(/"msg":"hub ready"/, 60_000)) as { http: string };
    const env = { EDGEFLEET_HUB: ready.http, EDGEFLEET_TOKEN: readFileSync(join(dir, 'hub', 'admin.token'), 'utf8').trim() };
    const cli = (args: string[]) => runInProcess(main, args, { env, cwd: dir });

    assert.equal((await cli(['model', 'push', v1.path])).code, 0);
    for (const [id, ring] of [['pump-1', 'canary'], ['pump-2', 'main'], ['pump-3', 'main']] as const) {
      const r = await cli(['devices', 'add', '--id', id, '--tag', `ring=${ring}`, '--out', join(dir, `${id}.json`)]);
      assert.equal(r.code, 0, r.stderr);
    }

    // Usage errors: no target, two targets, no reason.
    const none = await cli(['deploy', 'vibration-anomaly', '1.0.0', '--reason', 'x']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /expected exactly one target: --devices .* or --tag .* or --all/);
    const two = await cli(['deploy', 'vibration-anomaly', '1.0.0', '--all', '--devices', 'pump-1', '--reason', 'x']);
    assert.equal(two.code, 2);
    assert.equal((await cli(['deploy', 'vibration-anomaly', '1.0.0', '--all'])).code, 2);
    // Hub errors: unknown version, unknown device.
    const unknown = await cli(['deploy', 'vibration-anomaly', '9.9.9', '--all', '--reason', 'x']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /error \[NOT_FOUND\]: hub: .*9\.9\.9/);
    const ghost = await cli(['deploy', 'vibration-anomaly', '1.0.0', '--devices', 'ghost-7', '--reason', 'x']);
    assert.equal(ghost.code, 1);
    assert.match(ghost.stderr, /error \[NOT_FOUND\]: hub: .*ghost-7/);

    const d1 = await cli(['deploy', 'vibration-anomaly', '1.0.0', '--tag', 'ring=main', '--reason', 'first rollout', '--json']);
    assert.equal(d1.code, 0, d1.stderr);
    const dep = JSON.parse(d1.stdout) as { id: number; devices: Array<{ deviceId: string; status: string }> };
    assert.deepEqual(dep.devices.map((d) => d.deviceId).sort(), ['pump-2', 'pump-3']);

    const text = await cli(['deploy', 'vibration-anomaly', '1.0.0', '--devices', 'pump-1', '--reason', 'canary too']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^deployment (\d+): vibration-anomaly 1\.0\.0 to 1 device\(s\) \(devices pump-1\)/);

    const ls = await cli(['deployments', 'ls']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /^ID\s+MODEL\s+VERSION\s+TARGET\s+DEVICES/);
    assert.match(ls.stdout, new RegExp(`\\n${dep.id}\\s+vibration-anomaly\\s+1\\.0\\.0\\s+tags ring=main\\s+2 pending`));
    const lsJson = JSON.parse((await cli(['deployments', 'ls', '--json'])).stdout) as { deployments: Array<{ id: number }> };
    assert.equal(lsJson.deployments.length, 2);
    // A page that leaves older ones out says so on stderr with the command that shows them (docs/cli.md).
    const newest = await cli(['deployments', 'ls', '--limit', '1']);
    assert.equal(newest.code, 0, newest.stderr);
    assert.equal(newest.stdout.trim().split('\n').length, 2, newest.stdout);
    assert.equal(newest.stderr, `older deployments not shown: edgefleet deployments ls --limit 1 --before ${lsJson.deployments[0]!.id} (or --all-pages for all of them)\n`);
    const every = JSON.parse((await cli(['deployments', 'ls', '--limit', '1', '--all-pages', '--json'])).stdout) as { deployments: Array<{ id: number }>; next: unknown };
    assert.deepEqual([every.deployments.map((d) => d.id), every.next], [lsJson.deployments.map((d) => d.id), null]);

    const show = await cli(['deployments', 'show', String(dep.id)]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /2 device\(s\): 2 pending/);
    assert.match(show.stdout, /\npump-2\s+pending\s+\[-{20}\]\s+0%/);
    assert.match(show.stdout, /reason: first rollout/);
    // --devices N lists N (the counts still cover every device) and says how many there are.
    const one = await cli(['deployments', 'show', String(dep.id), '--devices', '1']);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /2 device\(s\): 2 pending/);
    assert.equal(one.stdout.split('\n').filter((l) => /^pump-/.test(l)).length, 1, one.stdout);
    assert.match(one.stdout, /\(the first 1 of 2 devices, those needing attention first; --devices N or --devices all for more\)/);
    // The REST view refuses a bad ?devices= by name (DeploymentViewQuery).
    const view = async (q: string) => {
      const r = await fetch(`${ready.http}/api/v1/deployments/${dep.id}?${q}`, { headers: { authorization: `Bearer ${env.EDGEFLEET_TOKEN}` } });
      return [r.status, ((await r.json()) as { error?: { message: string } }).error?.message] as const;
    };
    assert.deepEqual(await view('devices=0'), [400, 'invalid deployment query: devices: devices "0" (query parameter devices): expected a whole number from 1 to 100000 (digits only, no leading zero, e.g. 50)']);
    const typo = await view('device=2');
    assert.equal(typo[0], 400);
    assert.match(typo[1] ?? '', /unknown query parameter "device": expected devices/);
    const tooMany = await cli(['deployments', 'show', String(dep.id), '--devices', '100001']);
    assert.equal(tooMany.code, 2);
    assert.match(tooMany.stderr, /--devices 100001: expected a number of devices from 1 to 100000, or all/);
    const bad = await cli(['deployments', 'show', 'abc']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /deployment id "abc": expected a positive integer/);
    const missing = await cli(['deployments', 'show', '999']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error \[NOT_FOUND\]: hub: no deployment 999 \(edgefleet deployments ls lists them\)\n$/);

    // --watch keeps going while devices are pending and ends once a newer deployment supersedes them.
    const watchOut = new StringWriter();
    const watchErr = new StringWriter();
    const watching = main(['deployments', 'show', String(dep.id), '--watch', '--interval', '200'], { stdout: watchOut, stderr: watchErr, env, cwd: dir, now: () => new Date() });
    await waitFor('--watch shows 2 pending', () => /deployment \d+: 2 pending/.test(watchOut.text) || undefined, { timeoutMs: 30_000, intervalMs: 20 });
    const d3 = await cli(['deploy', 'vibration-anomaly', '1.0.0', '--all', '--reason', 'everyone']);
    assert.equal(d3.code, 0, d3.stderr);
    assert.equal(await watching, 0, watchErr.text);
    const out = watchOut.text;
    assert.match(out, /deployment \d+: 2 superseded/);
    assert.match(out, /\npump-3\s+superseded/);
  } finally {
    await hub.stop('SIGTERM', 20_000);
    rmSync(dir, { recursive: true, force: true });
  }
});
