// `edgefleet keys generate`, `trust init`, `trust rotate` through the real binary:
// files and modes, the trust document an agent will verify, and refusals.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrustDocument, verifyTrustDocument, verifyTrustRotation } from '@edgefleet/shared';
import { runCli } from '@edgefleet/examples';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('trust', () => {
  const CLI = 'hub/src/cli/main.ts';
  let dir = '';
  // Paths are absolute: runCli's `--import tsx` resolves from the child's cwd, so the child runs from the repo root.
  const f = (name: string) => join(dir, name);
  const cli = (...args: string[]) => runCli(CLI, args.map((a) => (/^(keys\/|trust.*json|x\.json|junk)/.test(a) ? f(a) : a)));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-cli-trust-'));
    for (const [role, name] of [['root', 'root1'], ['root', 'root2'], ['release', 'rel'], ['hub', 'hub']]) {
      const r = await cli('keys', 'generate', '--role', role as string, '--out', 'keys/', '--name', name as string);
      assert.equal(r.code, 0, r.stderr);
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('keys generate writes NAME.key with mode 0600 and NAME.pub and prints the keyId', () => {
    const key = JSON.parse(readFileSync(join(dir, 'keys/rel.key'), 'utf8')) as { keyId: string; role: string; secret?: string };
    const pub = JSON.parse(readFileSync(join(dir, 'keys/rel.pub'), 'utf8')) as { keyId: string; secret?: string };
    assert.equal(statSync(join(dir, 'keys/rel.key')).mode & 0o777, 0o600);
    assert.equal(key.role, 'release');
    assert.equal(pub.keyId, key.keyId);
    assert.equal(pub.secret, undefined);
    assert.match(key.keyId, /^[0-9a-f]{64}$/);
  });

  test('keys generate refuses to overwrite and rejects a bad role with exit 2', async () => {
    const again = await cli('keys', 'generate', '--role', 'release', '--out', 'keys/', '--name', 'rel');
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^error \[CONFLICT\]: .*rel\.key already exists/);
    const onFile = await cli('keys', 'generate', '--role', 'release', '--out', 'keys/rel.pub', '--name', 'other');
    assert.equal(onFile.code, 1);
    assert.match(onFile.stderr, /^error \[CONFLICT\]: --out .*keys\/rel\.pub is a file; expected a directory for the key files/);
    const bad = await cli('keys', 'generate', '--role', 'admin', '--out', 'keys/');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--role: expected one of root, release, hub, got "admin"/);
    assert.match(bad.stderr, /usage: edgefleet keys generate/);
  });

  test('trust init writes a document that verifies; rotate chains; a rotation signed only by the new root is refused', async () => {
    const init = await cli('trust', 'init', '--root', 'keys/root1.pub', '--release', 'keys/rel.pub', '--hub', 'keys/hub.pub',
      '--expires', '30d', '--sign', 'keys/root1.key', '--out', 'trust.json');
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, /version 1, .*release 1 of 1/);
    const v1 = JSON.parse(readFileSync(join(dir, 'trust.json'), 'utf8')) as unknown;
    const body1 = verifyTrustDocument(v1, { now: new Date() });
    assert.equal(body1.version, 1);

    const exists = await cli('trust', 'init', '--root', 'keys/root1.pub', '--release', 'keys/rel.pub', '--hub', 'keys/hub.pub',
      '--sign', 'keys/root1.key', '--out', 'trust.json');
    assert.equal(exists.code, 1);
    assert.match(exists.stderr, /error \[CONFLICT\]: .*trust\.json already exists/);

    const onlyNew = await cli('trust', 'rotate', '--from', 'trust.json', '--root', 'keys/root2.pub', '--sign', 'keys/root2.key', '--out', 'trust2.json');
    assert.equal(onlyNew.code, 1);
    assert.match(onlyNew.stderr, /^error \[TRUST_ROTATION_INVALID\]: trust rotation to version 2 refused: not signed by a threshold of the current \(version 1\) root keys/);
    assert.throws(() => statSync(join(dir, 'trust2.json')), /ENOENT/, 'nothing written on refusal');

    const ok = await cli('trust', 'rotate', '--from', 'trust.json', '--root', 'keys/root2.pub', '--sign', 'keys/root1.key', '--sign', 'keys/root2.key', '--out', 'trust2.json');
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /version 2, .*chains from version 1/);
    const v2 = TrustDocument.parse(JSON.parse(readFileSync(join(dir, 'trust2.json'), 'utf8')));
    assert.equal(verifyTrustRotation(body1, v2, { now: new Date() }).version, 2);
    assert.deepEqual(v2.signed.roles.release, body1.roles.release, 'roles not given keep their keys');
  });

  test('trust init refusals: wrong key kind, threshold above the keys, signer outside root, bad expiry', async () => {
    const base = ['trust', 'init', '--release', 'keys/rel.pub', '--hub', 'keys/hub.pub', '--out', 'x.json'];
    const wrongRole = await cli(...base, '--root', 'keys/rel.pub', '--sign', 'keys/root1.key');
    assert.equal(wrongRole.code, 1);
    assert.match(wrongRole.stderr, /error \[INVALID_INPUT\]: --root \S*keys\/rel\.pub: this is a release key; expected a root public key/);

    const secretAsPub = await cli(...base, '--root', 'keys/root1.key', '--sign', 'keys/root1.key');
    assert.equal(secretAsPub.code, 1);
    assert.match(secretAsPub.stderr, /is a secret key file .* expected a public key file/);

    const tooHigh = await cli(...base, '--root', 'keys/root1.pub', '--threshold', 'release=2', '--sign', 'keys/root1.key');
    assert.equal(tooHigh.code, 1);
    assert.match(tooHigh.stderr, /error \[SCHEMA_INVALID\]: .*roles\.release\.threshold: threshold 2 exceeds the role's 1 keys/);

    const outsider = await cli(...base, '--root', 'keys/root1.pub', '--sign', 'keys/root2.key');
    assert.equal(outsider.code, 1);
    assert.match(outsider.stderr, /error \[UNTRUSTED_KEY\]: --sign root2: key [0-9a-f]{12} is not a root key of the new trust document/);

    const notMet = await cli(...base, '--root', 'keys/root1.pub', '--root', 'keys/root2.pub', '--threshold', 'root=2', '--sign', 'keys/root1.key');
    assert.equal(notMet.code, 1);
    assert.match(notMet.stderr, /error \[THRESHOLD_NOT_MET\]: trust document version 1: root signatures: 1 of threshold 2 valid/);

    const past = await cli(...base, '--root', 'keys/root1.pub', '--sign', 'keys/root1.key', '--expires', '2001-01-01T00:00:00Z');
    assert.equal(past.code, 2);
    assert.match(past.stderr, /--expires: 2001-01-01T00:00:00Z is in the past/);

    writeFileSync(join(dir, 'junk.pub'), 'nope');
    const junk = await cli(...base, '--root', 'junk.pub', '--sign', 'keys/root1.key');
    assert.equal(junk.code, 1);
    assert.match(junk.stderr, /junk\.pub is not JSON/);
    assert.throws(() => statSync(join(dir, 'x.json')), /ENOENT/);
  });

  test('trust init and rotate name an --out whose directory does not exist (not the temp file beside it)', async () => {
    const out = join(dir, 'no-such-dir', 'trust.json');
    const init = await cli('trust', 'init', '--root', 'keys/root1.pub', '--release', 'keys/rel.pub', '--hub', 'keys/hub.pub', '--sign', 'keys/root1.key', '--out', out);
    assert.equal(init.code, 1);
    assert.match(init.stderr, /^error \[NOT_FOUND\]: --out \S*no-such-dir\/trust\.json: directory \S*no-such-dir does not exist; expected a file in an existing directory\n$/);
    const rotate = await cli('trust', 'rotate', '--from', 'trust.json', '--sign', 'keys/root1.key', '--out', out);
    assert.equal(rotate.code, 1);
    assert.match(rotate.stderr, /^error \[NOT_FOUND\]: --out \S*no-such-dir\/trust\.json: directory \S*no-such-dir does not exist/);
    assert.doesNotMatch(init.stderr + rotate.stderr, /\.tmp-/);
  });
});
