// The three files of sealed models (docs/cli.md "Sealed models") given in one another's place: each says
// which file it is and which one was expected, as INVALID_INPUT, rather than a wrong-schema-version soup.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../errors.js';
import { readContentKeyFile, readDevicePublicKey, readSealedKeyFile, writeContentKeyFile } from './sealed-files.js';
import { generateBoxKeyPair, sealContentKey } from './sealed.js';

it('a content key, a sealed key, a device key or a trust document in the wrong place says what it is and what was expected', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-sealed-files-'));
  try {
    const contentKey = join(dir, 'secret-1.0.0.key');
    writeContentKeyFile(contentKey, new Uint8Array(32).fill(7));
    const device = generateBoxKeyPair();
    const pub = join(dir, 'box.pub');
    writeFileSync(pub, JSON.stringify({ schema: 'edgefleet.device-pubkey/v1', keyId: device.keyId, public: Buffer.from(device.publicKey).toString('base64') }));
    const sealed = join(dir, 'sealed.json');
    writeFileSync(sealed, JSON.stringify(sealContentKey(readContentKeyFile(contentKey).key, device.publicKey)));
    const trust = join(dir, 'trust.json');
    writeFileSync(trust, JSON.stringify({ signed: { schema: 'edgefleet.trust/v1', version: 1 }, signatures: [] }));

    const refused = (f: () => unknown, re: RegExp) => assert.throws(f, (e: unknown) => {
      assert.ok(e instanceof AppError, String(e));
      assert.equal(e.code, 'INVALID_INPUT', e.message);
      assert.match(e.message, re);
      return true;
    });
    // edgefleet-agent install --key: the content key itself instead of its sealed copy.
    refused(() => readSealedKeyFile(contentKey), /^sealed key file .*secret-1\.0\.0\.key: this is a content key \(edgefleet\.content-key\/v1, written by "edgefleet model pack --encrypt"\); expected a content key sealed to one box \(edgefleet\.sealed-key\/v1, written by "edgefleet model seal"\)$/);
    refused(() => readSealedKeyFile(trust), /this is a trust document \(edgefleet\.trust\/v1/);
    // edgefleet model seal --key: the sealed copy instead of the content key; --to: the content key.
    refused(() => readContentKeyFile(sealed), /^content key file .*sealed\.json: this is a content key sealed to one box .*; expected a content key \(edgefleet\.content-key\/v1/);
    refused(() => readDevicePublicKey(contentKey), /^device public key file .*: this is a content key .*; expected a device public key \(edgefleet\.device-pubkey\/v1, printed by "edgefleet-agent key show"\)$/);
    // A path that is no readable file: NOT_FOUND only when it does not exist (a directory is not "missing").
    assert.throws(() => readSealedKeyFile(join(dir, 'nope.json')), (e: unknown) => e instanceof AppError && e.code === 'NOT_FOUND' && /sealed key file .*nope\.json: no such file$/.test(e.message));
    assert.throws(() => readContentKeyFile(dir), (e: unknown) => e instanceof AppError && e.code === 'BAD_REQUEST' && /content key file .*: it is a directory; expected a file$/.test(e.message));
    // Each still reads as itself.
    assert.equal(readSealedKeyFile(sealed).to, device.keyId);
    assert.equal(readDevicePublicKey(pub).keyId, device.keyId);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
