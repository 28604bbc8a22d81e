// Device secret hashing (docs/decisions/0008-device-secret-verification.md): the hs256 format,
// constant-time verification, scrypt hashes of earlier hubs flagged for rehash, unknown schemes refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, scryptSync } from 'node:crypto';
import { hashSecret, randomSecret, verifySecret } from './secrets.js';

/** What hubs before decision 0008 stored (store/secrets.ts at 6cce4e2). */
function oldScryptHash(secret: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(secret, salt, 32, { N: 16384, r: 8, p: 1 });
  return `scrypt$16384$8$1$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

test('hs256 hashes are salted and verify only the right secret', () => {
  const s = randomSecret();
  const a = hashSecret(s);
  const b = hashSecret(s);
  assert.match(a, /^hs256\$[\w-]{22}\$[\w-]{43}$/);
  assert.notEqual(a, b, 'a fresh salt each time');
  assert.equal(verifySecret(s, a), 'ok');
  assert.equal(verifySecret(s, b), 'ok');
  assert.equal(verifySecret(`${s}x`, a), 'bad');
  assert.equal(verifySecret('', a), 'bad');
});

test('scrypt hashes of earlier hubs verify and ask for a rehash', async () => {
  const s = randomSecret();
  const old = oldScryptHash(s);
  assert.equal(await verifySecret(s, old), 'ok_rehash');
  assert.equal(await verifySecret(`${s}x`, old), 'bad');
});

test('a stored string in no known scheme, or cut short, is refused rather than thrown on', () => {
  const s = randomSecret();
  const good = hashSecret(s);
  for (const stored of ['', 'plain', `md5$x$y`, good.slice(0, -4), `${good}$extra`, good.replace('hs256', 'HS256')]) {
    assert.equal(verifySecret(s, stored), 'bad', stored);
  }
});
