import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProfileStore, type SecretCipher } from './profiles.js';

/** A reversible stand-in for safeStorage (the real one needs Electron and an OS keyring). */
function xorCipher(available = true): SecretCipher {
  const x = (b: Buffer) => Buffer.from(b.map((c) => c ^ 0x5a));
  return { isEncryptionAvailable: () => available, encryptString: (s) => x(Buffer.from(s)), decryptString: (b) => x(b).toString() };
}

test('profiles: tokens are stored encrypted (0600), listed without tokens, opened decrypted, removed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-profiles-'));
  try {
    const file = join(dir, 'profiles.json');
    const store = new ProfileStore(file, xorCipher());
    store.save({ name: 'prod', address: 'https://hub.example:8700', token: 'efa_secret-token' });
    store.save({ name: 'lab', address: 'http://127.0.0.1:8700', token: 'efa_lab-token' });
    assert.deepEqual(store.list(), [{ name: 'prod', address: 'https://hub.example:8700' }, { name: 'lab', address: 'http://127.0.0.1:8700' }]);
    assert.doesNotMatch(readFileSync(file, 'utf8'), /efa_secret-token|efa_lab-token/);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(store.open('prod').token, 'efa_secret-token');
    assert.equal(store.remove('prod'), true);
    assert.equal(store.remove('prod'), false);
    assert.throws(() => store.open('prod'), /no hub profile "prod"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('profiles: no secret storage on this system means the token is not saved', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-profiles-'));
  try {
    const store = new ProfileStore(join(dir, 'p.json'), xorCipher(false));
    assert.throws(() => store.save({ name: 'prod', address: 'https://hub', token: 'efa_x1234567' }), (e: Error & { code?: string }) => e.code === 'NOT_READY' && /no secret storage/.test(e.message));
    assert.deepEqual(store.list(), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
