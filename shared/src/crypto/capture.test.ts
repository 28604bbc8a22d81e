// Captured rows sealed to the capture key: they open with the key file and with nothing else; an
// altered chunk or another key is DECRYPT_FAILED; a malformed key file or public key is refused; the
// stored size of sealed rows is known from the plaintext size (sealedRowsBytes), to the byte, and a
// chunk message's size at most (captureMessageBytes), so a hub asks for chunks that fit its maxPayloadBytes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CAPTURE_CHUNK_SCHEMA, CAPTURE_REASON_CHARS, SEALED_ROWS_FIELD_BYTES, captureMessageBytes, chunkBytesWithin, newCaptureKeyFile, openRows, parseCaptureKeyFile, sealRows, sealedRowsBytes } from './capture.js';

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

  it('knows the stored size of sealed rows from the plaintext size, and the size of each key and nonce', async () => {
    for (const n of [0, 1, 2, 3, 100, 4095, 4096, 4097, 65_536, 96 * 1024, 200_000]) {
      const sealed = await sealRows(Buffer.alloc(n, 'x'), file.public);
      assert.equal(Buffer.byteLength(JSON.stringify(sealed)), sealedRowsBytes(n), `${n} bytes of rows`);
      const bytes = (b64: string) => Buffer.from(b64, 'base64').length;
      const f = SEALED_ROWS_FIELD_BYTES;
      assert.deepEqual([bytes(sealed.key.epk), bytes(sealed.key.nonce), bytes(sealed.key.box), bytes(sealed.enc.nonce)], [f.epk, f.nonce, f.box, f.encNonce]);
    }
    // About 4/3 of the plaintext (base64) plus under half a KiB of key, nonces and ids.
    assert.ok(sealedRowsBytes(65_536) - Math.ceil((65_536 * 4) / 3) < 512, String(sealedRowsBytes(65_536)));
  });

  it('bounds a chunk message by its rows, and finds the most rows whose message fits a limit', async () => {
    // The largest envelope: the longest device id, 16-digit numbers, a reason of control characters (6 bytes each in JSON).
    for (const n of [0, 4096, 46_000, 96 * 1024]) {
      const msg = {
        schema: CAPTURE_CHUNK_SCHEMA, deviceId: 'd'.repeat(128), captureId: Number.MAX_SAFE_INTEGER, seq: Number.MAX_SAFE_INTEGER,
        rows: Number.MAX_SAFE_INTEGER, end: 'budget_full', reason: '\u0001'.repeat(CAPTURE_REASON_CHARS), sealed: await sealRows(Buffer.alloc(n, 'x'), file.public),
      };
      const bytes = Buffer.byteLength(JSON.stringify(msg));
      assert.ok(bytes <= captureMessageBytes(n), `${n} bytes of rows: a message of ${bytes}, bound ${captureMessageBytes(n)}`);
      assert.ok(captureMessageBytes(n) - bytes < 64, `the bound is tight: ${captureMessageBytes(n)} for ${bytes}`);
    }
    for (const limit of [9_000, 65_536, 100_000]) {
      const n = chunkBytesWithin(limit, 96 * 1024);
      assert.ok(captureMessageBytes(n) <= limit && captureMessageBytes(n + 1) > limit, `${limit}: ${n} bytes of rows`);
    }
    assert.equal(chunkBytesWithin(256 * 1024, 96 * 1024), 96 * 1024, 'the largest chunk fits the default limit');
    assert.equal(chunkBytesWithin(1000, 96 * 1024), 0, 'no chunk fits');
  });
});
