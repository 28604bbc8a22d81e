// `edgefleet-hub mosquitto-config --data-dir` (docs/mqtt.md "External broker"), the real command on a real
// store, SQLite and PostgreSQL. The hub keeps only hashes of device secrets, so a rewrite used to drop every
// device's entry: the revocation the docs describe (regenerate, reload) locked the whole fleet out. Now the
// entries of devices still on record are kept and revoked or unknown ones go. And a data dir without hub.db
// (a hub on PostgreSQL, a typo) used to get a new empty hub.db, listing no device, which `backup` then copied
// as though it were the hub's: it is refused and nothing is created.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dispatch, StringWriter } from '@edgefleet/shared/cli';
import { mosquittoPasswordLine } from '../mqtt/mosquitto-config.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { Store } from '../store/index.js';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { hubServerCli } from './main.js';

async function mosquittoConfig(argv: string[]) {
  const out = new StringWriter();
  const err = new StringWriter();
  const code = await dispatch(hubServerCli, ['mosquitto-config', '--hub-user', 'hub-1', '--hub-password', 'p', ...argv], { stdout: out, stderr: err, env: {}, cwd: tmpdir(), now: () => new Date() });
  return { code, out: out.text, err: err.text };
}

const users = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(':')[0]);

let backend: Backend;
forEachBackend((b) => { backend = b; }, () => {
  test('a rewrite keeps the entries of devices on record and drops revoked and unknown ones', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'ef-mcfg-dev-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const data = join(dir, 'data');
    const database = backend.database();
    const store = Store.open(data, HUB_MIGRATIONS, { database });
    const at = new Date();
    for (const id of ['d1', 'd2', 'd3']) store.devices.create(id, `secret-${id}`, {}, null, at);
    store.devices.revoke('d2', at);
    store.close();
    const out = join(dir, 'mosq');
    mkdirSync(out);
    const d1 = mosquittoPasswordLine('d1', 'secret-d1');
    writeFileSync(join(out, 'passwd'), [mosquittoPasswordLine('hub-1', 'old'), d1, mosquittoPasswordLine('d2', 'secret-d2'), mosquittoPasswordLine('gone', 'x'), ''].join('\n'));
    const r = await mosquittoConfig(['--out', out, '--data-dir', data, ...(database ? ['--database', database] : [])]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(users(join(out, 'passwd')), ['hub-1', 'd1'], 'd1 kept; d2 revoked, gone unknown; d3 has no entry to keep');
    assert.ok(readFileSync(join(out, 'passwd'), 'utf8').includes(`${d1}\n`), 'd1\'s entry as it was');
    assert.match(r.out, /^kept the entries of 1 device\(s\) from the passwd it replaced$/m);
    assert.match(r.out, /^1 device\(s\) have no secret on record .*: d3;/m);
  });
});

test('a data dir without hub.db, or none, is refused and nothing is created', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-mcfg-dev-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = join(dir, 'data');
  mkdirSync(data);
  writeFileSync(join(data, 'trust.json'), '{}'); // a hub on PostgreSQL keeps no hub.db
  const out = join(dir, 'mosq');
  const r = await mosquittoConfig(['--out', out, '--data-dir', data]);
  assert.equal(r.code, 1);
  assert.equal(r.err, `error [NOT_FOUND]: --data-dir ${data} holds no hub.db: expected the data directory of a hub on SQLite, or for a hub run with --database that URL too (--database postgres://…)\n`);
  assert.deepEqual(readdirSync(data), ['trust.json'], 'no hub.db made');
  const missing = await mosquittoConfig(['--out', out, '--data-dir', join(dir, 'typo')]);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /^error \[NOT_FOUND\]: --data-dir \S+\/typo does not exist: expected the hub's data directory\n$/);
  assert.equal(existsSync(join(dir, 'typo')), false);
  assert.equal(existsSync(out), false, 'no files written');
  const bad = await mosquittoConfig(['--out', out, '--data-dir', data, '--database', 'mysql://x/y']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--database mysql:\/\/x\/y: expected a PostgreSQL URL/);
});
