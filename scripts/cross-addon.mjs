// Cross-compiling the better-sqlite3 addon for another Linux architecture (`--cross-compile` of the
// package scripts; docs/decisions/0046-arm64-tarball.md). npm ships no prebuilt addon in the
// better-sqlite3 package, and nothing may be downloaded at package time, so the addon is compiled from
// the sources the package holds (its SQLite amalgamation and C++ binding) with Debian's cross toolchain
// (`g++-aarch64-linux-gnu`), npm's own node-gyp and this Node's headers (Node's headers do not depend on
// the architecture). The result is cached per better-sqlite3 version, Node ABI and arch under
// packaging/cache, so a second package build does not compile again.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** The GNU triplet prefix of Debian's cross compilers per Node arch. */
export const CROSS_PREFIX = { arm64: 'aarch64-linux-gnu-', x64: 'x86_64-linux-gnu-' };

/** The Debian package that gives the cross C++ compiler for an arch. */
export const crossPackage = (arch) => `g++-${CROSS_PREFIX[arch].slice(0, -1)}`;

/** True when the addon exports the module registration of Node ABI `abi` (a Node of another ABI refuses it). */
export function addonAbiMatches(bytes, abi) {
  return bytes.includes(Buffer.from(`node_register_module_v${abi}\0`));
}

/** npm's bundled node-gyp (npm is installed beside node), or undefined. */
function nodeGyp() {
  const candidates = [
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    process.env.npm_execpath ? join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js') : '',
  ];
  return candidates.find((c) => c && existsSync(c));
}

/** Why the addon cannot be cross-compiled here, or undefined when it can. */
export function crossCompileMissing(arch) {
  const prefix = CROSS_PREFIX[arch];
  if (!prefix) return `no cross toolchain is known for ${arch}`;
  if (spawnSync(`${prefix}g++`, ['--version'], { encoding: 'utf8' }).status !== 0) {
    return `${prefix}g++ is not installed (Debian: apt-get install ${crossPackage(arch)})`;
  }
  if (!nodeGyp()) return "npm's node-gyp was not found beside this node";
  const headers = join(dirname(process.execPath), '..', 'include', 'node', 'node.h');
  if (!existsSync(headers)) return `this Node's headers are missing (${headers})`;
  return undefined;
}

/**
 * Compiles better_sqlite3.node for linux-`arch` from the package at `pkgDir`, or returns the cached one.
 * `log` receives progress lines. `unoptimized` compiles at -O0 (tests only: ~8 s for SQLite's
 * amalgamation instead of minutes; cached under its own name, so a shipping build never picks it up).
 * Throws an Error whose message says what failed.
 */
export async function crossCompileBetterSqlite3(pkgDir, arch, cacheDir, log = () => {}, { unoptimized = false } = {}) {
  const version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
  const cached = join(cacheDir, `better-sqlite3-${version}-node${process.versions.modules}-linux-${arch}${unoptimized ? '-O0' : ''}.node`);
  if (existsSync(cached)) {
    log(`better-sqlite3 ${version} for linux-${arch}: cached (${cached})`);
    return cached;
  }
  const missing = crossCompileMissing(arch);
  if (missing) throw new Error(`cannot cross-compile better-sqlite3 for linux-${arch}: ${missing}`);
  const work = mkdtempSync(join(tmpdir(), `edgefleet-bsq-${arch}-`));
  try {
    for (const part of ['binding.gyp', 'deps', 'src', 'package.json']) cpSync(join(pkgDir, part), join(work, part), { recursive: true });
    const prefix = CROSS_PREFIX[arch];
    const env = { ...process.env, CC: `${prefix}gcc`, CXX: `${prefix}g++`, LINK: `${prefix}g++`, AR: `${prefix}ar` };
    // gyp's make rules put CFLAGS/CXXFLAGS after the package's own -O3, so the last -O wins.
    if (unoptimized) Object.assign(env, { CFLAGS: '-O0', CXXFLAGS: '-O0' });
    const args = [nodeGyp(), 'rebuild', `--arch=${arch}`, `--nodedir=${join(dirname(process.execPath), '..')}`, '-j', 'max'];
    log(`compiling better-sqlite3 ${version} for linux-${arch} with ${prefix}g++${unoptimized ? ' at -O0 (--fast: for tests, not for boxes)' : " (SQLite's amalgamation: a minute or two)"}…`);
    const started = Date.now();
    const tail = await run(process.execPath, args, work, env, (n) => log(`  … ${n} files compiled, ${Math.round((Date.now() - started) / 1000)} s`));
    const built = join(work, 'build', 'Release', 'better_sqlite3.node');
    if (tail.code !== 0 || !existsSync(built)) throw new Error(`node-gyp failed (exit ${tail.code}):\n${tail.text}`);
    if (!addonAbiMatches(readFileSync(built), process.versions.modules)) throw new Error(`the compiled addon does not register Node ABI ${process.versions.modules}`);
    mkdirSync(cacheDir, { recursive: true });
    copyFileSync(built, `${cached}.tmp`);
    renameSync(`${cached}.tmp`, cached);
    log(`better-sqlite3 for linux-${arch}: compiled in ${Math.round((Date.now() - started) / 1000)} s`);
    return cached;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Runs a command, counting compiled files for progress; resolves with its exit code and output's tail. */
function run(cmd, args, cwd, env, progress) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    let compiled = 0;
    const take = (chunk) => {
      const s = chunk.toString();
      text = (text + s).slice(-8000);
      const n = (s.match(/^\s*CC?X?\(target\)/gm) ?? []).length;
      if (n > 0) {
        compiled += n;
        progress(compiled);
      }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (err) => resolve({ code: -1, text: `${text}\n${err.message}` }));
    child.on('close', (code) => resolve({ code: code ?? -1, text }));
  });
}
