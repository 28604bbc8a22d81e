// The capture chunk at the wire boundary: a chunk as sealRows makes it passes; a sealed key or nonce
// longer than the crypto makes it (which would not open, and would be stored) is refused naming the
// field, so a device cannot pad a chunk outside its data (docs/hub.md "Data capture").
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CAPTURE_CHUNK_SCHEMA, CAPTURE_REASON_CHARS, newCaptureKeyFile, sealRows } from '../crypto/capture.js';
import { parseWire } from './common.js';
import { CaptureChunk } from './capture.js';

describe('capture chunk schema', () => {
  const key = newCaptureKeyFile();

  it('takes a chunk as sealed and refuses a padded key or nonce', async () => {
    const sealed = await sealRows(Buffer.from('{"x":1}\n'), key.public);
    const chunk = (s: unknown) => ({ schema: CAPTURE_CHUNK_SCHEMA, deviceId: 'a', captureId: 1, seq: 1, rows: 1, sealed: s });
    assert.deepEqual(parseWire(CaptureChunk, chunk(sealed), 'capture').sealed, sealed);
    const unpadded = { ...sealed, key: { ...sealed.key, epk: sealed.key.epk.replace(/=+$/, '') } };
    assert.equal(parseWire(CaptureChunk, chunk(unpadded), 'capture').sealed.key.epk, unpadded.key.epk, 'unpadded base64 of the same bytes');
    const pad = (s: string) => s + 'AAAA';
    const cases: Array<[unknown, RegExp]> = [
      [{ ...sealed, key: { ...sealed.key, box: 'A'.repeat(250 * 1024) }, data: '' }, /sealed\.key\.box: expected base64 of 48 bytes/],
      [{ ...sealed, key: { ...sealed.key, epk: pad(sealed.key.epk) } }, /sealed\.key\.epk: expected base64 of 32 bytes/],
      [{ ...sealed, key: { ...sealed.key, nonce: pad(sealed.key.nonce) } }, /sealed\.key\.nonce: expected base64 of 24 bytes/],
      [{ ...sealed, enc: { ...sealed.enc, nonce: pad(sealed.enc.nonce) } }, /sealed\.enc\.nonce: expected base64 of 8 bytes/],
    ];
    for (const [s, msg] of cases) assert.throws(() => parseWire(CaptureChunk, chunk(s), 'capture'), (e: { code?: string; message: string }) => e.code === 'SCHEMA_INVALID' && msg.test(e.message), String(msg));
  });

  it('takes a last chunk\'s reason up to its bound and refuses a longer one naming the field', async () => {
    const c = { schema: CAPTURE_CHUNK_SCHEMA, deviceId: 'a', captureId: 1, seq: 1, rows: 0, end: 'budget_full', sealed: await sealRows(new Uint8Array(0), key.public) };
    assert.equal(parseWire(CaptureChunk, { ...c, reason: 'r'.repeat(CAPTURE_REASON_CHARS) }, 'capture').reason?.length, CAPTURE_REASON_CHARS);
    assert.throws(() => parseWire(CaptureChunk, { ...c, reason: 'r'.repeat(CAPTURE_REASON_CHARS + 1) }, 'capture'),
      (e: { code?: string; message: string }) => e.code === 'SCHEMA_INVALID' && /reason: expected a reason of at most 500 characters/.test(e.message));
  });
});
