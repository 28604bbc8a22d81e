// The database URL's TLS settings as the hub takes them (tls.ts, docs/decisions/0075-postgresql-tls-verify-full-only.md):
// which sslmode values pass, files that cannot be read or hold no PEM, and the hints for failed
// connections. The real server's side is test/src/scenarios/postgres-tls.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tlsFailureHint, tlsProblem } from './tls.js';

const BASE = 'postgres://edgefleet@db.example:5432/hub';

test('sslmode: verify-full and disable pass, every other value is named with what to write', () => {
  for (const q of ['', '?sslmode=verify-full', '?sslmode=disable', '?application_name=x']) assert.equal(tlsProblem(`${BASE}${q}`), undefined, q);
  for (const mode of ['prefer', 'require', 'verify-ca', 'no-verify', 'allow', 'VERIFY-FULL']) {
    assert.match(tlsProblem(`${BASE}?sslmode=${mode}`) ?? '', new RegExp(`^sslmode=${mode} is not accepted: .* expected sslmode=verify-full \\(with sslrootcert=/path/to/ca\\.pem for a private CA\\) or sslmode=disable`), mode);
  }
});

test('files named by the URL: unreadable or without PEM named with the parameter and path; PEM passes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-pg-tls-unit-'));
  try {
    const pem = join(dir, 'ca.pem');
    writeFileSync(pem, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const junk = join(dir, 'junk');
    writeFileSync(junk, 'hello');
    assert.equal(tlsProblem(`${BASE}?sslmode=verify-full&sslrootcert=${pem}`), undefined);
    assert.match(tlsProblem(`${BASE}?sslmode=verify-full&sslrootcert=${join(dir, 'gone.pem')}`) ?? '', /^sslrootcert=\S+gone\.pem cannot be read \(ENOENT: [^)]*\): expected a PEM file with the CA certificate/);
    assert.match(tlsProblem(`${BASE}?sslcert=${junk}&sslkey=${pem}`) ?? '', /^sslcert=\S+junk holds no PEM block: expected a PEM file with the hub's client certificate$/);
    assert.match(tlsProblem(`${BASE}?sslkey=${dir}`) ?? '', /^sslkey=\S+ cannot be read \(EISDIR/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hints: the CA in the URL or none, a TLS-only server without sslmode, a server without TLS', () => {
  const withCa = `${BASE}?sslmode=verify-full&sslrootcert=/etc/edgefleet/pg-ca.pem`;
  assert.match(tlsFailureHint('unable to verify the first certificate', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', withCa) ?? '', /not signed by the CA in sslrootcert=\/etc\/edgefleet\/pg-ca\.pem/);
  assert.match(tlsFailureHint('self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN', `${BASE}?sslmode=verify-full`) ?? '', /expected sslrootcert=\/path\/to\/ca\.pem in the URL/);
  assert.match(tlsFailureHint('certificate has expired', 'CERT_HAS_EXPIRED', withCa) ?? '', /outside its validity dates/);
  const noEncryption = 'no pg_hba.conf entry for host "10.0.0.5", user "edgefleet", database "hub", no encryption';
  assert.match(tlsFailureHint(noEncryption, '28000', BASE) ?? '', /takes only TLS connections from this host .* expected sslmode=verify-full&sslrootcert=/);
  assert.equal(tlsFailureHint(noEncryption, '28000', `${BASE}?sslmode=disable`)?.includes('only TLS'), true, 'disable is still no TLS');
  assert.equal(tlsFailureHint(noEncryption.replace('no encryption', 'SSL encryption'), '28000', withCa), undefined, 'a hostnossl refusal is not about TLS missing');
  assert.match(tlsFailureHint('The server does not support SSL connections', undefined, withCa) ?? '', /the server has none \(ssl = off\)/);
  assert.equal(tlsFailureHint('The server does not support SSL connections', undefined, BASE), undefined);
  assert.equal(tlsFailureHint('password authentication failed for user "edgefleet"', '28P01', withCa), undefined);
});
