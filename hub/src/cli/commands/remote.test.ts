// The remote CLI against a real hub process: tokens create --json, devices add/ls,
// a viewer refused a write, audit --json and its pages, a model version pushed by mistake deleted, an
// enrollment token revoked; config set --unset of a key the document does not hold; --hub/--token
// from the environment. The commands run in this process (main() with the environment in its context:
// a process start costs ~0.4 s of CPU and ~50 commands run here); the first runs as a real process, so the
// program's own glue (EDGEFLEET_HUB/EDGEFLEET_TOKEN from the process environment, exit code) is covered too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMultiBundle, makeKeys, makeTrust, runCli, runInProcess, startProcess } from '@edgefleet/examples';
import { main } from '../main.js';

test('remote CLI: tokens, devices, roles and audit against a running hub', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-cli-'));
  const keys = makeKeys(join(dir, 'keys'));
  const trust = makeTrust(dir, keys);
  const hub = startProcess('hub/src/server/main.ts', ['run', '--data-dir', join(dir, 'hub'), '--http-port', '0', '--mqtt-port', '0', '--trust', trust.path, '--hub-key', keys.files.hub.keyPath]);
  try {
    const ready = JSON.parse(await hub.waitForLine(/"msg":"hub ready"/, 60_000)) as { http: string };
    const admin = readFileSync(join(dir, 'hub', 'admin.token'), 'utf8').trim();
    const env = (token: string) => ({ EDGEFLEET_HUB: ready.http, EDGEFLEET_TOKEN: token });
    const cli = (args: string[], token = admin) => runInProcess(main, args, { env: env(token), cwd: dir });

    const t = await runCli('hub/src/cli/main.ts', ['tokens', 'create', '--role', 'viewer', '--name', 'dash', '--json'], { env: env(admin) });
    assert.equal(t.code, 0, t.stderr);
    const viewer = JSON.parse(t.stdout) as { token: string; role: string; name: string };
    assert.equal(viewer.role, 'viewer');

    const out = join(dir, 'creds.json');
    const add = await cli(['devices', 'add', '--id', 'pump-1', '--tag', 'site=north', '--out', out]);
    assert.equal(add.code, 0, add.stderr);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    assert.equal((JSON.parse(readFileSync(out, 'utf8')) as { deviceId: string }).deviceId, 'pump-1');

    const ls = await cli(['devices', 'ls', '--json'], viewer.token);
    assert.deepEqual((JSON.parse(ls.stdout) as { devices: Array<{ id: string }> }).devices.map((d) => d.id), ['pump-1']);
    const table = await cli(['devices', 'ls'], viewer.token);
    assert.match(table.stdout, /^ID\s+ONLINE.*\npump-1\s+no/m);

    const denied = await cli(['devices', 'revoke', 'pump-1', '--reason', 'x'], viewer.token);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /error \[FORBIDDEN\]: hub: .*needs the admin role/);

    const noReason = await cli(['devices', 'revoke', 'pump-1']);
    assert.equal(noReason.code, 2);

    // A mistyped token says which one was refused (never its value) and what is expected in its place.
    const wrong = await cli(['devices', 'ls'], 'efa_mistyped');
    assert.equal(wrong.code, 1);
    assert.equal(wrong.stderr, `error [UNAUTHENTICATED]: hub: bearer token not recognised or revoked (the token in EDGEFLEET_TOKEN; expected an API token of the hub at ${ready.http}: `
      + 'its DATA/admin.token or one from edgefleet tokens create)\n');
    const flag = await cli(['devices', 'ls', '--token', 'efa_mistyped']);
    assert.match(flag.stderr, /\(the token in --token; expected an API token of the hub at /);

    const audit = await cli(['audit', '--json', '--target', 'pump-1'], viewer.token);
    assert.deepEqual((JSON.parse(audit.stdout) as { entries: Array<{ action: string }> }).entries.map((e) => e.action), ['device.add']);

    // A second token named "dash" is refused: the audit log's names must each mean one token.
    const dup = await cli(['tokens', 'create', '--role', 'admin', '--name', 'dash']);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /^error \[CONFLICT\]: hub: an API token named "dash" already exists \(tok_[0-9a-f]+\)/);
    const unnamed = await cli(['tokens', 'create', '--role', 'viewer', '--json']);
    assert.equal(unnamed.code, 0, unnamed.stderr);
    assert.match((JSON.parse(unnamed.stdout) as { name: string }).name, /^viewer-\d{8}-\d{6}$/, 'the default name carries the time, so it is unique');
    // The name may be given as the first argument, as README and docs/console.md write it; two different names are refused.
    const positional = await cli(['tokens', 'create', 'wall-screen', '--role', 'viewer', '--json']);
    assert.equal(positional.code, 0, positional.stderr);
    assert.equal((JSON.parse(positional.stdout) as { name: string }).name, 'wall-screen');
    const two = await cli(['tokens', 'create', 'a', '--name', 'b', '--role', 'viewer']);
    assert.equal(two.code, 2);
    assert.match(two.stderr, /two names given \("a" and --name "b"\): expected one/);

    // A reason with a terminal escape and a newline prints inert in the audit table, with the token id.
    const evil = await cli(['devices', 'revoke', 'pump-1', '--reason', '\x1b[31mred\nforged line']);
    assert.equal(evil.code, 0, evil.stderr);
    const shown = await cli(['audit', '--target', 'pump-1'], viewer.token);
    assert.equal(shown.code, 0, shown.stderr);
    assert.ok(!shown.stdout.includes('\x1b'), shown.stdout);
    assert.doesNotMatch(shown.stdout, /^forged line/m);
    const lines = shown.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 3, shown.stdout);
    assert.match(lines[2] ?? '', /admin#tok_[0-9a-f]+\s+device\.revoke\s+pump-1\s+\\e\[31mred\\nforged line$/);
    const json = JSON.parse((await cli(['audit', '--json', '--action', 'device.revoke'], viewer.token)).stdout) as { entries: Array<{ reason: string; actorId: string }> };
    assert.equal(json.entries[0]?.reason, '\x1b[31mred\nforged line', 'JSON keeps the value as stored');
    // A misspelt action is an error naming the one meant, not an empty table read as "nobody did that".
    const typo = await cli(['audit', '--action', 'device.revokd'], viewer.token);
    assert.deepEqual([typo.code, typo.stdout], [1, '']);
    assert.match(typo.stderr, /^error \[INVALID_INPUT\]: hub: no audit entry has action "device\.revokd" .*expected "device\.revoke"\?\n$/);

    // Paging: entries left out are announced with the command that shows them; --newest shows the latest.
    const everything = JSON.parse((await cli(['audit', '--json'], viewer.token)).stdout) as { entries: Array<{ id: number; action: string }>; next: number | null };
    assert.equal(everything.next, null);
    const ids = everything.entries.map((e) => e.id);
    assert.ok(ids.length >= 5, JSON.stringify(everything));
    const whole = await cli(['audit'], viewer.token);
    assert.equal(whole.stderr, '', 'nothing left out: no note');
    const first = await cli(['audit', '--limit', '2'], viewer.token);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(first.stdout.trimEnd().split('\n').slice(1).map((l) => Number(l.split(/\s+/)[0])), ids.slice(0, 2));
    assert.equal(first.stderr, `more entries after #${ids[1]} not shown: edgefleet audit --limit 2 --after ${ids[1]} (or --newest N for the latest)\n`);
    // --since a duration ago reads the same entries (all are recent); the note repeats the ISO time it meant.
    const recent = await cli(['audit', '--since', '1h', '--limit', '2'], viewer.token);
    assert.equal(recent.code, 0, recent.stderr);
    assert.equal(recent.stdout, first.stdout);
    const [, at] = /^more entries after #\d+ not shown: edgefleet audit --since (\S+) --limit 2 --after /.exec(recent.stderr) ?? [];
    assert.ok(at !== undefined && Math.abs(Date.now() - 3_600_000 - Date.parse(at)) < 60_000, recent.stderr);
    // A date alone (was refused: only a full ISO time worked) is that day from 00:00 UTC; the note repeats it.
    const day = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const sinceDay = await cli(['audit', '--since', day, '--limit', '2'], viewer.token);
    assert.equal(sinceDay.code, 0, sinceDay.stderr);
    assert.equal(sinceDay.stdout, first.stdout);
    assert.match(sinceDay.stderr, new RegExp(`^more entries after #\\d+ not shown: edgefleet audit --since ${day}T00:00:00\\.000Z --limit 2 --after `));
    const second = await cli(['audit', '--limit', '2', '--after', String(ids[1])], viewer.token);
    assert.deepEqual(second.stdout.trimEnd().split('\n').slice(1).map((l) => Number(l.split(/\s+/)[0])), ids.slice(2, 4));
    const latest = await cli(['audit', '--newest', '2', '--action', 'token.create'], viewer.token);
    const creates = everything.entries.filter((e) => e.action === 'token.create').map((e) => e.id);
    assert.deepEqual(latest.stdout.trimEnd().split('\n').slice(1).map((l) => Number(l.split(/\s+/)[0])), creates.slice(-2), 'the newest two, the latest printed last');
    assert.equal(latest.stderr, `older entries not shown (the newest 2 are): edgefleet audit --action token.create --newest 2 --before ${creates.at(-2)}\n`);
    const latestJson = JSON.parse((await cli(['audit', '--newest', '1', '--json'], viewer.token)).stdout) as { entries: Array<{ id: number }>; next: number | null };
    assert.equal(latestJson.next, ids.at(-1), 'the newest page says where the older one starts');
    assert.deepEqual(latestJson.entries.map((e) => e.id), [ids.at(-1)]);
    const both = await cli(['audit', '--limit', '2', '--newest', '2'], viewer.token);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /give --limit N \(oldest first\) or --newest N, not both/);
    const tooMany = await cli(['audit', '--limit', '10001'], viewer.token);
    assert.equal(tooMany.code, 2);
    assert.match(tooMany.stderr, /--limit 10001: expected at most 10000 entries a page/);

    // A version pushed by mistake: deleted (admin) with its bundle; an operator is refused.
    const bundle = await buildMultiBundle({ dir: join(dir, 'bundle'), keys, version: '1.0.0' });
    // On a terminal: a bar over the bytes sent, then what the CLI waits for (docs/cli.md "Progress").
    const pushed = await runInProcess(main, ['model', 'push', bundle.path], { env: env(admin), cwd: dir, tty: true });
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.match(pushed.stdout, /^pushed audio-energy 1\.0\.0 \(/);
    assert.match(pushed.stderr, /^\rpushing \[.*\rpushing \[#+\] 100% .+\nwaiting for the hub to check audio-energy 1\.0\.0 \(file hashes, the model's io, loading it on native and wasm\)…\n/s);
    // The same bundle again is the hub's no-op (200): the CLI says so rather than "pushed".
    const again = await cli(['model', 'push', bundle.path]);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(!again.stderr.includes('\r') && !again.stderr.includes('waiting'), `no progress on a pipe: ${again.stderr}`);
    assert.match(again.stdout, /^audio-energy 1\.0\.0 is in the registry already with this bundle \(pushed \S+ by admin\); nothing changed \(/);
    const opToken = JSON.parse((await cli(['tokens', 'create', '--role', 'operator', '--json'])).stdout) as { token: string };
    const opDel = await cli(['model', 'delete', 'audio-energy', '1.0.0', '--reason', 'wrong file'], opToken.token);
    assert.equal(opDel.code, 1);
    assert.match(opDel.stderr, /error \[FORBIDDEN\]: hub: .*needs the admin role/);
    const gone = await cli(['model', 'delete', 'audio-energy', '1.0.0', '--reason', 'wrong file']);
    assert.equal(gone.code, 0, gone.stderr);
    assert.equal(gone.stdout, 'deleted audio-energy 1.0.0 and its bundle\n');
    assert.equal((await cli(['model', 'push', bundle.path])).code, 0, 'the number can be pushed again');
    const asJson = await cli(['model', 'delete', 'audio-energy', '1.0.0', '--reason', 'again', '--json']);
    assert.deepEqual(JSON.parse(asJson.stdout), { name: 'audio-energy', version: '1.0.0', bundleDeleted: true });
    const missing = await cli(['model', 'delete', 'audio-energy', '1.0.0', '--reason', 'gone already']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /error \[NOT_FOUND\]: hub: no model version audio-energy 1\.0\.0/);
    assert.deepEqual((JSON.parse((await cli(['model', 'ls', '--json'], viewer.token)).stdout) as { versions: unknown[] }).versions, []);

    // A leaked enrollment token, revoked: ls marks it, an enrollment with it is refused at once.
    const et = JSON.parse((await cli(['enroll-token', 'create', '--max-uses', '50', '--json'], opToken.token)).stdout) as { token: string; id: string };
    const deniedRevoke = await cli(['enroll-token', 'revoke', et.id, '--reason', 'x'], viewer.token);
    assert.equal(deniedRevoke.code, 1);
    assert.match(deniedRevoke.stderr, /error \[FORBIDDEN\]: hub: .*needs the operator role/);
    assert.equal((await cli(['enroll-token', 'revoke', et.id])).code, 2, 'a reason is required');
    const rev = await cli(['enroll-token', 'revoke', et.id, '--reason', 'pasted in a ticket'], opToken.token);
    assert.equal(rev.code, 0, rev.stderr);
    assert.equal(rev.stdout, `revoked enrollment token ${et.id} (0 of 50 uses taken); devices it enrolled keep their credentials: edgefleet audit --action device.enroll --actor-id ${et.id} lists them\n`);
    const etLs = await cli(['enroll-token', 'ls'], viewer.token);
    assert.match(etLs.stdout, new RegExp(`^${et.id}\\s+revoked \\S+ by operator-\\d{8}-\\d{6}\\s+0/50`, 'm'));
    const enrolled = await fetch(`${ready.http}/api/v1/enroll`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: et.token, facts: { os: 'linux', arch: 'arm64', cpus: 4, memoryMb: 2048, agentVersion: '0.1.0' } }),
    });
    assert.equal(enrolled.status, 401);
    assert.match(((await enrolled.json()) as { error: { message: string } }).error.message, /was revoked at/);
    const twice = await cli(['enroll-token', 'revoke', et.id, '--reason', 'again'], opToken.token);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /error \[CONFLICT\]: hub: enrollment token .* was revoked already/);
    const audited = JSON.parse((await cli(['audit', '--action', 'enrollment-token.revoke', '--json'], viewer.token)).stdout) as { entries: Array<{ target: string; reason: string }> };
    assert.deepEqual(audited.entries.map((e) => [e.target, e.reason]), [[et.id, 'pasted in a ticket']]);

    // config set --unset of a key the document does not hold: a misspelt one is refused naming the one
    // likely meant (it was "nothing stored or sent", exit 0); a setting merely not set says so.
    assert.equal((await cli(['config', 'set', 'fleet', '--set', 'concurrency.queue=16', '--reason', 'queue'])).code, 0);
    const unsetTypo = await cli(['config', 'set', 'fleet', '--unset', 'concurency.queue', '--reason', 'back to default']);
    assert.equal(unsetTypo.code, 1, unsetTypo.stdout);
    assert.match(unsetTypo.stderr, /^error \[CONFIG_INVALID\]: --unset concurency\.queue: not a remote setting; did you mean "concurrency\.queue"\?/);
    const notSet = await cli(['config', 'set', 'fleet', '--unset', 'log.level', '--reason', 'x']);
    assert.equal(notSet.code, 0, notSet.stderr);
    assert.equal(notSet.stderr, 'note: --unset log.level: fleet (version 1) does not set it\n');
    assert.match(notSet.stdout, /^fleet is at version 1 with these settings already: nothing stored or sent/);

    // The data dir and its database are private to the hub's user.
    assert.equal(statSync(join(dir, 'hub')).mode & 0o777, 0o700);
    for (const f of ['hub.db', 'hub.db-wal', 'hub.db-shm']) assert.equal(statSync(join(dir, 'hub', f)).mode & 0o777, 0o600, f);
  } finally {
    await hub.stop('SIGTERM', 20_000);
    rmSync(dir, { recursive: true, force: true });
  }
});
