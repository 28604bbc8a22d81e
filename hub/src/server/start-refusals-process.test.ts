// What `edgefleet-hub run` refuses before it creates anything or waits for anything, with the real program
// (docs/decisions/0162-hub-start-refuses-before-it-creates.md): a trust document that does not list the hub key
// and TLS files that are missing, not PEM or not a pair each exit 1 naming the file and what was expected, and
// leave a fresh data dir absent and an existing one as it was (every file's name, size, mtime and sha256). A hub
// started while another holds the database's lease refuses its trust document without waiting for the lease.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeKeys, makeTrust, runCli, startProcess } from '@edgefleet/examples';

const HUB = 'hub/src/server/main.ts';
const openssl = spawnSync('openssl', ['version']).status === 0;
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Every file under `dir` with its size, mtime and sha256 (directories by name). */
function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort().map((f) => {
    const p = join(dir, f);
    const s = statSync(p);
    return s.isDirectory() ? `${f}/` : `${f} ${s.size} ${s.mtimeMs} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
  });
}

function selfSigned(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.cert.pem`);
  const key = join(dir, `${name}.key.pem`);
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=localhost', '-keyout', key, '-out', cert], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { cert, key };
}

/** A temp dir removed after the test, with keys and a trust document listing keys.hub, and a second set of keys. */
function setUp(t: { after: (fn: () => void) => void }, name: string) {
  const dir = mkdtempSync(join(tmpdir(), `ef-hub-startrefuse-${name}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const keys = makeKeys(join(dir, 'keys'));
  return { dir, keys, other: makeKeys(join(dir, 'other-keys')), trust: makeTrust(join(dir, 'trust'), keys) };
}

describe('edgefleet-hub run refuses before it creates anything', () => {
  test('a trust document that does not list the hub key: a fresh data dir is not made, an existing one is left as it was', { timeout: 120_000 }, async (t) => {
    const { dir, other, trust } = setUp(t, 'trust');
    const fresh = join(dir, 'fresh');
    const base = ['--http-port', '0', '--mqtt-port', '0', '--log-level', 'info'];

    // No key anywhere: the key the hub would make cannot be listed, so none is made (nor hub.db, content-keys.key).
    const r1 = await runCli(HUB, ['run', '--data-dir', fresh, '--trust', trust.path, ...base]);
    assert.equal(r1.code, 1, r1.stderr);
    assert.match(r1.stderr, new RegExp(`^error \\[CONFIG_INVALID\\]: trust document ${esc(trust.path)} \\(version 1\\) cannot list this hub's key: `
      + `there is no --hub-key and no ${esc(join(fresh, 'hub.key'))}, .*Expected --hub-key FILE naming a key it lists`, 'm'));
    assert.equal(existsSync(fresh), false, 'the data dir was not made');

    // --hub-key names a key the document does not list.
    const r2 = await runCli(HUB, ['run', '--data-dir', fresh, '--trust', trust.path, '--hub-key', other.files.hub.keyPath, ...base]);
    assert.equal(r2.code, 1, r2.stderr);
    assert.match(r2.stderr, new RegExp(`^error \\[CONFIG_INVALID\\]: trust document ${esc(trust.path)} \\(version 1\\) does not list the hub key ${other.hub.keyId} `, 'm'));
    assert.equal(existsSync(fresh), false, 'the data dir was not made');

    // An existing data dir (its DATA/hub.key is other's): unchanged, file for file.
    const data = join(dir, 'data');
    mkdirSync(data, { mode: 0o700 });
    copyFileSync(other.files.hub.keyPath, join(data, 'hub.key'));
    writeFileSync(join(data, 'notes.txt'), 'kept\n');
    const before = snapshot(data);
    const r3 = await runCli(HUB, ['run', '--data-dir', data, '--trust', trust.path, ...base]);
    assert.equal(r3.code, 1, r3.stderr);
    assert.match(r3.stderr, new RegExp(`^error \\[CONFIG_INVALID\\]: trust document ${esc(trust.path)} \\(version 1\\) does not list the hub key ${other.hub.keyId} `, 'm'));
    assert.doesNotMatch(r3.stdout, /hub lease|hub ready/);
    assert.deepEqual(snapshot(data), before, 'no hub.db, hub.pub, content-keys.key or trust.json made, nothing changed');
  });

  test('TLS files missing, not PEM, or not a pair: exit 1 naming the option and the file; no data dir made', { skip: !openssl && 'needs openssl', timeout: 120_000 }, async (t) => {
    const { dir, keys, trust } = setUp(t, 'tls');
    const a = selfSigned(dir, 'a');
    const b = selfSigned(dir, 'b');
    const notPem = join(dir, 'not-pem.txt');
    writeFileSync(notPem, 'not a certificate\n');
    const fresh = join(dir, 'fresh');
    const run = (cert: string, key: string) => runCli(HUB, ['run', '--data-dir', fresh, '--trust', trust.path, '--hub-key', keys.files.hub.keyPath,
      '--http-port', '0', '--mqtt-port', '0', '--mqtts-port', '0', '--tls-cert', cert, '--tls-key', key, '--log-level', 'warn']);
    const cases: [string, string, RegExp][] = [
      [join(dir, 'missing.pem'), a.key, new RegExp(`^error \\[CONFIG_INVALID\\]: tlsCert \\(--tls-cert\\) ${esc(join(dir, 'missing.pem'))}: cannot read it \\(ENOENT\\); expected a PEM file`, 'm')],
      [notPem, a.key, new RegExp(`^error \\[CONFIG_INVALID\\]: tlsCert \\(--tls-cert\\) ${esc(notPem)} and tlsKey \\(--tls-key\\) ${esc(a.key)} are not a usable certificate and private key .*expected PEM files`, 'm')],
      [a.cert, b.key, new RegExp(`^error \\[CONFIG_INVALID\\]: tlsCert \\(--tls-cert\\) ${esc(a.cert)} and tlsKey \\(--tls-key\\) ${esc(b.key)} are not a usable certificate and private key `, 'm')],
    ];
    for (const [cert, key, message] of cases) {
      const r = await run(cert, key);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(existsSync(fresh), false, `the data dir was not made (${cert}, ${key})`);
    }
  });

  test('a hub started while another holds the lease refuses its trust document before any lease wait', { timeout: 120_000 }, async (t) => {
    const { dir, keys, other, trust } = setUp(t, 'lease');
    const data = join(dir, 'data');
    const base = ['--http-port', '0', '--mqtt-port', '0', '--log-level', 'info'];
    const first = startProcess(HUB, ['run', '--data-dir', data, '--trust', trust.path, '--hub-key', keys.files.hub.keyPath, ...base]);
    t.after(() => first.kill());
    await first.waitForLine(/"msg":"hub ready"/, 60_000);
    // The first hub holds the lease for its whole life; DATA/trust.json lists keys.hub, not other's.
    const r = await runCli(HUB, ['run', '--data-dir', data, '--hub-key', other.files.hub.keyPath, ...base]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^error \\[CONFIG_INVALID\\]: trust document ${esc(join(data, 'trust.json'))} \\(version 1\\) does not list the hub key ${other.hub.keyId} `, 'm'));
    assert.doesNotMatch(r.stdout, /hub lease/, 'refused before the lease was looked at');
    await first.stop('SIGTERM');
  });
});
