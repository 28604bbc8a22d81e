// `edgefleet model pack --encrypt` and `model rekey` through the real binary: an encrypted bundle is
// never left without its content key. A bad --key-out (a missing directory, a directory) is refused
// before anything is written, and the key file is written (0600) before the bundle is moved into place;
// `model seal` never replaces an existing file (docs/cli.md "model pack --encrypt, model seal, model rekey");
// `model push` refuses a content key that is not the bundle's before it uploads anything.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomMlp, runCli } from '@edgefleet/examples';
import { newCaptureKeyFile } from '@edgefleet/shared';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('model-sealed', () => {
  const CLI = 'hub/src/cli/main.ts';
  let dir = '';
  const p = (...parts: string[]) => join(dir, ...parts);
  const cli = (...args: string[]) => runCli(CLI, args);
  const mlp = randomMlp({ inputDim: 3, hidden: [4], outputDim: 2, seed: 5, output: 'softmax' });

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ef-cli-sealed-'));
    writeFileSync(p('model.onnx'), mlp.onnx);
    writeFileSync(p('manifest.json'), JSON.stringify({
      schema: 'edgefleet.manifest/v1', name: 'secret', version: '1.0.0', description: 'sealed',
      runtime: { opset: 17, minAgentVersion: '0.1.0', intraOpThreads: 1 }, io: mlp.io,
      provenance: { data: [], training: { code: 'train.ts', hyperparameters: {} }, metrics: {}, reason: 'first release' },
    }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const pack = (out: string, ...extra: string[]) => cli('model', 'pack', '--manifest', p('manifest.json'), '--model', p('model.onnx'), '--out', out, '--encrypt', ...extra);

  test('pack --encrypt: a bad --key-out is refused before anything is written', async () => {
    mkdirSync(p('a'));
    const missing = await pack(p('a'), '--key-out', p('no-such-dir', 'secret.key'));
    assert.equal(missing.code, 1, missing.stderr);
    assert.match(missing.stderr, /^error \[NOT_FOUND\]: --key-out .*no-such-dir\/secret\.key: the directory .*no-such-dir does not exist; expected an existing directory/m);
    assert.deepEqual(readdirSync(p('a')), [], 'no bundle without its key (and no temp file)');

    mkdirSync(p('a', 'keydir'));
    const isDir = await pack(p('a'), '--key-out', p('a', 'keydir'));
    assert.equal(isDir.code, 1, isDir.stderr);
    assert.match(isDir.stderr, /^error \[CONFLICT\]: --key-out .*keydir is a directory; expected a file path/m);
    assert.deepEqual(readdirSync(p('a')), ['keydir']);

    const same = await pack(p('a', 'x.efb'), '--key-out', p('a', 'x.efb'));
    assert.equal(same.code, 1, same.stderr);
    assert.match(same.stderr, /^error \[CONFLICT\]: --key-out .*x\.efb is the bundle's own path/m);
    assert.deepEqual(readdirSync(p('a')), ['keydir']);
  });

  test('pack --encrypt writes the key file 0600 with the bundle; --force replaces a looser key file with a 0600 one', async () => {
    mkdirSync(p('b'));
    const r = await pack(p('b'));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(p('b')).sort(), ['secret-1.0.0.efb', 'secret-1.0.0.key']);
    assert.equal(statSync(p('b', 'secret-1.0.0.key')).mode & 0o777, 0o600);
    chmodSync(p('b', 'secret-1.0.0.key'), 0o644);
    const again = await pack(p('b'), '--force');
    assert.equal(again.code, 0, again.stderr);
    assert.equal(statSync(p('b', 'secret-1.0.0.key')).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(p('b')).sort(), ['secret-1.0.0.efb', 'secret-1.0.0.key']);
  });

  test('rekey: a bad --key-out is refused before the new bundle is written', async () => {
    mkdirSync(p('c'));
    assert.equal((await pack(p('c'))).code, 0);
    const bad = await cli('model', 'rekey', p('c', 'secret-1.0.0.efb'), '--key', p('c', 'secret-1.0.0.key'), '--version', '1.0.1', '--reason', 'revoked e3',
      '--key-out', p('no-such-dir', 'new.key'));
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stderr, /^error \[NOT_FOUND\]: --key-out .*no-such-dir\/new\.key: the directory .*no-such-dir does not exist/m);
    assert.ok(!existsSync(p('c', 'secret-1.0.1.efb')), 'no re-keyed bundle without its key');
    assert.deepEqual(readdirSync(p('c')).sort(), ['secret-1.0.0.efb', 'secret-1.0.0.key']);

    const good = await cli('model', 'rekey', p('c', 'secret-1.0.0.efb'), '--key', p('c', 'secret-1.0.0.key'), '--version', '1.0.1', '--reason', 'revoked e3');
    assert.equal(good.code, 0, good.stderr);
    assert.equal(statSync(p('c', 'secret-1.0.1.key')).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(p('c')).sort(), ['secret-1.0.0.efb', 'secret-1.0.0.key', 'secret-1.0.1.efb', 'secret-1.0.1.key']);
  });

  test('seal: an existing --out is refused and left as it was (the content key file named by mistake above all)', async () => {
    mkdirSync(p('d'));
    assert.equal((await pack(p('d'))).code, 0);
    const keyFile = p('d', 'secret-1.0.0.key');
    const keyText = readFileSync(keyFile, 'utf8');
    const device = newCaptureKeyFile().public; // an X25519 public key, as `edgefleet-agent key show` prints one
    const seal = (out: string) => cli('model', 'seal', '--key', keyFile, '--to', device, '--out', out);
    const onItself = await seal(keyFile);
    assert.equal(onItself.code, 1, onItself.stderr);
    assert.match(onItself.stderr, /^error \[CONFLICT\]: --out .*secret-1\.0\.0\.key already exists; expected a new file/m);
    assert.equal(readFileSync(keyFile, 'utf8'), keyText, 'the content key is not replaced');
    const first = await seal(p('d', 'sealed.json'));
    assert.equal(first.code, 0, first.stderr);
    const sealed = readFileSync(p('d', 'sealed.json'), 'utf8');
    assert.equal((await seal(p('d', 'sealed.json'))).code, 1);
    assert.equal(readFileSync(p('d', 'sealed.json'), 'utf8'), sealed);
    const missing = await seal(p('no-such-dir', 'sealed.json'));
    assert.equal(missing.code, 1, missing.stderr);
    assert.match(missing.stderr, /^error \[NOT_FOUND\]: --out .*no-such-dir\/sealed\.json: the directory .*no-such-dir does not exist/m);
    assert.deepEqual(readdirSync(p('d')).sort(), ['sealed.json', 'secret-1.0.0.efb', 'secret-1.0.0.key']);
    // A --to that is neither a file nor base64 (a key cut short in a copy) says what it expected.
    const cut = await cli('model', 'seal', '--key', keyFile, '--to', device.slice(0, 40), '--out', p('d', 'cut.json'));
    assert.equal(cut.code, 1);
    assert.match(cut.stderr, /^error \[INVALID_INPUT\]: device public key .*: no such file, and not a public key in base64; expected the file `edgefleet-agent key show --out` writes or its "public" \(44 base64 characters\)/m);
  });

  test('push: a content key that is not the bundle\'s, or one with a plain bundle, is refused before anything is uploaded', async () => {
    mkdirSync(p('push'));
    const signed = async (...extra: string[]) => {
      const r = await cli('model', 'pack', '--manifest', p('manifest.json'), '--model', p('model.onnx'), ...extra);
      assert.equal(r.code, 0, r.stderr);
    };
    assert.equal((await cli('keys', 'generate', '--role', 'release', '--out', p('push'), '--name', 'release')).code, 0);
    await signed('--out', p('push', 'sealed.efb'), '--encrypt');
    await signed('--out', p('push', 'other.efb'), '--encrypt');
    await signed('--out', p('push', 'plain.efb'));
    for (const b of ['sealed.efb', 'other.efb', 'plain.efb']) assert.equal((await cli('model', 'sign', p('push', b), '--key', p('push', 'release.key'))).code, 0);
    // No hub listens on port 9: a command that got as far as the upload would fail to connect instead.
    const env = { env: { EDGEFLEET_HUB: 'http://127.0.0.1:9', EDGEFLEET_TOKEN: 'efa_x' } };
    const wrong = await runCli(CLI, ['model', 'push', p('push', 'sealed.efb'), '--content-key', p('push', 'other.key')], env);
    assert.equal(wrong.code, 1, wrong.stderr);
    assert.match(wrong.stderr, /^error \[INVALID_INPUT\]: the content key .*other\.key is [0-9a-f]{12}…; secret@1\.0\.0 in .*sealed\.efb is encrypted with [0-9a-f]{12}… \(a key file of another bundle\?\); nothing was pushed$/m);
    const plain = await runCli(CLI, ['model', 'push', p('push', 'plain.efb'), '--content-key', p('push', 'sealed.key')], env);
    assert.equal(plain.code, 1, plain.stderr);
    assert.match(plain.stderr, /^error \[INVALID_INPUT\]: secret@1\.0\.0 in .*plain\.efb is not encrypted: it needs no --content-key; nothing was pushed$/m);
  });
});
