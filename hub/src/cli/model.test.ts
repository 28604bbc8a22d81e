// `edgefleet model pack|sign|verify|inspect`: the round trip keys -> trust -> pack -> sign -> verify,
// and the refusals an agent relies on (flipped model byte, edited manifest, untrusted signer, threshold,
// duplicated key, "../" tar entry, model io not matching the manifest). The commands run in this process
// (main(), as the program runs it: a process start costs ~0.4 s of CPU); `model --help` runs as the real
// binary, so its exit code and output glue are covered too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, rmSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packBundle, readBundle, readSecretKeyFile, rewriteSignatures, signBytes, manifestSigningBytes, sha256Hex } from '@edgefleet/shared';
import { randomMlp, runCli, runInProcess } from '@edgefleet/examples';
import { main } from './main.js';

const CLI = 'hub/src/cli/main.ts';
let dir = '';
const p = (name: string) => join(dir, name);
const cli = (...args: string[]) => runInProcess(main, args, { cwd: dir });
const mlp = randomMlp({ inputDim: 3, hidden: [4], outputDim: 2, seed: 3, output: 'softmax' });

function manifest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schema: 'edgefleet.manifest/v1',
    name: 'demo',
    version: '1.0.0',
    description: 'demo model',
    runtime: { opset: 17, minAgentVersion: '0.1.0', intraOpThreads: 1 },
    io: mlp.io,
    features: [
      { name: 'rms', index: 0, kind: 'numeric', unit: 'mm/s' },
      { name: 'temp', index: 1, kind: 'numeric', unit: 'C' },
      { name: 'rpm', index: 2, kind: 'numeric' },
    ],
    provenance: {
      data: [{ name: 'train.csv', sha256: sha256Hex('rows'), rows: 1000 }],
      training: { code: 'train.ts', commit: 'abc123', hyperparameters: { lr: 0.1 } },
      metrics: { auc: 0.93 },
      reason: 'first release',
    },
    ...overrides,
  };
}

/** Renames a tar entry in place (same length) and fixes the header checksum. */
function renameTarEntry(file: string, from: string, to: string): void {
  assert.equal(from.length, to.length);
  const buf = readFileSync(file);
  for (let at = 0; at + 512 <= buf.length; at += 512) {
    if (buf.toString('latin1', at, at + from.length) === from && buf[at + from.length] === 0) {
      buf.write(to, at, 'latin1');
      buf.fill(0x20, at + 148, at + 156);
      let sum = 0;
      for (let i = at; i < at + 512; i++) sum += buf[i] as number;
      buf.write(`${sum.toString(8).padStart(6, '0')}\0 `, at + 148, 'latin1');
      writeFileSync(file, buf);
      return;
    }
  }
  assert.fail(`no tar entry ${from} in ${file}`);
}

function ok(r: { code: number; stderr: string; stdout: string }, what: string): void {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stderr}`);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ef-cli-model-'));
  for (const [role, name] of [['root', 'root'], ['release', 'rel1'], ['release', 'rel2'], ['release', 'stranger'], ['hub', 'hub']]) {
    ok(await cli('keys', 'generate', '--role', role as string, '--out', p('keys'), '--name', name as string), `keys ${name}`);
  }
  writeFileSync(p('model.onnx'), mlp.onnx);
  writeFileSync(p('labels.txt'), 'ok\nanomaly\n');
  writeFileSync(p('manifest.json'), JSON.stringify(manifest()));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('round trip: trust init -> pack -> sign -> verify -> inspect; signing twice is a no-op', async () => {
  ok(await cli('trust', 'init', '--root', p('keys/root.pub'), '--release', p('keys/rel1.pub'), '--release', p('keys/rel2.pub'),
    '--hub', p('keys/hub.pub'), '--sign', p('keys/root.key'), '--out', p('trust.json')), 'trust init');
  ok(await cli('trust', 'init', '--root', p('keys/root.pub'), '--release', p('keys/rel1.pub'), '--release', p('keys/rel2.pub'),
    '--hub', p('keys/hub.pub'), '--threshold', 'release=2', '--sign', p('keys/root.key'), '--out', p('trust-2of2.json')), 'trust init 2 of 2');

  // On a terminal (docs/cli.md "Progress"): the hashing bar, then each step that has nothing to count.
  const pack = await runInProcess(main, ['model', 'pack', '--manifest', p('manifest.json'), '--model', p('model.onnx'), '--file', p('labels.txt'), '--out', dir], { cwd: dir, tty: true });
  ok(pack, 'pack');
  assert.match(pack.stderr, /^(\rhashing [^\r\n]+)*\rhashing \[#+\] 100% .+\nchecking demo@1\.0\.0 with onnxruntime \(io, warm-up, native and wasm backends\)…\nwriting .*demo-1\.0\.0\.efb…\n/);
  const bundle = p('demo-1.0.0.efb');
  assert.match(pack.stdout, /packed .*demo-1\.0\.0\.efb: demo@1\.0\.0, 2 file\(s\)/);
  copyFileSync(bundle, p('unsigned.efb'));

  const unsigned = await cli('model', 'verify', bundle, '--trust', p('trust.json'));
  assert.equal(unsigned.code, 1);
  assert.match(unsigned.stderr, /^error \[THRESHOLD_NOT_MET\]: bundle demo-1\.0\.0: release signatures: 0 of threshold 1 valid/);

  ok(await cli('model', 'sign', bundle, '--key', p('keys/rel1.key')), 'sign rel1');
  ok(await cli('model', 'sign', bundle, '--key', p('keys/rel2.key')), 'sign rel2');
  const before2 = readFileSync(bundle);
  const again = await cli('model', 'sign', bundle, '--key', p('keys/rel1.key'));
  ok(again, 'sign again');
  assert.match(again.stdout, /already signed by release key rel1 .*nothing changed \(2 signature\(s\)\)/);
  assert.ok(readFileSync(bundle).equals(before2), 'a second signature by one key leaves the bundle unchanged');

  const v = await cli('model', 'verify', bundle, '--trust', p('trust.json'));
  ok(v, 'verify');
  assert.match(v.stdout, /^OK demo@1\.0\.0: 2 of threshold 1 release signatures valid \(keys [0-9a-f]{12}, [0-9a-f]{12}\), 2 files verified, model loads and matches its io\n$/);

  assert.equal(v.stderr, '', 'nothing but the verdict on a pipe');
  // On a terminal: a bar over the files' bytes, then what onnxruntime is doing (docs/cli.md "Progress").
  const drawn = await runInProcess(main, ['model', 'verify', bundle, '--trust', p('trust.json')], { cwd: dir, tty: true });
  assert.equal(drawn.stdout, v.stdout);
  assert.match(drawn.stderr, /^\rverifying \[[#-]+\] +\d+% .+\rverifying \[#+\] 100% .+\nloading demo@1\.0\.0 with onnxruntime \(io, warm-up, samples\)…\n$/s);
  const signed = await runInProcess(main, ['model', 'sign', bundle, '--key', p('keys/rel1.key')], { cwd: dir, tty: true });
  assert.match(signed.stderr, /\rverifying \[#+\] 100% .+\n$/);

  const text = await cli('model', 'inspect', bundle, '--trust', p('trust.json'));
  ok(text, 'inspect');
  for (const re of [/name:\s+demo/, /version:\s+1\.0\.0/, /input\s+FP32\s+\[-1, 3\]/, /2\s+rpm\s+numeric/, /reason:\s+first release/,
    /metrics:\s+auc=0\.93/, /signatures \(2\):/, /[0-9a-f]{64}\s+ed25519\s+valid/, /labels\.txt\s+11\s+/]) {
    assert.match(text.stdout, re);
  }
  const json = await cli('model', 'inspect', bundle, '--json');
  ok(json, 'inspect --json');
  const parsed = JSON.parse(json.stdout) as { manifest: { name: string; files: { path: string }[] }; signatures: unknown[] };
  assert.equal(parsed.manifest.name, 'demo');
  assert.deepEqual(parsed.manifest.files.map((f) => f.path), ['model.onnx', 'labels.txt']);
  assert.equal(parsed.signatures.length, 2);
});

test('a flipped byte in the model is refused naming the file', async () => {
  const f = p('flipped.efb');
  copyFileSync(p('demo-1.0.0.efb'), f);
  const info = await readBundle(f, { verifyFiles: false });
  const model = info.files.find((x) => x.path === 'model.onnx');
  assert.ok(model);
  const buf = readFileSync(f);
  const at = model.offset + Math.floor(model.size / 2);
  buf[at] = (buf[at] as number) ^ 0xff;
  writeFileSync(f, buf);
  const r = await cli('model', 'verify', f, '--trust', p('trust.json'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error \[HASH_MISMATCH\]: bundle flipped\.efb: model\.onnx has sha256 [0-9a-f]{64}; the manifest declares [0-9a-f]{64}\n$/);
  assert.equal(r.stdout, '');
});

test('an edited manifest field is refused, also when signatures.json is patched to match', async () => {
  const f = p('edited.efb');
  copyFileSync(p('demo-1.0.0.efb'), f);
  const info = await readBundle(f, { verifyFiles: false });
  const buf = readFileSync(f);
  const i = buf.indexOf('"demo model"');
  buf.write('"DEMO model"', i, 'latin1');
  writeFileSync(f, buf);
  const naive = await cli('model', 'verify', f, '--trust', p('trust.json'));
  assert.equal(naive.code, 1);
  assert.match(naive.stderr, /error \[HASH_MISMATCH\]: bundle edited\.efb: signatures\.json is for manifest sha256 [0-9a-f]+, but manifest\.json has sha256/);

  const edited = readFileSync(f);
  const newSha = sha256Hex(edited.subarray(512, 512 + info.manifestBytes.length));
  const j = edited.indexOf(info.manifestSha256);
  edited.write(newSha, j, 'latin1');
  writeFileSync(f, edited);
  const patched = await cli('model', 'verify', f, '--trust', p('trust.json'));
  assert.equal(patched.code, 1);
  assert.match(patched.stderr, /error \[SIGNATURE_INVALID\]: bundle demo-1\.0\.0: release signatures: 0 of threshold 1 valid \(key [0-9a-f]{8}… signature invalid; key [0-9a-f]{8}… signature invalid\)/);
});

test('a signature by an untrusted key does not count', async () => {
  const f = p('stranger.efb');
  copyFileSync(p('unsigned.efb'), f);
  ok(await cli('model', 'sign', f, '--key', p('keys/stranger.key')), 'sign stranger');
  const r = await cli('model', 'verify', f, '--trust', p('trust.json'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /error \[THRESHOLD_NOT_MET\]: bundle demo-1\.0\.0: release signatures: 0 of threshold 1 valid \(1 signature by a key not among the release keys of trust version 1 ignored \([0-9a-f]{8}…\); expected release keys: [0-9a-f]{8}…(, [0-9a-f]{8}…)*\)/);
});

test('a threshold not met, and a duplicated key counted once', async () => {
  const f = p('one.efb');
  copyFileSync(p('unsigned.efb'), f);
  ok(await cli('model', 'sign', f, '--key', p('keys/rel1.key')), 'sign rel1');
  const one = await cli('model', 'verify', f, '--trust', p('trust-2of2.json'));
  assert.equal(one.code, 1);
  assert.match(one.stderr, /error \[THRESHOLD_NOT_MET\]: bundle demo-1\.0\.0: release signatures: 1 of threshold 2 valid\n/);

  // The same key's signature twice must not reach a threshold of 2.
  const info = await readBundle(f);
  const rel1 = await readSecretKeyFile(p('keys/rel1.key'));
  const sig = signBytes(rel1, manifestSigningBytes(info));
  await rewriteSignatures(f, info, [sig, sig]);
  const dup = await cli('model', 'verify', f, '--trust', p('trust-2of2.json'));
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /error \[THRESHOLD_NOT_MET\]: .*1 of threshold 2 valid \(1 key signed more than once, counted once/);
});

test('a tar entry with a "../" path is refused', async () => {
  const f = p('traversal.efb');
  copyFileSync(p('demo-1.0.0.efb'), f);
  renameTarEntry(f, 'labels.txt', '../lab.txt');
  const r = await cli('model', 'verify', f, '--trust', p('trust.json'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /error \[PATH_TRAVERSAL\]: .*\.\.\/lab\.txt/);
});

test('pack refuses a model whose io does not match the manifest and writes nothing', async () => {
  const io = { inputs: [{ name: 'input', datatype: 'FP64', shape: [-1, 3] }], outputs: [{ name: 'score', datatype: 'FP32', shape: [-1, 2] }] };
  writeFileSync(p('bad-io.json'), JSON.stringify(manifest({ version: '1.0.1', io })));
  const r = await cli('model', 'pack', '--manifest', p('bad-io.json'), '--model', p('model.onnx'), '--out', dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error \[MODEL_IO_MISMATCH\]: model .*model\.onnx does not match the manifest io: input "input": expected datatype FP64, the model has FP32; output "score": declared in the manifest but the model has no such output/);
  assert.equal(existsSync(p('demo-1.0.1.efb')), false);

  writeFileSync(p('bad-name.json'), JSON.stringify(manifest({ name: 'Demo Model' })));
  const named = await cli('model', 'pack', '--manifest', p('bad-name.json'), '--model', p('model.onnx'), '--out', dir);
  assert.equal(named.code, 1);
  assert.match(named.stderr, /error \[SCHEMA_INVALID\]: manifest .*bad-name\.json: name: expected a model name of lowercase letters/);
  // A manifest without a name is told it is missing (was `expected string, received undefined, got undefined`); a trust
  // document given as --manifest is named as one.
  const { name: _left, ...nameless } = manifest();
  writeFileSync(p('nameless.json'), JSON.stringify(nameless));
  const missing = await cli('model', 'pack', '--manifest', p('nameless.json'), '--model', p('model.onnx'), '--out', dir);
  assert.equal(missing.stderr, `error [SCHEMA_INVALID]: manifest ${p('nameless.json')}: name: required, but missing (expected a string such as "audio-energy")\n`);
  const trust = await cli('model', 'pack', '--manifest', p('trust.json'), '--model', p('model.onnx'), '--out', dir);
  assert.equal(trust.code, 1);
  assert.match(trust.stderr, /^error \[SCHEMA_INVALID\]: manifest .*trust\.json: this is a "edgefleet\.trust\/v1" file; expected a model's manifest\.json \(edgefleet\.manifest\/v1: /);

  const exists = await cli('model', 'pack', '--manifest', p('manifest.json'), '--model', p('model.onnx'), '--out', dir);
  assert.equal(exists.code, 1);
  assert.match(exists.stderr, /error \[CONFLICT\]: .*demo-1\.0\.0\.efb already exists; expected a new file \(add --force to replace it\)/);

  // A missing --out directory is named before onnxruntime runs (was IO_ERROR naming a hidden temp file).
  const noDir = await cli('model', 'pack', '--manifest', p('manifest.json'), '--model', p('model.onnx'), '--out', p('no-such-dir/demo.efb'));
  assert.equal(noDir.code, 1);
  assert.equal(noDir.stderr, `error [NOT_FOUND]: --out ${p('no-such-dir/demo.efb')}: the directory ${p('no-such-dir')} does not exist; expected an existing directory\n`);
  assert.equal(existsSync(p('no-such-dir')), false);
});

// A tar packed without `model pack`'s onnxruntime check, then signed: every agent refuses its model at
// install (MODEL_IO_MISMATCH), so `model verify`, which checks what an agent checks, refuses it too.
test('verify loads the model: a signed bundle whose model does not match its manifest io is refused', async () => {
  const io = { inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }], outputs: mlp.io.outputs };
  const out = p('hand-made.efb');
  await packBundle({ manifest: manifest({ version: '1.0.2', io, features: [], created: '2026-06-01T00:00:00Z', entrypoint: 'model.onnx' }), files: [{ path: 'model.onnx', source: p('model.onnx') }], out });
  ok(await cli('model', 'sign', out, '--key', p('keys/rel1.key')), 'sign the hand-made bundle');
  const r = await cli('model', 'verify', out, '--trust', p('trust.json'));
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'error [MODEL_IO_MISMATCH]: model bundle hand-made.efb: model.onnx does not match the manifest io: input "input": dimension 1 expected 4, the model has 3\n');
  assert.equal(r.stdout, '');
});

test('usage errors exit 2 with usage; help exits 0', async () => {
  const missing = await cli('model', 'verify', '--trust', p('trust.json'));
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^error \[BAD_REQUEST\]: missing BUNDLE\nusage: edgefleet model verify BUNDLE --trust FILE\n/);
  const help = await runCli(CLI, ['model', '--help']);
  ok(help, 'model --help');
  assert.match(help.stdout, /model pack\s+Pack a model/);
  assert.match(help.stdout, /model inspect/);
});
