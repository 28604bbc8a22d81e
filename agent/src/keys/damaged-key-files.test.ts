// A damaged file that holds a secret is refused naming the file, without quoting its text (docs/security.md
// "Sealed models"): V8's JSON.parse message quotes the text around some faults (`Unexpected token 'Q',
// ..."key": QdUyNQsjjq"... is not valid JSON`), and the CLIs and the daemon printed it, putting part of
// the content key, the device's private key, the device secret or a release key on a terminal, in CI
// output or the journal. Real files, as `model pack --encrypt`, `enroll` and `keys generate` write them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contentKeyFile, generateKeyPair, readContentKeyFile, readSecretKeyFile, writeKeyFiles } from '@edgefleet/shared';
import { readCredentials } from '../sync/credentials.js';
import { deviceKeyPath, loadOrCreateDeviceKey, readDeviceKey } from './device-key.js';

/** Drops the opening quote of `field`'s value and puts a letter before it: the fault V8 quotes text around. */
function damage(path: string, field: string): string {
  const text = readFileSync(path, 'utf8');
  const m = new RegExp(`"${field}": ?"([^"]+)"`).exec(text);
  assert.ok(m, `${path} has no "${field}"`);
  writeFileSync(path, text.replace(m[0], `"${field}": Q${m[1]}"`), { mode: 0o600 });
  return m[1]!;
}

/** The refusal names the file and says the text is not quoted; no 6 characters in a row of the secret appear. */
function assertNotQuoted(err: unknown, path: string, secret: string): true {
  const msg = (err as Error).message;
  assert.ok(msg.includes(path), msg);
  assert.match(msg, /an unexpected character; the text is not quoted, as the file holds a secret/);
  for (let i = 0; i + 6 <= secret.length; i++) assert.ok(!msg.includes(secret.slice(i, i + 6)), `the message quotes the secret: ${msg}`);
  return true;
}

test('damaged key files are refused without quoting the secret they hold', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-damaged-keys-'));
  try {
    loadOrCreateDeviceKey(dir);
    const deviceSecret = damage(deviceKeyPath(dir), 'secret');
    assert.throws(() => readDeviceKey(dir), (e) => (e as { code?: string }).code === 'CONFIG_INVALID' && assertNotQuoted(e, deviceKeyPath(dir), deviceSecret));

    const creds = join(dir, 'credentials.json');
    writeFileSync(creds, JSON.stringify({ schema: 'edgefleet.credentials/v1', deviceId: 'edge-1', secret: randomBytes(24).toString('base64url'), brokers: ['mqtt://127.0.0.1:1883'] }, null, 2), { mode: 0o600 });
    const deviceSecretToken = damage(creds, 'secret');
    assert.throws(() => readCredentials(dir), (e) => (e as { code?: string }).code === 'CONFIG_INVALID' && assertNotQuoted(e, creds, deviceSecretToken));

    const contentKey = join(dir, 'secret-1.0.0.key');
    writeFileSync(contentKey, `${JSON.stringify(contentKeyFile(randomBytes(32), { model: 'secret', version: '1.0.0' }), null, 2)}\n`, { mode: 0o600 });
    const key = damage(contentKey, 'key');
    assert.throws(() => readContentKeyFile(contentKey), (e) => (e as { code?: string }).code === 'INVALID_INPUT' && assertNotQuoted(e, contentKey, key));

    const release = writeKeyFiles(dir, 'release', generateKeyPair('release')).keyPath;
    const releaseSecret = damage(release, 'secret');
    await assert.rejects(readSecretKeyFile(release), (e) => (e as { code?: string }).code === 'INVALID_INPUT' && assertNotQuoted(e, release, releaseSecret));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
