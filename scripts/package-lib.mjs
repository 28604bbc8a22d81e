// Building a self-contained tarball of one edgefleet program (agent or hub) for one platform
// (docs/operations.md "Installing from a tarball", docs/decisions/0019-packaging.md):
//   PROGRAM/{package.json, bin/, dist/**.js}      the compiled program (no tests, maps or .d.ts), and the
//                                                files it reads at run time (the agent's proto/)
//   node_modules/@edgefleet/shared               the compiled shared package
//   node_modules/...                             the production dependency closure, copied at the
//                                                paths npm resolved them to (nested versions stay nested)
//   desktop/dist/renderer/                       the hub's web console (hub only)
//   systemd/edgefleet-PROGRAM.service, install.sh, uninstall.sh, MANIFEST.json
// Native parts are kept for the target platform only (onnxruntime-node's bin/napi-v6/OS/ARCH, the
// better-sqlite3 addon) and their ELF machine is checked against the target. Install-time-only
// dependencies (prebuilt downloaders) are left out. Every bare import in the copied JS must resolve
// to a package in the tarball or a Node builtin, or the build fails (no dev dependency slips in), and
// so must every file it reads beside itself (new URL('../proto/…', import.meta.url)).
// Plain JS run by node (no build step of its own); used by package-agent.mjs and package-hub.mjs.
// The copying, pruning and checks it is built from: package-copy.mjs.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { addonAbiMatches, crossCompileBetterSqlite3, crossPackage } from './cross-addon.mjs';
import {
  ROOT, ELF_MACHINE, PackageError, checkElf, readJson, dependencyClosure, copyWorkspacePackage, copyDependency, unresolvedReferences, dirBytes,
} from './package-copy.mjs';

export { ROOT, INSTALL_ONLY, PackageError, elfMachine, dependencyClosure, unresolvedReferences } from './package-copy.mjs';

/**
 * What each program ships: its entry (checked to be built), unit, and the directories besides dist/ that
 * it reads at run time (`files`: the agent's gRPC API loads proto/grpc_predict_v2.proto, agent/src/api/grpc/server.ts).
 */
export const PROGRAMS = {
  agent: {
    entry: 'dist/cli/main.js', unit: 'edgefleet-agent.service', bins: ['edgefleet-agent'], files: ['proto'],
    schema: { file: 'agent.db', table: 'migrations', column: 'id', module: 'dist/store/agent-store.js', list: 'AGENT_MIGRATIONS', key: 'id' },
  },
  hub: {
    entry: 'dist/server/main.js', unit: 'edgefleet-hub.service', bins: ['edgefleet-hub', 'edgefleet'],
    schema: { file: 'hub.db', table: 'schema_migrations', column: 'version', module: 'dist/schema.js', list: 'HUB_MIGRATIONS', key: 'version' },
  },
};

/**
 * The migrations the program knows, for install.sh's refusal of a database a newer version wrote
 * (docs/operations.md "Upgrades"): where they are recorded and their ids, read from the compiled list.
 */
async function knownMigrations(srcDir, s) {
  const list = (await import(pathToFileURL(join(srcDir, s.module)).href))[s.list];
  if (!Array.isArray(list) || list.length === 0) throw new PackageError('NOT_READY', `${s.module}: no ${s.list} to record in MANIFEST.json`);
  return { file: s.file, table: s.table, column: s.column, known: list.map((m) => m[s.key]).sort((a, b) => a - b) };
}

/** Parses `--out DIR --arch ARCH --better-sqlite3 FILE` (all optional). */
export function parseArgs(argv, program) {
  const o = { out: join(ROOT, 'packaging', 'dist'), arch: process.arch, betterSqlite3: undefined, crossCompile: false, keepDir: false, fast: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const need = () => {
      const v = argv[++i];
      if (v === undefined) throw new PackageError('BAD_REQUEST', `${a} needs a value`);
      return v;
    };
    if (a === '--out') o.out = resolve(need());
    else if (a === '--arch') o.arch = need();
    else if (a === '--better-sqlite3') o.betterSqlite3 = resolve(need());
    else if (a === '--cross-compile') o.crossCompile = true;
    else if (a === '--keep-dir') o.keepDir = true;
    else if (a === '--fast') o.fast = true;
    else if (a === '--help' || a === '-h') {
      return { help: `usage: node scripts/package-${program}.mjs [--out DIR] [--arch x64|arm64] [--better-sqlite3 FILE | --cross-compile] [--keep-dir] [--fast]\n`
        + `  builds edgefleet-${program}-VERSION-linux-ARCH.tar.gz from the compiled checkout (run \`npx tsc -b\` first;\n`
        + `  \`npm run package:${program}\` does). --arch arm64 needs a better_sqlite3.node built for linux-arm64 and this\n`
        + '  Node ABI (npm ships none in the package): give one with --better-sqlite3, or --cross-compile builds it here with\n'
        + "  Debian's g++-aarch64-linux-gnu (cached in packaging/cache). --keep-dir keeps the unpacked tree next to the tarball.\n"
        + '  --fast is for tests: gzip -1 (same files, about 15% bigger), and with --cross-compile the addon at -O0\n'
        + '  (seconds instead of minutes; slower SQLite, never for boxes).\n' };
    } else throw new PackageError('BAD_REQUEST', `unknown argument ${a}: expected --out, --arch, --better-sqlite3, --cross-compile, --keep-dir, --fast or --help`);
  }
  if (!(o.arch in ELF_MACHINE)) throw new PackageError('BAD_REQUEST', `--arch ${o.arch}: expected x64 or arm64`);
  if (o.crossCompile && o.betterSqlite3) throw new PackageError('BAD_REQUEST', '--cross-compile and --better-sqlite3 both give the addon: expected one of them');
  if (o.crossCompile && o.arch === process.arch) throw new PackageError('BAD_REQUEST', `--cross-compile: linux-${o.arch} is this machine's own arch (npm already compiled its addon)`);
  return o;
}


/**
 * Builds edgefleet-PROGRAM-VERSION-linux-ARCH.tar.gz in `o.out`. Returns its path, the unpacked
 * tree's name, the tarball's and the tree's sizes in bytes.
 */
export async function buildPackage(program, o) {
  const spec = PROGRAMS[program];
  const srcDir = join(ROOT, program);
  if (!existsSync(join(srcDir, spec.entry)) || !existsSync(join(ROOT, 'shared', 'dist', 'core.js'))) {
    throw new PackageError('NOT_READY', `${program}/${spec.entry} is not built: run \`npx tsc -b\` first (\`npm run package:${program}\` does)`);
  }
  const version = readJson(join(srcDir, 'package.json')).version;
  const name = `edgefleet-${program}-${version}-linux-${o.arch}`;
  let addon = join(ROOT, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
  if (o.arch !== process.arch) {
    if (!o.betterSqlite3) {
      throw new PackageError('CONFIG_INVALID', `--arch ${o.arch}: the better-sqlite3 package holds no prebuilt addon for linux-${o.arch} (only the one npm compiled `
        + `for this ${process.arch} machine): give one built for linux-${o.arch} and Node ABI ${process.versions.modules} with --better-sqlite3 FILE, `
        + `or build one here with --cross-compile (needs Debian's ${crossPackage(o.arch)})`);
    }
  }
  if (o.betterSqlite3) addon = o.betterSqlite3;
  if (!existsSync(addon)) throw new PackageError('CONFIG_INVALID', `${addon}: no better-sqlite3 addon there`);
  checkElf(addon, o.arch);
  if (!addonAbiMatches(readFileSync(addon), process.versions.modules)) {
    throw new PackageError('CONFIG_INVALID', `${addon}: not built for Node ABI ${process.versions.modules} (${process.version}): the packaged agent would not load it`);
  }

  mkdirSync(o.out, { recursive: true });
  const stage = join(o.out, name);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });

  copyWorkspacePackage(srcDir, join(stage, program));
  for (const d of spec.files ?? []) cpSync(join(srcDir, d), join(stage, program, d), { recursive: true });
  copyWorkspacePackage(join(ROOT, 'shared'), join(stage, 'node_modules', '@edgefleet', 'shared'));
  const closure = new Map([...dependencyClosure(srcDir), ...dependencyClosure(join(ROOT, 'shared'))]);
  const packages = [];
  for (const [key, dep] of closure) {
    if (dep.name.startsWith('@edgefleet/')) continue;
    copyDependency(dep.name, dep.dir, join(stage, key), o.arch);
    packages.push(`${dep.name}@${dep.json.version}`);
  }
  if (closure.has('node_modules/better-sqlite3')) {
    const dst = join(stage, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
    mkdirSync(dirname(dst), { recursive: true });
    copyFileSync(addon, dst);
  }
  const bad = unresolvedReferences(stage, program);
  if (bad.length) {
    throw new PackageError('CONFIG_INVALID', `the compiled ${program} needs what its tarball lacks (a package that is not a production dependency, `
      + `or a file its code reads: a directory for PROGRAMS.${program}.files in scripts/package-lib.mjs):\n  ${bad.join('\n  ')}`);
  }

  // What install.sh copies into the prefix and uninstall.sh removes (MANIFEST.json `parts`).
  const parts = [program, 'node_modules'];
  if (program === 'hub') {
    // The web console (hub/src/api/console.ts looks three levels above dist/api: desktop/dist/renderer).
    const renderer = join(ROOT, 'desktop', 'dist', 'renderer');
    if (!existsSync(join(renderer, 'index.html'))) throw new PackageError('NOT_READY', 'desktop/dist/renderer is not built: run `npm run build` first');
    cpSync(renderer, join(stage, 'desktop', 'dist', 'renderer'), { recursive: true });
    parts.push('desktop');
  }
  mkdirSync(join(stage, 'systemd'));
  copyFileSync(join(ROOT, 'packaging', 'systemd', spec.unit), join(stage, 'systemd', spec.unit));
  for (const script of ['install.sh', 'uninstall.sh']) {
    copyFileSync(join(ROOT, 'packaging', script), join(stage, script));
    chmodSync(join(stage, script), 0o755);
  }
  const manifest = {
    program, version, platform: 'linux', arch: o.arch,
    // better-sqlite3 is a Node addon compiled against one ABI: install.sh refuses another Node.
    node: { abi: process.versions.modules, builtWith: process.version, engines: readJson(join(ROOT, 'package.json')).engines?.node ?? null },
    entry: `${program}/bin/${spec.bins[0]}.js`,
    bins: spec.bins,
    parts,
    schema: await knownMigrations(srcDir, spec.schema),
    packages: packages.sort(),
  };
  writeFileSync(join(stage, 'MANIFEST.json'), `${JSON.stringify(manifest, null, 2)}\n`);

  const tarball = join(o.out, `${name}.tar.gz`);
  // Modes as a box needs them whatever the builder's umask: readable by all, written by the owner only.
  const tar = spawnSync('tar', ['-I', o.fast ? 'gzip -1' : 'gzip', '-cf', tarball, '--owner=0', '--group=0', '--mode=u+rwX,go+rX,go-w', '-C', o.out, name], { encoding: 'utf8' });
  if (tar.status !== 0) throw new PackageError('IO_ERROR', `tar failed (${tar.status}): ${tar.stderr}`);
  const unpackedBytes = dirBytes(stage);
  if (!o.keepDir) rmSync(stage, { recursive: true, force: true });
  return { tarball, name, bytes: statSync(tarball).size, unpackedBytes, manifest };
}

/** The CLI of package-agent.mjs / package-hub.mjs. */
export async function packageMain(program) {
  try {
    const o = parseArgs(process.argv.slice(2), program);
    if (o.help) {
      process.stdout.write(o.help);
      return;
    }
    if (o.crossCompile) {
      const cache = join(ROOT, 'packaging', 'cache');
      try {
        o.betterSqlite3 = await crossCompileBetterSqlite3(join(ROOT, 'node_modules', 'better-sqlite3'), o.arch, cache, (line) => process.stderr.write(`${line}\n`), { unoptimized: o.fast });
      } catch (err) {
        throw new PackageError('CONFIG_INVALID', err.message);
      }
    }
    const r = await buildPackage(program, o);
    process.stdout.write(`${r.tarball}: ${(r.bytes / 1048576).toFixed(1)} MB (${(r.unpackedBytes / 1048576).toFixed(1)} MB unpacked, ${r.manifest.packages.length} packages, Node ABI ${r.manifest.node.abi})\n`);
  } catch (err) {
    if (err instanceof PackageError) {
      process.stderr.write(`error [${err.code}]: ${err.message}\n`);
      process.exitCode = err.code === 'BAD_REQUEST' ? 2 : 1;
      return;
    }
    throw err;
  }
}
