// The remote CLI's outputs against a real hub process (docs/cli.md): `devices add --out` and
// `devices rotate-secret` check where the credentials go BEFORE the hub issues a secret (a secret the CLI
// cannot write is lost and locks the device out), never overwrite another file silently, and write 0600
// atomically; `model push` streams the bundle (a bundle over 2 GiB reaches the hub, which judges its size)
// after reading its structure and signatures itself (no bundle, or an unsigned one, is never uploaded).
// The commands run in this process (main() with the environment in its context: a process start costs
// ~0.4 s of CPU); the last test's `devices ls` runs as the real program, its exit code and output glue.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, closeSync, copyFileSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { bundleFromOnnx, makeKeys, makeTrust, randomMlp, runCli, runInProcess, startProcess } from '@edgefleet/examples';
import { main } from '../main.js';

describe('remote CLI outputs against a running hub', () => {
  let dir = '';
  let keys: ReturnType<typeof makeKeys>;
  let hub: ReturnType<typeof startProcess> | undefined;
  let env: Record<string, string> = {};
  const cli = (...args: string[]) => runInProcess(main, args, { env, cwd: dir });
  // What the hub holds, asked directly (the CLI's answers are what the tests look at).
  const api = async <T>(path: string): Promise<T> => (await (await fetch(`${env.EDGEFLEET_HUB}/api/v1${path}`, { headers: { authorization: `Bearer ${env.EDGEFLEET_TOKEN}` } })).json()) as T;
  const ids = async () => (await api<{ devices: Array<{ id: string }> }>('/devices')).devices.map((d) => d.id).sort();
  const rotations = async (id: string) => (await api<{ entries: unknown[] }>(`/audit?target=${id}&action=device.rotate-secret`)).entries.length;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-cli-creds-'));
    keys = makeKeys(join(dir, 'keys'));
    const trust = makeTrust(dir, keys);
    hub = startProcess('hub/src/server/main.ts', ['run', '--data-dir', join(dir, 'hub'), '--http-port', '0', '--mqtt-port', '0', '--trust', trust.path, '--hub-key', keys.files.hub.keyPath]);
    const ready = JSON.parse(await hub.waitForLine(/"msg":"hub ready"/, 60_000)) as { http: string };
    env = { EDGEFLEET_HUB: ready.http, EDGEFLEET_TOKEN: readFileSync(join(dir, 'hub', 'admin.token'), 'utf8').trim() };
  });
  after(async () => {
    await hub?.stop('SIGTERM', 20_000);
    rmSync(dir, { recursive: true, force: true });
  });

  it('devices add checks --out before the hub registers the device, never overwrites silently, writes 0600', async () => {
    // A path whose directory does not exist: refused before the POST, so the id is still free.
    const lost = await cli('devices', 'add', '--id', 'pump-1', '--out', join(dir, 'no-such-dir', 'pump-1.json'));
    assert.equal(lost.code, 1, lost.stderr);
    assert.match(lost.stderr, /^error \[NOT_FOUND\]: --out .*no-such-dir\/pump-1\.json: the directory .*no-such-dir does not exist; expected an existing directory/m);
    assert.deepEqual(await ids(), [], 'no device registered whose secret could not be written');
    const ok1 = await cli('devices', 'add', '--id', 'pump-1', '--out', join(dir, 'pump-1.json'));
    assert.equal(ok1.code, 0, ok1.stderr);
    assert.equal(statSync(join(dir, 'pump-1.json')).mode & 0o777, 0o600);

    // Another device's credentials are not overwritten; with --force the file is replaced and made 0600.
    const other = join(dir, 'other.json');
    writeFileSync(other, '{"deviceId":"someone-else"}\n');
    chmodSync(other, 0o644);
    const clash = await cli('devices', 'add', '--id', 'pump-2', '--out', other);
    assert.equal(clash.code, 1, clash.stderr);
    assert.match(clash.stderr, /^error \[CONFLICT\]: --out .*other\.json already exists; expected a new file \(add --force to replace it\)/m);
    assert.equal(readFileSync(other, 'utf8'), '{"deviceId":"someone-else"}\n');
    assert.deepEqual(await ids(), ['pump-1']);
    const forced = await cli('devices', 'add', '--id', 'pump-2', '--out', other, '--force');
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(statSync(other).mode & 0o777, 0o600, 'a replaced file is 0600, not the old mode');
    assert.equal((JSON.parse(readFileSync(other, 'utf8')) as { deviceId: string }).deviceId, 'pump-2');
  });

  it('devices rotate-secret needs --out or --json and checks --out before rotating', async () => {
    assert.equal((await cli('devices', 'add', '--id', 'pump-3', '--out', join(dir, 'pump-3.json'))).code, 0);
    const other = join(dir, 'other-3.json');
    writeFileSync(other, '{"deviceId":"someone-else"}\n');
    // rotate-secret without somewhere to put the new secret does nothing (exit 2, naming --out).
    const bare = await cli('devices', 'rotate-secret', 'pump-3');
    assert.equal(bare.code, 2, bare.stderr);
    assert.match(bare.stderr, /^error \[BAD_REQUEST\]: missing --out FILE: the new secret is shown once/m);
    const badPath = await cli('devices', 'rotate-secret', 'pump-3', '--out', join(dir, 'no-such-dir', 'x.json'));
    assert.equal(badPath.code, 1, badPath.stderr);
    assert.match(badPath.stderr, /^error \[NOT_FOUND\]: --out .*no-such-dir\/x\.json: the directory/m);
    const taken = await cli('devices', 'rotate-secret', 'pump-3', '--out', other);
    assert.equal(taken.code, 1, taken.stderr);
    assert.match(taken.stderr, /^error \[CONFLICT\]: --out .*other-3\.json already exists/m);
    assert.equal(await rotations('pump-3'), 0, 'the device was not rotated (it keeps its working secret)');
    const rotated = await cli('devices', 'rotate-secret', 'pump-3', '--out', join(dir, 'pump-3.json'), '--force');
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.equal(statSync(join(dir, 'pump-3.json')).mode & 0o777, 0o600);
    const json = await cli('devices', 'rotate-secret', 'pump-3', '--json');
    assert.equal(json.code, 0, json.stderr);
    assert.equal((JSON.parse(json.stdout) as { deviceId: string }).deviceId, 'pump-3');
    assert.equal(await rotations('pump-3'), 2);
  });

  it('model push streams the bundle', async () => {
    // model push streams: a signed bundle is accepted, and a 2 GiB + 5 bytes file (sparse: no disk used)
    // reaches the hub, which refuses it by its declared size, instead of failing to be read into memory.
    const mlp = randomMlp({ inputDim: 3, hidden: [4], outputDim: 2, seed: 9 });
    const b = await bundleFromOnnx({ dir, onnx: mlp.onnx, name: 'demo', version: '1.0.0', io: mlp.io, keys });
    const push = await cli('model', 'push', b.path);
    assert.equal(push.code, 0, push.stderr);
    assert.match(push.stdout, /^pushed demo 1\.0\.0 \(/);
    // The signed bundle grown by zeros past its end-of-archive marker: read locally as a bundle, then sent.
    const huge = join(dir, 'huge.efb');
    copyFileSync(b.path, huge);
    const fd = openSync(huge, 'r+');
    ftruncateSync(fd, 2 ** 31 + 5);
    closeSync(fd);
    const big = await cli('model', 'push', huge);
    assert.equal(big.code, 1, big.stderr);
    assert.match(big.stderr, /^error \[PAYLOAD_TOO_LARGE\]: hub: request body of 2147483653 bytes is too large: expected at most \d+ bytes \(the hub's maxBundleBytes, --max-bundle-bytes\)/m);
  });

  it('a body refused by its declared size is answered 413 before any 100 Continue, so the client sends none of it', async () => {
    // Node answered 100 as soon as the headers were read; the route's 413 came after the client had begun to
    // send, and the hub's close could reach it first: `model push` of 2 GiB said "write EPIPE" on a busy box.
    const { hostname, port } = new URL(env.EDGEFLEET_HUB ?? '');
    const sock = connect(Number(port), hostname);
    const first = await new Promise<string>((resolve, reject) => {
      let got = '';
      sock.on('data', (d: Buffer) => {
        got += d.toString('latin1');
        if (got.includes('\r\n')) resolve(got.slice(0, got.indexOf('\r\n')));
      });
      sock.on('error', reject);
      sock.write(`POST /api/v1/models HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${env.EDGEFLEET_TOKEN}\r\n`
        + 'Content-Type: application/octet-stream\r\nContent-Length: 2147483653\r\nExpect: 100-continue\r\n\r\n');
    }).finally(() => sock.destroy());
    assert.match(first, /^HTTP\/1\.1 413 /);
  });

  it('model push refuses what is no signed bundle before uploading it, saying what to do', async () => {
    const pushes = async () => (await api<{ entries: unknown[] }>('/audit?action=model.push')).entries.length;
    const before = await pushes();
    const mlp = randomMlp({ inputDim: 3, hidden: [4], outputDim: 2, seed: 10 });
    const unsigned = await bundleFromOnnx({ dir, onnx: mlp.onnx, name: 'demo', version: '1.1.0', io: mlp.io, sign: false });
    const r = await cli('model', 'push', unsigned.path);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `error [THRESHOLD_NOT_MET]: ${unsigned.path} is unsigned; expected release signatures: sign it first with "edgefleet model sign ${unsigned.path} --key RELEASE.key"\n`);
    const gz = join(dir, 'demo-1.1.0.efb.gz');
    writeFileSync(gz, gzipSync(readFileSync(unsigned.path)));
    const g = await cli('model', 'push', gz);
    assert.equal(g.code, 1);
    assert.equal(g.stderr, 'error [BUNDLE_INVALID]: bundle demo-1.1.0.efb.gz: not a bundle: the file is gzip-compressed; expected the uncompressed tar "edgefleet model pack" writes\n');
    const d = await cli('model', 'push', dir);
    assert.equal(d.code, 1);
    assert.equal(d.stderr, `error [BAD_REQUEST]: ${dir} is a directory: expected a bundle file (.efb)\n`);
    const missing = await cli('model', 'push', join(dir, 'nope.efb'));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error \[NOT_FOUND\]: cannot open bundle .*nope\.efb: ENOENT/);
    assert.equal(await pushes(), before, 'nothing reached the registry');
    assert.deepEqual((await api<{ versions: Array<{ version: string }> }>('/models')).versions.map((v) => v.version), ['1.0.0']);
  });

  it('enroll-token create and tokens create print the token alone on stdout (T=$(...) works), the rest on stderr', async () => {
    const et = await cli('enroll-token', 'create', '--tag', 'ring=main', '--ttl', '600');
    assert.equal(et.code, 0, et.stderr);
    assert.match(et.stdout, /^eft_[\w-]+\n$/, 'only the token: a shell substitution takes it as one word');
    assert.match(et.stderr, /^enrollment token et_[0-9a-f]+: expires \S+Z, 1 use\(s\); give it to "edgefleet-agent enroll --token"\n$/);
    const t = await cli('tokens', 'create', 'ci-probe', '--role', 'viewer');
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /^efa_[\w-]+\n$/);
    assert.equal(t.stderr, 'viewer token "ci-probe" (shown once: keep it)\n');
    const ls = await runCli('hub/src/cli/main.ts', ['devices', 'ls'], { env: { ...env, EDGEFLEET_TOKEN: t.stdout.trim() } });
    assert.equal(ls.code, 0, ls.stderr);
    assert.equal(JSON.parse((await cli('tokens', 'create', '--role', 'viewer', '--json')).stdout).role, 'viewer', '--json unchanged');
  });
});
