// install.sh and uninstall.sh as an operator runs them on a box (docs/operations.md "Installing from a
// tarball", "Upgrades"), against a temp root (--root): the agent's tarball built under umask 077 and
// installed under umask 077 is still readable by the service user; installing again keeps the data
// dir and a unit the operator edited, and replaces one nobody edited; an older tarball over a database
// a newer agent wrote is refused before anything changes (read as the data dir's owner when run as
// root, so no root-owned SQLite files are left there); a prefix holding the other program is refused;
// a unit that was running is restarted once the new files are in place (try-restart) and one that was
// not stays stopped (systemctl is a stub recording its calls: systemd cannot run here); a restart that
// fails exits 1 naming it and what to do, with the new version wholly installed;
// the commands in /usr/local/bin run the program with the node install.sh chose, not the one on PATH;
// uninstall.sh removes only what install.sh put in a shared prefix and keeps the unit's drop-ins (the
// tarball's own copy, run where it was unpacked, is refused and changes nothing), and
// --purge deletes the data dir and the drop-ins, and says it keeps the user the other program runs as.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { makeKeys, makeTrust } from '@edgefleet/examples';
import { buildAndUnpack, run } from './package-build.js';

const DATA = 'var/lib/edgefleet-agent';
const UNIT = 'etc/systemd/system/edgefleet-agent.service';
/** As root, the data dir belongs to another user (as install.sh's useradd makes it), so reads as its owner show. */
const OWNER = process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0 ? 65534 : undefined;

const sh = (args: string[], env?: NodeJS.ProcessEnv) => spawnSync('sh', args, { encoding: 'utf8', timeout: 60_000, ...(env ? { env: { ...process.env, ...env } } : {}) });

/** Runs install.sh or uninstall.sh with `env` and returns its stdout; fails the test on a non-zero exit. */
function script(args: string[], env: NodeJS.ProcessEnv): string {
  const r = sh(args, env);
  assert.equal(r.status, 0, `${args.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/**
 * A systemctl for the scripts (SYSTEMCTL=): records each call with the version in `manifest` at that
 * moment (the installed program's), and answers is-active as the unit running (`active`) or not.
 */
function systemctlStub(dir: string, manifest: string) {
  const stub = join(dir, 'systemctl');
  const log = join(dir, 'systemctl.log');
  writeFileSync(stub, [
    '#!/bin/sh',
    `printf '%s @%s\\n' "$*" "$(sed -n 's/^  "version": "\\([^"]*\\)",$/\\1/p' '${manifest}' 2>/dev/null)" >> '${log}'`,
    '[ "$1" != is-active ] || exit "$STUB_ACTIVE"',
    // What systemd says when the service's new start fails.
    '[ "$1" != "$STUB_FAIL" ] || { echo "Job for $2 failed because the control process exited with error code." >&2; exit 1; }',
    '',
  ].join('\n'), { mode: 0o755 });
  return {
    /** `fail`: the command (e.g. try-restart) that fails as systemd's does. */
    env: (active: boolean, fail = ''): NodeJS.ProcessEnv => ({ SYSTEMCTL: stub, STUB_ACTIVE: active ? '0' : '3', STUB_FAIL: fail }),
    /** The calls since the last look. */
    calls(): string[] {
      const lines = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : [];
      rmSync(log, { force: true });
      return lines;
    },
  };
}

/** Runs the installed agent as the data dir's owner (as `sudo -u edgefleet` would). */
function agentAs(root: string, args: string[]): ReturnType<typeof spawnSync> {
  const cmd = [process.execPath, join(root, 'opt/edgefleet/agent/bin/edgefleet-agent.js'), ...args];
  return OWNER === undefined
    ? spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', timeout: 60_000 })
    : spawnSync('setpriv', ['--reuid', String(OWNER), '--regid', String(OWNER), '--clear-groups', ...cmd], { encoding: 'utf8', timeout: 60_000 });
}

/** Every file and directory under `dir`, recursively. */
function walk(dir: string, out: string[] = []): string[] {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    out.push(p);
    if (lstatSync(p).isDirectory()) walk(p, out);
  }
  return out;
}

describe('install.sh and uninstall.sh from the agent tarball, on a temp root', () => {
  let dir: string;
  let tree: string;
  let tarball: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-install-'));
    const umask = process.umask(0o077); // a builder with a strict umask: the tarball's modes must not follow it
    try {
      ({ tree, tarball } = await buildAndUnpack('agent', join(dir, 'out'), join(dir, 'unpacked')));
    } finally {
      process.umask(umask);
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the tarball and the installed tree are readable by the service user whatever the umask', () => {
    const listing = run('tar', ['-tvzf', tarball]).trim().split('\n');
    const closed = listing.filter((l) => !/^[-d]r.{5}r/.test(l));
    assert.deepEqual(closed, [], 'every entry readable by others');
    const root = join(dir, 'root-umask');
    mkdirSync(join(root, 'opt/edgefleet'), { recursive: true, mode: 0o700 }); // left so by an install under umask 077 before
    const r = spawnSync('sh', ['-c', 'umask 077 && exec sh "$0" --root "$1"', join(tree, 'install.sh'), root], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    for (const p of [join(root, 'opt/edgefleet'), ...walk(join(root, 'opt/edgefleet'))]) {
      const st = lstatSync(p);
      if (st.isSymbolicLink()) continue;
      assert.ok((st.mode & 0o004) !== 0 && (!st.isDirectory() || (st.mode & 0o001) !== 0), `${p}: mode ${(st.mode & 0o777).toString(8)}`);
    }
    assert.equal(statSync(join(root, UNIT)).mode & 0o777, 0o644);
    assert.equal(statSync(join(root, DATA)).mode & 0o777, 0o700, 'the data dir stays private');
    const manifest = JSON.parse(readFileSync(join(root, 'opt/edgefleet/MANIFEST.json'), 'utf8')) as { schema: { file: string; table: string; known: number[] } };
    assert.equal(manifest.schema.file, 'agent.db');
    assert.equal(manifest.schema.table, 'migrations');
    assert.ok(manifest.schema.known.length > 0 && manifest.schema.known.includes(1), JSON.stringify(manifest.schema));
  });

  it("the commands in /usr/local/bin run the program with the node install.sh chose, whatever PATH holds (sudo's secure_path)", () => {
    const root = join(dir, 'root-commands');
    mkdirSync(join(root, 'usr/local/bin'), { recursive: true });
    const node = join(dir, 'node-20', 'node'); // a Node that is not on PATH, as NODE= names it
    mkdirSync(join(dir, 'node-20'));
    symlinkSync(process.execPath, node);
    // An install from before the commands were scripts left a link: replacing it must not write through it.
    symlinkSync('/opt/edgefleet/agent/bin/edgefleet-agent.js', join(root, 'usr/local/bin/edgefleet-agent'));
    script([join(tree, 'install.sh'), '--root', root, '--no-systemd'], { NODE: node });
    const cmd = join(root, 'usr/local/bin/edgefleet-agent');
    assert.equal(lstatSync(cmd).isSymbolicLink(), false);
    assert.equal(statSync(cmd).mode & 0o777, 0o755);
    const text = readFileSync(cmd, 'utf8');
    assert.equal(text, [
      '#!/bin/sh',
      '# edgefleet: runs /opt/edgefleet/agent/bin/edgefleet-agent.js with the node install.sh chose (uninstall.sh removes this)',
      `exec '${node}' '/opt/edgefleet/agent/bin/edgefleet-agent.js' "$@"`,
      '',
    ].join('\n'));
    assert.match(readFileSync(join(root, 'opt/edgefleet/agent/bin/edgefleet-agent.js'), 'utf8'), /^#!\/usr\/bin\/env node/, 'the program itself is untouched');
    // Run as on the box (the prefix is / there): no node on PATH at all.
    const onBox = join(dir, 'edgefleet-agent-on-box');
    writeFileSync(onBox, text.replace(`'/opt/edgefleet/`, `'${root}/opt/edgefleet/`), { mode: 0o755 });
    const r = spawnSync(onBox, ['--version'], { encoding: 'utf8', env: { PATH: '/nonexistent' }, timeout: 60_000 });
    assert.equal(r.status, 0, `${r.stderr}${r.stdout}`);
    assert.match(r.stdout, /^edgefleet-agent 0\.1\.0$/m);

    // uninstall.sh removes its own command, and keeps one of that name it did not write.
    const other = join(root, 'usr/local/bin/edgefleet-agent');
    script([join(root, 'opt/edgefleet/uninstall.sh'), '--root', root], { NODE: node });
    assert.throws(() => lstatSync(other), /ENOENT/);
    script([join(tree, 'install.sh'), '--root', root, '--no-systemd'], { NODE: node });
    writeFileSync(other, '#!/bin/sh\nexec /usr/bin/true\n', { mode: 0o755 });
    script([join(root, 'opt/edgefleet/uninstall.sh'), '--root', root], { NODE: node });
    assert.equal(readFileSync(other, 'utf8'), '#!/bin/sh\nexec /usr/bin/true\n', 'a command someone else wrote stays');
  });

  it('installed again: the data dir and an edited unit are kept, an unedited one replaced, a running unit restarted; an older program over a newer database is refused', () => {
    const root = join(dir, 'root-upgrade');
    mkdirSync(root);
    const manifest = join(root, 'opt/edgefleet/MANIFEST.json');
    const systemctl = systemctlStub(dir, manifest);
    // A first install starts nothing (the unit is not running): enrollment comes first.
    const first = script([join(tree, 'install.sh'), '--root', root], systemctl.env(false));
    assert.deepEqual(systemctl.calls(), ['is-active --quiet edgefleet-agent.service @', 'daemon-reload @0.1.0']);
    assert.match(first, /^next: sudo -u edgefleet edgefleet-agent enroll /m);
    const data = join(root, DATA);
    if (OWNER !== undefined) chownSync(data, OWNER, OWNER);
    const trust = makeTrust(join(dir, 'trust'), makeKeys(join(dir, 'keys')));
    if (OWNER !== undefined) for (const p of [dir, join(dir, 'trust'), trust.path]) chownSync(p, OWNER, OWNER);
    const made = agentAs(root, ['trust', 'set', trust.path, '--data-dir', data]);
    assert.equal(made.status, 0, String(made.stderr));
    const db = join(data, 'agent.db');
    assert.ok(existsSync(db));

    // An unit the previous version wrote and nobody edited is replaced by this version's. The unit ran
    // the previous version (0.0.9): it is restarted, after the new files are in place and systemd reloaded.
    const pristine = join(root, 'opt/edgefleet/systemd/edgefleet-agent.service');
    for (const p of [pristine, join(root, UNIT)]) appendFileSync(p, '# the previous version\n');
    writeFileSync(manifest, JSON.stringify({ ...JSON.parse(readFileSync(manifest, 'utf8')) as object, version: '0.0.9' }, null, 2));
    const again = script([join(tree, 'install.sh'), '--root', root], systemctl.env(true));
    assert.deepEqual(systemctl.calls(), ['is-active --quiet edgefleet-agent.service @0.0.9', 'daemon-reload @0.1.0', 'try-restart edgefleet-agent.service @0.1.0']);
    assert.match(again, /^restarted edgefleet-agent\.service, which was running 0\.0\.9: it now runs 0\.1\.0, which applies its database migrations at start/m);
    assert.equal(readFileSync(join(root, UNIT), 'utf8'), readFileSync(pristine, 'utf8'));
    assert.doesNotMatch(readFileSync(join(root, UNIT), 'utf8'), /the previous version/);

    // One the operator edited is kept; this version's is left beside the program.
    appendFileSync(join(root, UNIT), 'ReadWritePaths=/srv/batch-out\n');
    const edited = readFileSync(join(root, UNIT), 'utf8');
    // A unit that is stopped stays stopped.
    const kept = script([join(tree, 'install.sh'), '--root', root], systemctl.env(false));
    assert.deepEqual(systemctl.calls(), ['is-active --quiet edgefleet-agent.service @0.1.0', 'daemon-reload @0.1.0']);
    assert.match(kept, /^upgraded from 0\.1\.0; edgefleet-agent\.service was not running, so it was not started: systemctl start edgefleet-agent\.service runs 0\.1\.0/m);
    assert.match(kept, new RegExp(`^kept ${root}/${UNIT}: it was edited since the last install; this version's unit is /opt/edgefleet/systemd/edgefleet-agent\\.service: compare`, 'm'));
    assert.equal(readFileSync(join(root, UNIT), 'utf8'), edited);
    assert.ok(existsSync(db), 'the data dir is kept');

    // A newer agent's migration in agent.db: this (older) tarball is refused, nothing changes.
    const writer = new Database(db);
    writer.prepare('INSERT INTO migrations (id, name, applied_at) VALUES (?, ?, ?)').run(99999, 'from a newer agent', new Date().toISOString());
    writer.close();
    if (OWNER !== undefined) for (const f of readdirSync(data)) chownSync(join(data, f), OWNER, OWNER);
    const before = readFileSync(db);
    const manifestAt = statSync(join(root, 'opt/edgefleet/MANIFEST.json')).mtimeMs;
    const refused = sh([join(tree, 'install.sh'), '--root', root], systemctl.env(true));
    assert.equal(refused.status, 1, refused.stdout);
    assert.deepEqual(systemctl.calls(), [], 'a refused install restarts nothing');
    assert.match(refused.stderr, /^error \[SCHEMA_TOO_NEW\]: \/var\/lib\/edgefleet-agent\/agent\.db was written by a newer agent \(the installed 0\.1\.0\): it records migration\(s\) 99999 \("from a newer agent"\) that edgefleet-agent 0\.1\.0 does not know, so it would refuse to start\. Nothing was changed\./m);
    assert.ok(readFileSync(db).equals(before), 'agent.db is byte for byte as it was');
    assert.equal(statSync(join(root, 'opt/edgefleet/MANIFEST.json')).mtimeMs, manifestAt, 'the installed program is untouched');
    assert.deepEqual(readdirSync(join(root, 'opt/edgefleet')).filter((n) => n.startsWith('.')), [], 'no staging left');
    if (OWNER !== undefined) {
      for (const f of readdirSync(data)) assert.equal(statSync(join(data, f)).uid, OWNER, `${f}: owned by the data dir's owner, not root`);
    }
    // What the program itself says on it (docs/operations.md "Upgrades").
    const status = agentAs(root, ['status', '--data-dir', data]);
    assert.match(String(status.stderr), /^error \[SCHEMA_TOO_NEW\]/m);

    // The other program's prefix: refused, its node_modules would be replaced.
    const mf = join(root, 'opt/edgefleet/MANIFEST.json');
    writeFileSync(mf, readFileSync(mf, 'utf8').replace('"program": "agent"', '"program": "hub"'));
    const other = sh([join(tree, 'install.sh'), '--root', root]);
    assert.equal(other.status, 1);
    assert.match(other.stderr, /^error \[CONFIG_INVALID\]: \/opt\/edgefleet holds edgefleet-hub: expected a prefix of its own for edgefleet-agent \(--prefix DIR\)$/m);
  });

  it('a restart that fails after an upgrade: exit 1 saying what failed and what to do, the new version fully installed', () => {
    const root = join(dir, 'root-restart-fails');
    mkdirSync(root);
    const prefix = join(root, 'opt/edgefleet');
    const manifest = join(prefix, 'MANIFEST.json');
    const systemctl = systemctlStub(dir, manifest);
    script([join(tree, 'install.sh'), '--root', root], systemctl.env(false));
    systemctl.calls();
    // The unit ran 0.0.9, whose unit file the operator edited: both count when the new version will not start.
    writeFileSync(manifest, JSON.stringify({ ...JSON.parse(readFileSync(manifest, 'utf8')) as object, version: '0.0.9' }, null, 2));
    appendFileSync(join(root, UNIT), 'ReadWritePaths=/srv/batch-out\n');
    const edited = readFileSync(join(root, UNIT), 'utf8');

    const r = sh([join(tree, 'install.sh'), '--root', root], systemctl.env(true, 'try-restart'));
    assert.equal(r.status, 1, `${r.stderr}${r.stdout}`);
    assert.deepEqual(systemctl.calls(), ['is-active --quiet edgefleet-agent.service @0.0.9', 'daemon-reload @0.1.0', 'try-restart edgefleet-agent.service @0.1.0']);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines[0], 'Job for edgefleet-agent.service failed because the control process exited with error code.', 'systemctl\'s own words come first ("above")');
    assert.equal(lines.at(-1), `error [IO_ERROR]: systemctl try-restart edgefleet-agent.service failed (above): edgefleet-agent 0.1.0 is installed in ${prefix} (every file; it replaced 0.0.9), but the service may be stopped or failed: see systemctl status edgefleet-agent.service and journalctl -u edgefleet-agent.service, fix the cause, then systemctl restart edgefleet-agent.service`);
    assert.ok(lines.some((l) => l.startsWith(`kept ${root}/${UNIT}: it was edited since the last install`)), 'the kept unit is named: it may be why the service will not start');
    assert.doesNotMatch(r.stdout, /restarted|installed edgefleet-agent/, 'nothing claims the service runs the new version');

    // Not half-installed: the new program, its unit copy and links, and nothing staged or left over.
    assert.equal((JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version, '0.1.0');
    assert.ok(existsSync(join(prefix, 'agent/bin/edgefleet-agent.js')) && existsSync(join(prefix, 'node_modules/better-sqlite3')));
    assert.equal(readFileSync(join(root, UNIT), 'utf8'), edited, 'the edited unit is kept');
    assert.ok(existsSync(join(prefix, 'systemd/edgefleet-agent.service')));
    assert.match(readFileSync(join(root, 'usr/local/bin/edgefleet-agent'), 'utf8'), /^exec '.*' '\/opt\/edgefleet\/agent\/bin\/edgefleet-agent\.js' "\$@"$/m);
    assert.deepEqual(readdirSync(prefix).filter((n) => n.startsWith('.')), [], 'no staging or old tree left');
    assert.equal(statSync(join(root, DATA)).mode & 0o777, 0o700);

    // Once the cause is fixed, installing again (or systemctl restart) finishes it.
    const again = script([join(tree, 'install.sh'), '--root', root], systemctl.env(true));
    assert.deepEqual(systemctl.calls(), ['is-active --quiet edgefleet-agent.service @0.1.0', 'daemon-reload @0.1.0', 'try-restart edgefleet-agent.service @0.1.0']);
    assert.match(again, /^restarted edgefleet-agent\.service, which was running 0\.1\.0: it now runs 0\.1\.0/m);
  });

  it('uninstall.sh removes only what install.sh put in a shared prefix and the commands it wrote, and keeps drop-ins; --purge deletes the data dir and the drop-ins', () => {
    const root = join(dir, 'root-shared');
    mkdirSync(join(root, 'opt/shared'), { recursive: true });
    writeFileSync(join(root, 'opt/shared/other.txt'), 'not ours\n');
    run('sh', [join(tree, 'install.sh'), '--root', root, '--prefix', '/opt/shared', '--user', 'efagent']);
    assert.equal(readFileSync(join(root, 'opt/shared/install.conf'), 'utf8'), 'user=efagent\n');
    const link = join(root, 'usr/local/bin/edgefleet-agent');
    unlinkSync(link);
    symlinkSync('/opt/another/edgefleet-agent.js', link); // someone else's command of that name since
    writeFileSync(join(root, DATA, 'agent.db'), 'x');
    // What `systemctl edit edgefleet-agent` writes (docs/operations.md "The units"): the operator's settings.
    const dropins = join(root, `${UNIT}.d`);
    mkdirSync(dropins);
    writeFileSync(join(dropins, 'override.conf'), '[Service]\nReadWritePaths=/srv/scored\n');
    // The tarball's own uninstall.sh, beside install.sh, is refused: it removed the unit and the unpacked files, and left the program.
    const stray = sh([join(tree, 'uninstall.sh'), '--root', root]);
    assert.equal(stray.status, 1, stray.stderr);
    assert.match(stray.stderr, /^error \[CONFIG_INVALID\]: .* is not where install\.sh put edgefleet-agent \(it holds no install\.conf: an unpacked tarball\?\): nothing was changed\. Run the uninstall\.sh in the prefix: \/opt\/edgefleet\/uninstall\.sh/);
    assert.ok(existsSync(join(root, UNIT)) && existsSync(join(tree, 'agent')) && existsSync(join(tree, 'MANIFEST.json')), 'the unit and the unpacked tarball stay');
    const out = run('sh', [join(root, 'opt/shared/uninstall.sh'), '--root', root]);
    assert.match(out, /^removed edgefleet-agent; kept \/var\/lib\/edgefleet-agent and the unit's drop-ins in \/etc\/systemd\/system\/edgefleet-agent\.service\.d \(uninstall\.sh --purge deletes them\)$/m);
    assert.ok(existsSync(join(dropins, 'override.conf')), 'the drop-ins stay without --purge');
    assert.match(out, /^kept \/opt\/shared: it holds files install\.sh did not put there$/m);
    assert.deepEqual(readdirSync(join(root, 'opt/shared')), ['other.txt']);
    assert.ok(lstatSync(link).isSymbolicLink(), 'a link that is not ours stays');
    assert.ok(!existsSync(join(root, UNIT)));
    assert.ok(existsSync(join(root, DATA, 'agent.db')));

    run('sh', [join(tree, 'install.sh'), '--root', root, '--prefix', '/opt/shared']);
    const runtime = join(root, 'run/systemd/system/edgefleet-agent.service.d');
    mkdirSync(runtime, { recursive: true });
    writeFileSync(join(runtime, '50-mem.conf'), '[Service]\nMemoryMax=1G\n'); // `systemctl set-property --runtime`
    writeFileSync(join(root, 'etc/systemd/system/edgefleet-hub.service'), '[Service]\nUser=edgefleet\n'); // the hub on the same box
    const systemctl = systemctlStub(dir, join(root, 'opt/shared/MANIFEST.json'));
    const purged = script([join(root, 'opt/shared/uninstall.sh'), '--root', root, '--purge'], systemctl.env(true));
    assert.deepEqual(systemctl.calls(), ['disable --now edgefleet-agent.service @0.1.0', 'daemon-reload @0.1.0']);
    assert.match(purged, /^removed the drop-ins in \/etc\/systemd\/system\/edgefleet-agent\.service\.d: override\.conf$/m);
    assert.match(purged, /^removed the drop-ins in \/run\/systemd\/system\/edgefleet-agent\.service\.d: 50-mem\.conf$/m);
    // It said "… and user edgefleet", a user it kept for the hub.
    assert.match(purged, /^removed edgefleet-agent and its data dir \/var\/lib\/edgefleet-agent; kept user edgefleet: edgefleet-hub\.service is installed and runs as it$/m);
    assert.ok(!existsSync(join(root, DATA)));
    assert.ok(!existsSync(dropins) && !existsSync(runtime), 'the drop-in directories are gone');
    assert.ok(existsSync(join(root, 'run/systemd/system')), 'only the unit\'s own drop-in directory is removed');
    assert.throws(() => lstatSync(link), /ENOENT/, 'its own link is removed');
    assert.deepEqual(readdirSync(join(root, 'opt/shared')), ['other.txt']);
  });
});
