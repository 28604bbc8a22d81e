// The broker's TLS files (--tls-cert, --tls-key; docs/operations.md "TLS") are refused by name: a missing
// file, a file that is not PEM and a key of another certificate each stop `edgefleet-hub run` with
// CONFIG_INVALID naming the option and the file (they were a bare ENOENT and an OpenSSL `INTERNAL`
// error); a matching pair starts the mqtts listener. Certificates are made here with openssl.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeKeys, makeTrust, runCli, startProcess, type Keys, type Trust } from '@edgefleet/examples';
import { certificateDateWarning, readTlsFiles } from './tls-files.js';

const openssl = spawnSync('openssl', ['version']).status === 0;
const HUB = 'hub/src/server/main.ts';

function selfSigned(dir: string, name: string, days = '1'): { cert: string; key: string } {
  const cert = join(dir, `${name}.cert.pem`);
  const key = join(dir, `${name}.key.pem`);
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', days,
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { cert, key };
}

/** A certificate whose notAfter is the second it was made (openssl req -x509 refuses -days 0; x509 -req does not). */
function expiredNow(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'expired.cert.pem');
  const key = join(dir, 'expired.key.pem');
  const csr = join(dir, 'expired.csr');
  const r1 = spawnSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost',
    '-keyout', key, '-out', csr], { encoding: 'utf8' });
  assert.equal(r1.status, 0, r1.stderr);
  const r2 = spawnSync('openssl', ['x509', '-req', '-in', csr, '-signkey', key, '-days', '0', '-out', cert], { encoding: 'utf8' });
  assert.equal(r2.status, 0, r2.stderr);
  return { cert, key };
}

describe('TLS files of the embedded broker', { skip: openssl ? false : 'openssl not installed' }, () => {
  let dir = '';
  let a: { cert: string; key: string };
  let b: { cert: string; key: string };
  let expired: { cert: string; key: string };
  let keys: Keys;
  let trust: Trust;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ef-tls-files-'));
    a = selfSigned(dir, 'a');
    b = selfSigned(dir, 'b');
    expired = expiredNow(dir);
    writeFileSync(join(dir, 'notes.txt'), 'not a certificate\n');
    keys = makeKeys(join(dir, 'keys'));
    trust = makeTrust(dir, keys);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a matching pair', () => {
    const got = readTlsFiles(a.cert, a.key);
    assert.match(got.cert.toString('utf8'), /BEGIN CERTIFICATE/);
    assert.match(got.key.toString('utf8'), /PRIVATE KEY/);
  });

  it('names the option and file of a missing, a non-PEM and a mismatched file', () => {
    assert.throws(() => readTlsFiles(join(dir, 'nope.pem'), a.key), (e: Error & { code?: string }) =>
      e.code === 'CONFIG_INVALID' && /^tlsCert \(--tls-cert\) .*nope\.pem: cannot read it \(ENOENT\)/.test(e.message));
    assert.throws(() => readTlsFiles(a.cert, join(dir, 'nope.key'))
      , (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && /^tlsKey \(--tls-key\) .*nope\.key: cannot read it/.test(e.message));
    assert.throws(() => readTlsFiles(join(dir, 'notes.txt'), a.key), (e: Error & { code?: string }) =>
      e.code === 'CONFIG_INVALID' && /notes\.txt and tlsKey \(--tls-key\) .*a\.key\.pem are not a usable certificate and private key/.test(e.message));
    assert.throws(() => readTlsFiles(a.cert, b.key), (e: Error & { code?: string }) =>
      e.code === 'CONFIG_INVALID' && /a\.cert\.pem and tlsKey \(--tls-key\) .*b\.key\.pem are not a usable certificate and private key \(.*key values mismatch/.test(e.message));
  });

  it('warns about a certificate that has expired, is not valid yet or expires within 30 days', () => {
    const pem = readFileSync(a.cert);
    const made = Date.now();
    const day = 86_400_000;
    const heard: string[] = [];
    readTlsFiles(a.cert, a.key, new Date(made + 3 * day), (m) => heard.push(m));
    assert.equal(heard.length, 1);
    assert.match(heard[0] ?? '', /^tlsCert \(--tls-cert\) .*a\.cert\.pem expired at \d{4}-.*every device refuses it \("certificate has expired"\).*restart the hub/);
    assert.match(certificateDateWarning(a.cert, pem, new Date(made - 3 * day)) ?? '', /is not valid before .*check the clock/);
    assert.match(certificateDateWarning(a.cert, pem, new Date(made)) ?? '', /expires at .* \(in [01] day\(s\)\); devices will refuse it/);
    const long = selfSigned(dir, 'long', '400');
    assert.equal(certificateDateWarning(long.cert, readFileSync(long.cert), new Date(made)), null);
  });

  it('edgefleet-hub run refuses a mismatched pair by name and serves mqtts with a matching one', async () => {
    const base = ['run', '--http-port', '0', '--mqtt-port', '0', '--mqtts-port', '0', '--trust', trust.path, '--hub-key', keys.files.hub.keyPath];
    const bad = await runCli(HUB, [...base, '--data-dir', join(dir, 'bad'), '--tls-cert', a.cert, '--tls-key', b.key]);
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stderr, /^error \[CONFIG_INVALID\]: tlsCert \(--tls-cert\) .*a\.cert\.pem and tlsKey \(--tls-key\) .*b\.key\.pem are not a usable/m);
    const hub = startProcess(HUB, [...base, '--data-dir', join(dir, 'good'), '--tls-cert', a.cert, '--tls-key', a.key]);
    try {
      const line = await hub.waitForLine(/"msg":"hub ready"/, 60_000);
      assert.match(line, /"mqtts":"mqtts:\/\/127\.0\.0\.1:\d+"/);
    } finally {
      const { code } = await hub.stop('SIGTERM', 20_000);
      assert.equal(code, 0, hub.output().stderr);
    }
  });

  it('edgefleet-hub run with an expired certificate starts and says so in a warning naming the file', async () => {
    const base = ['run', '--http-port', '0', '--mqtt-port', '0', '--mqtts-port', '0', '--trust', trust.path, '--hub-key', keys.files.hub.keyPath];
    const hub = startProcess(HUB, [...base, '--data-dir', join(dir, 'expired'), '--tls-cert', expired.cert, '--tls-key', expired.key]);
    try {
      await hub.waitForLine(/"msg":"hub ready"/, 60_000);
      const warning = hub.output().stdout.split('\n').find((l) => l.includes('certificate has expired'));
      assert.ok(warning, hub.output().stdout);
      assert.match(warning, /"level":40,.*"tlsCert":".*expired\.cert\.pem",.*"msg":"tlsCert \(--tls-cert\) .*expired\.cert\.pem expired at /);
    } finally {
      const { code } = await hub.stop('SIGTERM', 20_000);
      assert.equal(code, 0, hub.output().stderr);
    }
  });
});
