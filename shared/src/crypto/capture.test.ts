// Captured rows sealed to the capture key: they open with the key file and with nothing else; an
// altered chunk or another key is DECRYPT_FAILED; a malformed key file or public key is refused.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newCaptureKeyFile, openRows, parseCaptureKeyFile, sealRows } from './capture.js';

const code = (c: string) => (e: { code?: string }) => e.code === c;

describe('capture sealing', () => {
  const file = newCaptureKeyFile();
  const key = parseCaptureKeyFile(JSON.stringify(file), 'k');
  const rows = Buffer.from('{"device":"d","inputs":{"a":[1]}}\n{"device":"d","inputs":{"a":[2]}}\n');

  it('opens with the key file only; the ciphertext holds no plaintext; each chunk has its own content key', async () => {
    const a = await sealRows(rows, file.public);
    const b = await sealRows(rows, file.public);
    assert.equal(key.keyId, file.keyId);
    assert.equal(a.key.to, file.keyId);
    assert.deepEqual(openRows(a, key, 'a'), rows);
    assert.notEqual(a.key.keyId, b.key.keyId);
    assert.equal(Buffer.from(a.data, 'base64').includes(Buffer.from('"inputs"')), false);
    const other = parseCaptureKeyFile(JSON.stringify(newCaptureKeyFile()), 'other');
    assert.throws(() => openRows(a, other, 'a'), code('DECRYPT_FAILED'));
    const empty = await sealRows(new Uint8Array(0), file.public);
    assert.equal(openRows(empty, key, 'empty').length, 0);
  });

  it('refuses an altered chunk or sealed key', async () => {
    const a = await sealRows(rows, file.public);
    const data = Buffer.from(a.data, 'base64');
    data[3] = data[3]! ^ 1;
    assert.throws(() => openRows({ ...a, data: data.toString('base64') }, key, 'a'), code('DECRYPT_FAILED'));
    const box = Buffer.from(a.key.box, 'base64');
    box[0] = box[0]! ^ 1;
    assert.throws(() => openRows({ ...a, key: { ...a.key, box: box.toString('base64') } }, key, 'a'), code('DECRYPT_FAILED'));
  });

  it('refuses malformed keys', async () => {
    await assert.rejects(sealRows(rows, 'AAAA'), code('INVALID_INPUT'));
    assert.throws(() => parseCaptureKeyFile('nope', 'f'), /not JSON/);
    assert.throws(() => parseCaptureKeyFile(JSON.stringify({ ...file, schema: 'x' }), 'f'), /edgefleet.capture-key\/v1/);
    assert.throws(() => parseCaptureKeyFile(JSON.stringify({ ...file, secret: 'AAAA' }), 'f'), code('INVALID_INPUT'));
  });
});
