// The file-level pieces of packaging (scripts/package-lib.mjs, docs/decisions/0019-packaging.md): the
// checkout's root, ELF machine checks, the production dependency closure, copying the workspace packages
// and the pruned third-party ones, and the check that every bare import, and every file the code reads
// beside itself, resolves inside the tarball.
// Plain JS run by node (no build step of its own).
import { builtinModules } from 'node:module';
import {
  copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, closeSync,
  readdirSync, realpathSync, statSync, writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Dependencies a package needs only while npm installs it (downloaders of prebuilt binaries), never at run time. */
export const INSTALL_ONLY = {
  'onnxruntime-node': ['adm-zip', 'global-agent'],
  'better-sqlite3': ['prebuild-install'],
};

/** ELF e_machine per Node arch. */
export const ELF_MACHINE = { x64: 0x3e, arm64: 0xb7 };

/** A failure with a stable code from shared/src/errors.ts (BAD_REQUEST: the command line, exit 2). */
export class PackageError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** The ELF e_machine of a native file (throws when it is not ELF). */
export function elfMachine(file) {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(20);
    readSync(fd, b, 0, 20, 0);
    if (b.readUInt32BE(0) !== 0x7f454c46) throw new PackageError('CONFIG_INVALID', `${file}: not an ELF file`);
    return b.readUInt16LE(18);
  } finally {
    closeSync(fd);
  }
}

export function checkElf(file, arch) {
  const m = elfMachine(file);
  if (m !== ELF_MACHINE[arch]) throw new PackageError('CONFIG_INVALID', `${file}: built for ELF machine 0x${m.toString(16)}, expected linux-${arch} (0x${ELF_MACHINE[arch].toString(16)})`);
}

export function readJson(p) {
  return JSON.parse(readFileSync(p, 'utf8'));
}

/** Where node would resolve package `name` from directory `from` (walking up node_modules). */
function resolvePackageDir(name, from) {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === ROOT || dirname(dir) === dir) break;
  }
  throw new PackageError('CONFIG_INVALID', `cannot resolve ${name} from ${relative(ROOT, from) || '.'}: is node_modules installed?`);
}

/** The production dependency closure of `pkgDir`: Map(path relative to ROOT -> package.json). */
export function dependencyClosure(pkgDir) {
  const found = new Map();
  const visit = (dir) => {
    const pj = readJson(join(dir, 'package.json'));
    const skip = new Set(INSTALL_ONLY[pj.name] ?? []);
    const deps = { ...(pj.dependencies ?? {}), ...(pj.optionalDependencies ?? {}) };
    for (const name of Object.keys(deps)) {
      if (skip.has(name)) continue;
      let depDir;
      try {
        depDir = resolvePackageDir(name, dir);
      } catch (err) {
        if (name in (pj.optionalDependencies ?? {})) continue;
        throw err;
      }
      const real = realpathSync(depDir);
      const key = real.startsWith(join(ROOT, 'node_modules')) ? relative(ROOT, real) : relative(ROOT, depDir);
      if (found.has(key)) continue;
      found.set(key, { dir: real, name, json: readJson(join(real, 'package.json')) });
      visit(real);
    }
  };
  visit(pkgDir);
  return found;
}

/** Files under `dir` (relative paths), recursively, skipping directories for which skipDir(rel) is true. */
function walk(dir, skipDir = () => false, base = dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const rel = relative(base, p);
    const st = lstatSync(p);
    if (st.isDirectory()) {
      if (!skipDir(rel, name)) walk(p, skipDir, base, out);
    } else out.push(rel);
  }
  return out;
}

function copyFiltered(src, dst, keepFile, skipDir = () => false) {
  for (const rel of walk(src, skipDir)) {
    if (!keepFile(rel)) continue;
    mkdirSync(dirname(join(dst, rel)), { recursive: true });
    copyFileSync(join(src, rel), join(dst, rel));
  }
}

/** Compiled JS only: no tests, no test helpers (`testing`, `testutil`, `NAME-testing`), no maps, no declarations. */
const compiledJs = (rel) => rel.endsWith('.js') && !rel.endsWith('.test.js') && !/(^|[/-])test(ing|util)(\.js$|\/)/.test(rel);

/** A workspace package (shared, agent, hub) as it runs: package.json without dev deps, plain JS files, dist. */
export function copyWorkspacePackage(src, dst) {
  const pj = readJson(join(src, 'package.json'));
  delete pj.devDependencies;
  mkdirSync(dst, { recursive: true });
  writeFileSync(join(dst, 'package.json'), `${JSON.stringify(pj, null, 2)}\n`);
  for (const name of readdirSync(src)) {
    if (name.endsWith('.js')) copyFileSync(join(src, name), join(dst, name));
  }
  if (existsSync(join(src, 'bin'))) cpSync(join(src, 'bin'), join(dst, 'bin'), { recursive: true });
  copyFiltered(join(src, 'dist'), join(dst, 'dist'), compiledJs);
}

/**
 * A third-party package's files nothing runs: tests (`test.js`, `*.test.js`, `*.spec.js`), TypeScript
 * sources and build info, maps, markdown, declarations and dotfiles (lint, CI, editor settings); never a licence.
 */
const devFile = (rel) => {
  const base = rel.slice(rel.lastIndexOf('/') + 1);
  if (/^(licen[cs]e|notice|copying)/i.test(base)) return false; // licences stay, whatever their extension
  return base.startsWith('.') || /^(test|.+\.test|.+\.spec)\.[cm]?js$/.test(base) || /^tsconfig.*\.json$/.test(base)
    || /\.(map|md|tsbuildinfo)$/.test(base) || /\.[cm]?ts$/.test(base);
};

const NOT_RUNTIME_DIRS = new Set(['test', 'tests', '__tests__', 'benchmark', 'benchmarks', 'bench', 'docs', 'doc', 'example', 'examples', '.github', 'coverage']);

/** Copies one third-party package, pruned per package (native parts for the target only). */
export function copyDependency(name, src, dst, arch) {
  // Nested node_modules are copied as packages of their own; a package's own tests, docs and
  // benchmarks (top-level directories) are not run by anything.
  const noNested = (rel, base) => base === 'node_modules' || (rel === base && NOT_RUNTIME_DIRS.has(base));
  if (name === 'onnxruntime-node') {
    copyFiltered(src, dst, (rel) => !rel.startsWith('bin/') && !rel.startsWith('script/') && !devFile(rel), noNested);
    const bin = join('bin', 'napi-v6', 'linux', arch);
    cpSync(join(src, bin), join(dst, bin), { recursive: true });
    for (const f of readdirSync(join(dst, bin))) checkElf(join(dst, bin, f), arch);
    return;
  }
  if (name === 'onnxruntime-web') {
    // Node loads dist/ort.node.min.{mjs,js} (the "node" export), which loads the CPU WebAssembly
    // build ort-wasm-simd-threaded.{mjs,wasm}; the WebGPU/WebGL/JSPI builds are for browsers.
    const keep = new Set(['package.json', 'dist/ort.node.min.mjs', 'dist/ort.node.min.js', 'dist/ort-wasm-simd-threaded.mjs', 'dist/ort-wasm-simd-threaded.wasm', 'LICENSE']);
    copyFiltered(src, dst, (rel) => keep.has(rel), noNested);
    return;
  }
  if (name === 'better-sqlite3') {
    copyFiltered(src, dst, (rel) => rel === 'package.json' || rel === 'LICENSE' || rel.startsWith('lib/'), noNested);
    return; // the addon is placed by buildPackage (host build or --better-sqlite3)
  }
  copyFiltered(src, dst, (rel) => !devFile(rel), noNested);
}

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
// Static imports and re-exports at the start of a line, side-effect imports, import('x') and require('x').
const IMPORT_RE = /^\s*(?:import|export)\s[^'";]*?\bfrom\s*['"]([^'"./][^'"]*)['"]|^\s*import\s*['"]([^'"./][^'"]*)['"]|\bimport\(\s*['"]([^'"./][^'"]*)['"]\s*\)|\brequire\(\s*['"]([^'"./][^'"]*)['"]\s*\)/gm;

// A file the compiled code reads beside itself: new URL('../x', import.meta.url). A .ts one is the path
// taken only when the sources run (through tsx), never from a tarball.
const FILE_URL_RE = /\bnew URL\(\s*['"](\.\.?\/[^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g;

/**
 * What the program's and shared's JS name that the tarball lacks: bare imports of no package in it (a
 * missing or dev dependency), and files read beside the code (new URL('./x', import.meta.url)) not in it.
 */
export function unresolvedReferences(stage, programDir) {
  const present = new Set();
  const nm = join(stage, 'node_modules');
  for (const n of readdirSync(nm)) {
    if (n.startsWith('@')) for (const s of readdirSync(join(nm, n))) present.add(`${n}/${s}`);
    else present.add(n);
  }
  const bad = [];
  for (const dir of [join(stage, programDir), join(nm, '@edgefleet', 'shared')]) {
    for (const rel of walk(dir, (r, base) => base === 'node_modules')) {
      if (!rel.endsWith('.js')) continue;
      const text = readFileSync(join(dir, rel), 'utf8');
      for (const m of text.matchAll(IMPORT_RE)) {
        const spec = m[1] ?? m[2] ?? m[3] ?? m[4];
        if (BUILTINS.has(spec) || BUILTINS.has(spec.split('/')[0])) continue;
        const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        if (!present.has(pkg)) bad.push(`${relative(stage, join(dir, rel))}: imports ${spec}`);
      }
      for (const [, file] of text.matchAll(FILE_URL_RE)) {
        if (!file.endsWith('.ts') && !existsSync(join(dir, dirname(rel), file))) bad.push(`${relative(stage, join(dir, rel))}: reads ${file}, which is not in the tarball`);
      }
    }
  }
  return bad;
}

export function dirBytes(dir) {
  let n = 0;
  for (const rel of walk(dir)) n += statSync(join(dir, rel)).size;
  return n;
}
