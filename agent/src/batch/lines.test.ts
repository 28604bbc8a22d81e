// Batch input lines with a bound on each (lines.ts): the breaks readline takes, across chunk boundaries, and a line
// over the bound read past without being held, as a bad row of its own (input.ts readRows) on a real file.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boundedLines, type InputLine } from './lines.js';
import { readRows } from './input.js';

async function lines(chunks: string[], max = 1024): Promise<InputLine[]> {
  const out: InputLine[] = [];
  for await (const l of boundedLines(Readable.from(chunks.map((c) => Buffer.from(c))), max)) out.push(l);
  return out;
}

describe('batch input lines', () => {
  it('splits on \\n, \\r\\n and a lone \\r, also where a chunk ends between \\r and \\n, and keeps a last line without a break', async () => {
    const want = [{ n: 1, text: 'a' }, { n: 2, text: 'b' }, { n: 3, text: '' }, { n: 4, text: 'c' }, { n: 5, text: 'dé' }, { n: 6, text: 'e' }];
    assert.deepEqual(await lines(['a\nb\r\n\nc\rdé\ne']), want);
    assert.deepEqual(await lines(['a\nb\r', '\n', '\nc\r', 'd', 'é\ne']), want);
    // A multi-byte character cut between chunks is whole in its line.
    const bytes = Buffer.from('x€y\n');
    const got: InputLine[] = [];
    for await (const l of boundedLines(Readable.from([bytes.subarray(0, 2), bytes.subarray(2)]))) got.push(l);
    assert.deepEqual(got, [{ n: 1, text: 'x€y' }]);
  });

  it('a line of exactly the bound is read; one byte more is its number and length only, and the lines after it are read', async () => {
    assert.deepEqual(await lines(['x'.repeat(8) + '\nok\n'], 8), [{ n: 1, text: 'xxxxxxxx' }, { n: 2, text: 'ok' }]);
    assert.deepEqual(await lines(['xxxx', 'x'.repeat(5), '\r\nok'], 8), [{ n: 1, tooLong: 9 }, { n: 2, text: 'ok' }]);
    assert.deepEqual(await lines(['y'.repeat(20)], 8), [{ n: 1, tooLong: 20 }]);
  });

  it('readRows: an over-long JSONL line is a bad row naming its length and the bound; an over-long CSV header fails the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ef-lines-'));
    try {
      const jsonl = join(dir, 'in.jsonl');
      writeFileSync(jsonl, `{"a":1}\n{"a":"${'9'.repeat(100)}"}\n{"a":3}\n`);
      const rows = [];
      for await (const r of readRows(jsonl, undefined, 64)) rows.push(r);
      assert.deepEqual(rows, [
        { line: 1, value: { a: 1 } },
        { line: 2, error: '108 bytes: expected at most 64 bytes a line (one row per line)' },
        { line: 3, value: { a: 3 } },
      ]);
      const csv = join(dir, 'in.csv');
      writeFileSync(csv, `${'f'.repeat(100)}\n1\n`);
      await assert.rejects(async () => { for await (const r of readRows(csv, undefined, 64)) void r; },
        (e: Error & { code?: string }) => e.code === 'BAD_REQUEST' && /the header line, 100 bytes: expected at most 64 bytes a line/.test(e.message));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
