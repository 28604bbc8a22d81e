// An upgrade run as docs/operations.md "Upgrades" says (install.sh of the newer tarball, again) over an
// install made with --prefix and --user: the prefix and the user of that install are kept when the
// upgrade does not repeat them (it installed a second copy under /opt/edgefleet, left the unit running
// the old one and said it was "edited", and recorded the user edgefleet, who owns none of the data dir's
// files); a --prefix or --user other than the install's is refused before anything changes
// (docs/decisions/0121-an-upgrade-keeps-the-prefix-and-user.md). An older tarball over a newer install
// says it downgraded (it said "upgraded from 0.2.0"); over a kept data dir whose database a newer agent
// wrote, the refusal names the version that agent recorded.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { buildAndUnpack } from './package-build.js';

const UNIT = 'etc/systemd/system/edgefleet-agent.service';

describe('install.sh again over an install with --prefix and --user (an upgrade)', () => {
  let dir: string;
  let tree: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-upgrade-'));
    ({ tree } = await buildAndUnpack('agent', join(dir, 'out'), join(dir, 'unpacked')));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const install = (root: string, ...args: string[]) => spawnSync('sh', [join(tree, 'install.sh'), '--root', root, ...args], { encoding: 'utf8', timeout: 60_000 });

  it('keeps the prefix and the user of the install it upgrades, and refuses other ones naming them', () => {
    const root = join(dir, 'root');
    mkdirSync(root);
    const first = install(root, '--prefix', '/srv/ef', '--user', 'efsvc');
    assert.equal(first.status, 0, first.stderr);
    // The installed program is an older version, so this install is the upgrade of the docs.
    const manifest = join(root, 'srv/ef/MANIFEST.json');
    writeFileSync(manifest, JSON.stringify({ ...JSON.parse(readFileSync(manifest, 'utf8')) as object, version: '0.0.9' }, null, 2));
    writeFileSync(join(root, 'var/lib/edgefleet-agent/agent.db'), ''); // the data dir's files stay as they are
    const unitBefore = readFileSync(join(root, UNIT), 'utf8');

    const up = install(root);
    assert.equal(up.status, 0, up.stderr);
    assert.match(up.stdout, /^installed edgefleet-agent 0\.1\.0 in \S+\/srv\/ef \(unit edgefleet-agent\.service, data \/var\/lib\/edgefleet-agent, user efsvc\)$/m);
    assert.match(up.stdout, /^upgraded from 0\.0\.9;/m);
    assert.doesNotMatch(up.stdout, /was edited since the last install/, 'the unit nobody edited is not said to be edited');
    assert.ok(!existsSync(join(root, 'opt')), 'no second copy under /opt/edgefleet');
    const unit = readFileSync(join(root, UNIT), 'utf8');
    assert.equal(unit, unitBefore, 'the unit is this version\'s, for the same prefix and user');
    assert.match(unit, /^User=efsvc$/m);
    assert.match(unit, /^ExecStart=\S+ \/srv\/ef\/agent\/bin\/edgefleet-agent\.js run /m);
    assert.equal(readFileSync(join(root, 'srv/ef/install.conf'), 'utf8'), 'user=efsvc\n');
    assert.equal(JSON.parse(readFileSync(manifest, 'utf8')).version, '0.1.0');
    assert.match(readFileSync(join(root, 'usr/local/bin/edgefleet-agent'), 'utf8'), /'\/srv\/ef\/agent\/bin\/edgefleet-agent\.js'/);

    // The same prefix, spelt with a slash, and the same user: an upgrade too.
    const same = install(root, '--prefix', '/srv/ef/', '--user', 'efsvc');
    assert.equal(same.status, 0, same.stderr);
    assert.ok(!existsSync(join(root, 'opt')));
    // An older tarball over a newer install (going back after a restore) says so: it was "upgraded from".
    writeFileSync(manifest, JSON.stringify({ ...JSON.parse(readFileSync(manifest, 'utf8')) as object, version: '0.10.0' }, null, 2));
    const back = install(root);
    assert.equal(back.status, 0, back.stderr);
    assert.match(back.stdout, /^downgraded from 0\.10\.0; systemctl was not run: systemctl restart edgefleet-agent\.service runs 0\.1\.0/m);

    const at = statSync(manifest).mtimeMs;
    const moved = install(root, '--prefix', '/opt/edgefleet');
    assert.equal(moved.status, 1, moved.stdout);
    assert.match(moved.stderr, /^error \[CONFIG_INVALID\]: edgefleet-agent is installed in \/srv\/ef \(\/usr\/local\/bin\/edgefleet-agent runs it\): --prefix \/opt\/edgefleet would install a second copy while the unit and that install stay\. Nothing was changed\. Expected no --prefix \(or --prefix \/srv\/ef\) to upgrade it; to move it, run \/srv\/ef\/uninstall\.sh first/m);
    const other = install(root, '--user', 'edgefleet');
    assert.equal(other.status, 1, other.stdout);
    assert.match(other.stderr, /^error \[CONFIG_INVALID\]: edgefleet-agent in \/srv\/ef runs as efsvc \(\/srv\/ef\/install\.conf\), who owns the files in \/var\/lib\/edgefleet-agent: --user edgefleet would run the service as a user that cannot read them\. Nothing was changed\. Expected no --user \(or --user efsvc\)/m);
    assert.ok(!existsSync(join(root, 'opt')), 'a refused install writes nothing');
    assert.equal(statSync(manifest).mtimeMs, at, 'the installed program is untouched');
    assert.equal(readFileSync(join(root, UNIT), 'utf8'), unitBefore);
    assert.deepEqual(readdirSync(join(root, 'srv/ef')).filter((n) => n.startsWith('.')), [], 'no staging left');

    // Once uninstalled (the data dir kept), another prefix and user are a first install again.
    const un = spawnSync('sh', [join(root, 'srv/ef/uninstall.sh'), '--root', root], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(un.status, 0, un.stderr);
    // The kept data dir of a newer agent: with no install left to name, the version is the one the agent
    // recorded beside its migration (it said "a newer agent" only).
    const db = join(root, 'var/lib/edgefleet-agent/agent.db');
    rmSync(db);
    const writer = new Database(db);
    writer.exec('CREATE TABLE migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL, program_version TEXT)');
    writer.prepare('INSERT INTO migrations VALUES (?, ?, ?, ?)').run(99999, 'from 0.2.0', new Date().toISOString(), '0.2.0');
    writer.close();
    const newer = install(root);
    assert.equal(newer.status, 1, newer.stdout);
    assert.match(newer.stderr, /^error \[SCHEMA_TOO_NEW\]: \/var\/lib\/edgefleet-agent\/agent\.db was written by a newer agent \(0\.2\.0\): it records migration\(s\) 99999 \("from 0\.2\.0"\) that edgefleet-agent 0\.1\.0 does not know/m);
    rmSync(db);
    const fresh = install(root, '--user', 'edgefleet');
    assert.equal(fresh.status, 0, fresh.stderr);
    assert.match(readFileSync(join(root, UNIT), 'utf8'), /^User=edgefleet$/m);
    assert.ok(existsSync(join(root, 'opt/edgefleet/MANIFEST.json')));
  });
});
