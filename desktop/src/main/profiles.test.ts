import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

test('profiles: a file that is not a profiles file is refused naming it, then kept aside (renamed, not deleted) at start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-profiles-'));
  try {
    const file = join(dir, 'profiles.json');
    const store = new ProfileStore(file, xorCipher());
    assert.equal(store.setAsideIfUnreadable(), null, 'no file: nothing to report');
    store.save({ name: 'prod', address: 'https://hub.example:8700', token: 'efa_secret-token' });
    assert.equal(store.setAsideIfUnreadable(), null, 'a good file stays');
    const cases: Array<[string, RegExp]> = [
      [readFileSync(file, 'utf8').slice(0, 40), /not JSON/],
      [JSON.stringify({ schema: 'something/v9', profiles: [] }), /expected schema edgefleet\.desktop-profiles\/v1; schema/],
      [JSON.stringify({ schema: 'edgefleet.desktop-profiles/v1', profiles: [{ name: 'prod', address: 'ftp://x', token: 'x' }] }), /profiles\.0\.address: expected a hub address/],
    ];
    for (const [i, [text, why]] of cases.entries()) {
      writeFileSync(file, text);
      assert.throws(() => store.list(), (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && e.message.startsWith(`${file}: not an edgefleet profiles file`) && why.test(e.message));
      const now = new Date(Date.UTC(2025, 0, 2, 3, 4, 5, i));
      const problem = store.setAsideIfUnreadable(now);
      const aside = `${file}.unreadable-${now.toISOString().replace(/[:.]/g, '-')}`;
      assert.equal(problem?.code, 'CONFIG_INVALID');
      assert.ok(problem?.message.includes(file) && problem.message.includes(`kept as ${aside}`), problem?.message);
      assert.match(problem?.message ?? '', why);
      assert.equal(readFileSync(aside, 'utf8'), text, 'the unreadable file is kept as it was');
      assert.equal(existsSync(file), false);
      assert.deepEqual(store.list(), [], 'the app starts without it');
    }
    store.save({ name: 'lab', address: 'http://127.0.0.1:8700', token: 'efa_lab-token' });
    assert.deepEqual(store.list(), [{ name: 'lab', address: 'http://127.0.0.1:8700' }], 'a hub can be added again');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('profiles: a token that does not decrypt is DECRYPT_FAILED naming the profile and how to fix it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-profiles-'));
  try {
    const file = join(dir, 'profiles.json');
    new ProfileStore(file, xorCipher()).save({ name: 'prod', address: 'https://hub.example:8700', token: 'efa_secret-token' });
    const locked = new ProfileStore(file, { ...xorCipher(), decryptString: () => { throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.'); } });
    assert.throws(() => locked.open('prod'), (e: Error & { code?: string }) => e.code === 'DECRYPT_FAILED'
      && /^hub profile "prod" \(https:\/\/hub\.example:8700\): its token could not be decrypted .*safeStorage\.decryptString.*add the hub again under the name "prod"/.test(e.message));
    assert.deepEqual(locked.list(), [{ name: 'prod', address: 'https://hub.example:8700' }], 'the profile is still listed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
