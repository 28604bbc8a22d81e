import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { checkEntryPath, listTar, writeTar } from './tar.js';
import { writeRawTar } from './testutil.js';

function withDir(fn: (dir: string) => Promise<void>) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ef-tar-'));
    try { await fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
  };
}

test('writes a ustar archive that system tar reads, and lists it back', withDir(async (dir) => {
  const src = join(dir, 'src.bin');
  writeFileSync(src, Buffer.alloc(1500, 9));
  const long = `${'d'.repeat(120)}/${'f'.repeat(90)}.bin`;
  const out = join(dir, 'a.tar');
  const fh = await open(out, 'w');
  const size = await writeTar(fh, [{ name: 'a.json', bytes: Buffer.from('{}') }, { name: 'sub/src.bin', file: src, size: 1500 }, { name: long, bytes: Buffer.from('x') }]);
  await fh.close();
  assert.equal(size % 512, 0);
  const r = await open(out, 'r');
  const entries = await listTar(r, 'a.tar');
  await r.close();
  assert.deepEqual(entries.map((e) => [e.name, e.size]), [['a.json', 2], ['sub/src.bin', 1500], [long, 1]]);
  assert.equal(entries[0]!.offset, 512);
  try {
    const listed = execFileSync('tar', ['-tf', out], { encoding: 'utf8' }).trim().split('\n');
    assert.deepEqual(listed, ['a.json', 'sub/src.bin', long]);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') throw err; // no system tar: the listTar check above stands
  }
}));

test('refuses unsafe paths', () => {
  for (const p of ['../x', 'a/../../x', '/etc/passwd', 'a//b', './a', 'a\\b', 'C:/x', '']) {
    assert.throws(() => checkEntryPath(p), (e: { code?: string }) => e.code === 'PATH_TRAVERSAL', p);
  }
  checkEntryPath('a/b.c');
});

test('reader refuses traversal, non-regular entries, bad checksums and truncation', withDir(async (dir) => {
  const cases: [string, Parameters<typeof writeRawTar>[1], string, RegExp][] = [
    ['trav', [{ name: '../evil', data: Buffer.from('x') }], 'PATH_TRAVERSAL', /"\.\.\/evil" is not a safe relative path/],
    ['abs', [{ name: '/tmp/evil', data: Buffer.from('x') }], 'PATH_TRAVERSAL', /"\/tmp\/evil"/],
    ['link', [{ name: 'l', data: Buffer.alloc(0), type: '2' }], 'BUNDLE_INVALID', /entry "l" is a symbolic link; expected only regular files/],
    ['dir', [{ name: 'd', data: Buffer.alloc(0), type: '5' }], 'BUNDLE_INVALID', /is a directory/],
    ['trunc', [{ name: 'big', data: Buffer.from('x'), declaredSize: 5000 }], 'BUNDLE_INVALID', /declares 5000 bytes but the archive ends/],
  ];
  for (const [name, entries, code, re] of cases) {
    const p = join(dir, `${name}.tar`);
    writeRawTar(p, entries);
    const fh = await open(p, 'r');
    await assert.rejects(listTar(fh, name), (e: { code?: string; message: string }) => e.code === code && re.test(e.message), name);
    await fh.close();
  }
  const p = join(dir, 'cks.tar');
  writeRawTar(p, [{ name: 'a', data: Buffer.from('x') }]);
  const fh = await open(p, 'r+');
  await fh.write(Buffer.from('b'), 0, 1, 0);
  await assert.rejects(listTar(fh, 'cks'), /checksum/);
  await fh.close();
}));

// A gzipped bundle, a model or key file given instead: said in those words, not as the checksum field of
// a header that never was (was: 'header at offset 0: checksum: expected an octal number, got "\x1f\x8b…"').
test('a file that is not a tar is named as such, with what it looks like', withDir(async (dir) => {
  const tar = join(dir, 'ok.tar');
  writeRawTar(tar, [{ name: 'manifest.json', data: Buffer.from('{}') }]);
  const cases: [string, Buffer, RegExp][] = [
    ['gz', gzipSync(readFileSync(tar)), /^gz: not a bundle: the file is gzip-compressed; expected the uncompressed tar "edgefleet model pack" writes$/],
    ['zip', Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(600)]), /^zip: not a bundle: the file is a zip archive;/],
    ['text', Buffer.from('root:x:0:0:root:/root:/bin/bash\n'.repeat(20)), /^text: not a bundle: no tar header at offset 0 \(the file starts with 72 6f 6f 74 3a 78 3a 30\);/],
    ['short', Buffer.from('{"a":1}'), /^short: not a bundle: no tar header at offset 0 \(the file is 7 bytes, starts with 7b 22 61 22 3a 31 7d\);/],
    ['empty', Buffer.alloc(0), /^empty: not a bundle: the file is empty;/],
  ];
  for (const [name, bytes, re] of cases) {
    writeFileSync(join(dir, name), bytes);
    const fh = await open(join(dir, name), 'r');
    await assert.rejects(listTar(fh, name), (e: { code?: string; message: string }) => e.code === 'BUNDLE_INVALID' && re.test(e.message), name);
    await fh.close();
  }
  // An archive of nothing is still an empty archive (a damaged first header: the checksum case above).
  writeFileSync(join(dir, 'zeros'), Buffer.alloc(1024));
  const z = await open(join(dir, 'zeros'), 'r');
  await assert.rejects(listTar(z, 'zeros'), /zeros: empty archive; expected a tar file with manifest\.json/);
  await z.close();
}));

test('property: whatever the writer writes, the reader lists back with the same bytes', withDir(async (dir) => {
  const seg = fc.stringMatching(/^[a-z0-9_-]{1,40}$/);
  const entry = fc.record({ name: fc.array(seg, { minLength: 1, maxLength: 6 }).map((s) => s.join('/')), data: fc.uint8Array({ maxLength: 1100 }) });
  let n = 0;
  await fc.assert(fc.asyncProperty(fc.uniqueArray(entry, { selector: (e) => e.name, minLength: 1, maxLength: 5 }), async (entries) => {
    const p = join(dir, `p${n++}.tar`);
    const fh = await open(p, 'w+');
    try {
      await writeTar(fh, entries.map((e) => ({ name: e.name, bytes: e.data })));
      const listed = await listTar(fh, 'p');
      assert.deepEqual(listed.map((e) => e.name), entries.map((e) => e.name));
      for (const [i, e] of listed.entries()) {
        const buf = Buffer.alloc(e.size);
        await fh.read(buf, 0, e.size, e.offset);
        assert.deepEqual(buf, Buffer.from(entries[i]!.data));
      }
    } finally {
      await fh.close();
      rmSync(p, { force: true });
    }
  }), { seed: 5, numRuns: 60 });
}));
