// The broker's TLS files (--tls-cert, --tls-key; docs/operations.md "TLS") are refused by name: a missing
// file, a file that is not PEM and a key of another certificate each stop `edgefleet-hub run` with
// CONFIG_INVALID naming the option and the file (they were a bare ENOENT and an OpenSSL `INTERNAL`
// error); a matching pair starts the mqtts listener. Certificates are made here with openssl.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeKeys, makeTrust, runCli, startProcess, type Keys, type Trust } from '@edgefleet/examples';
import { readTlsFiles } from './tls-files.js';

const openssl = spawnSync('openssl', ['version']).status === 0;
const HUB = 'hub/src/server/main.ts';

function selfSigned(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.cert.pem`);
  const key = join(dir, `${name}.key.pem`);
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { cert, key };
}

describe('TLS files of the embedded broker', { skip: openssl ? false : 'openssl not installed' }, () => {
  let dir = '';
  let a: { cert: string; key: string };
  let b: { cert: string; key: string };
  let keys: Keys;
  let trust: Trust;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ef-tls-files-'));
    a = selfSigned(dir, 'a');
    b = selfSigned(dir, 'b');
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
});
