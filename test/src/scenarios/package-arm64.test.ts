// The linux-arm64 agent tarball (issue 13, docs/decisions/0046-arm64-tarball.md): built on this x64
// machine with `--cross-compile` (better-sqlite3's addon compiled from its own sources with Debian's
// g++-aarch64-linux-gnu; onnxruntime-node's arm64 binaries come from its package). No arm64 Node 20 runs
// here, so the tarball is checked for what would stop it loading on a box: every native file is an
// aarch64 ELF, none of this machine's is inside, the addon registers this Node's ABI (the one
// MANIFEST.json records and install.sh checks). An addon of another Node ABI is refused.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { repoRoot } from '@edgefleet/examples';

const root = repoRoot();
const VERSION = (JSON.parse(readFileSync(join(root, 'agent/package.json'), 'utf8')) as { version: string }).version;
const AARCH64 = 0xb7;

/** The ELF e_machine of a file, or undefined when it is not ELF. */
function elfMachine(file: string): number | undefined {
  const b = readFileSync(file).subarray(0, 20);
  return b.length === 20 && b.readUInt32BE(0) === 0x7f454c46 ? b.readUInt16LE(18) : undefined;
}

function nativeFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) nativeFiles(p, out);
    else if (/\.node$|\.so(\.\d+)*$/.test(name)) out.push(p);
  }
  return out;
}

const pack = (args: string[], timeout = 20_000) =>
  spawnSync(process.execPath, [join(root, 'scripts/package-agent.mjs'), ...args], { encoding: 'utf8', timeout });

/**
 * The long build, in a process group of its own: when the runner ends this file (its 5-minute limit, a
 * SIGTERM) the compiler processes under node-gyp end with it instead of running on as orphans that slow
 * the rest of the suite (spawnSync would block the handler until the build ended).
 */
function packLong(args: string[], timeoutMs: number): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'scripts/package-agent.mjs'), ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const killGroup = () => { try { process.kill(-(child.pid as number), 'SIGKILL'); } catch { /* already gone */ } };
    const onSignal = () => { killGroup(); process.exit(1); };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    process.once('exit', killGroup);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(killGroup, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      process.off('exit', killGroup);
    };
    child.on('error', (err) => { done(); reject(err); });
    child.on('close', (status) => { done(); resolve({ status, stdout, stderr }); });
  });
}

describe('the linux-arm64 agent tarball, cross-compiled here', () => {
  const out = mkdtempSync(join(tmpdir(), 'edgefleet-arm64-'));
  after(() => rmSync(out, { recursive: true, force: true }));
  const tree = join(out, `edgefleet-agent-${VERSION}-linux-arm64`);

  it('builds, holds aarch64 native files only, and its addon registers this Node ABI', { timeout: 900_000 }, async () => {
    const r = await packLong(['--arch', 'arm64', '--cross-compile', '--fast', '--keep-dir', '--out', out], 880_000);
    assert.equal(r.status, 0, `package-agent --arch arm64 --cross-compile failed:\n${r.stderr}\n${r.stdout}`);
    assert.match(r.stdout, /edgefleet-agent-.*-linux-arm64\.tar\.gz: [\d.]+ MB .*Node ABI \d+/);
    assert.ok(existsSync(join(out, `edgefleet-agent-${VERSION}-linux-arm64.tar.gz`)));
    const manifest = JSON.parse(readFileSync(join(tree, 'MANIFEST.json'), 'utf8')) as { arch: string; node: { abi: string } };
    assert.equal(manifest.arch, 'arm64');
    assert.equal(manifest.node.abi, process.versions.modules);

    const natives = nativeFiles(join(tree, 'node_modules')).map((f) => relative(tree, f));
    const machines = natives.map((f) => [f, elfMachine(join(tree, f))] as const);
    const notArm = machines.filter(([, m]) => m !== AARCH64);
    assert.deepEqual(notArm, [], 'every native file is an aarch64 ELF');
    const addon = 'node_modules/better-sqlite3/build/Release/better_sqlite3.node';
    assert.ok(natives.includes(addon), `the better-sqlite3 addon is inside (found ${natives.join(', ')})`);
    assert.ok(natives.some((f) => f.startsWith('node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/')), "onnxruntime-node's arm64 binaries are inside");
    assert.ok(readFileSync(join(tree, addon)).includes(Buffer.from(`node_register_module_v${process.versions.modules}\0`)), `the addon registers Node ABI ${process.versions.modules}`);
  });

  it('refuses an arm64 addon built for another Node ABI, and --cross-compile for its own arch', () => {
    const built = join(tree, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node');
    assert.ok(existsSync(built), 'the previous test left its tree');
    const bytes = readFileSync(built);
    const abi = Buffer.from(`node_register_module_v${process.versions.modules}\0`);
    const other = Buffer.from(`node_register_module_v${Number(process.versions.modules) === 999 ? 998 : 999}\0`);
    let at = bytes.indexOf(abi);
    assert.ok(at >= 0);
    for (; at >= 0; at = bytes.indexOf(abi, at + 1)) other.copy(bytes, at);
    const foreign = join(out, 'other-abi.node');
    writeFileSync(foreign, bytes);
    const r = pack(['--arch', 'arm64', '--better-sqlite3', foreign, '--out', join(out, 'x')]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^error \\[CONFIG_INVALID\\]: .*other-abi\\.node: not built for Node ABI ${process.versions.modules}`, 'm'));

    const own = pack(['--arch', process.arch, '--cross-compile', '--out', join(out, 'y')]);
    assert.equal(own.status, 2, own.stderr);
    assert.match(own.stderr, new RegExp(`^error \\[BAD_REQUEST\\]: --cross-compile: linux-${process.arch} is this machine's own arch`, 'm'));
  });
});
