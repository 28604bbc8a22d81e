// `edgefleet-hub`'s entry loads a command's code only when that command runs
// (docs/decisions/0144-hub-entry-loads-per-command.md): --help, --version and each
// command's --help, as real processes, never import the server, the store, pino,
// better-sqlite3, aedes or onnxruntime; `backup` and `run` do import theirs (so the
// check can fail). A loader hook records every module the process resolves.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runCli } from '@edgefleet/examples';

const HOOK = `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(process.env.EF_RESOLVED_FILE, r.url + '\\n');
  return r;
}`;

/** What `edgefleet-hub` must not load before a command runs: the server and what only it needs. */
const SERVER = /\/(?:hub\/(?:src|dist)\/(?:server\/(?:hub|run|backup|restore|store-devices)|store\/index)\.[jt]s|node_modules\/(?:pino|better-sqlite3|aedes|onnxruntime-node)\/)/;

describe('edgefleet-hub imports a command\'s code when it runs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-hubentry-'));
  writeFileSync(join(dir, 'hooks.mjs'), HOOK);
  writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);
  after(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  /** Runs the program; its exit code, stderr and every module URL it resolved. */
  const run = async (argv: string[]) => {
    const file = join(dir, `resolved-${n++}.txt`);
    writeFileSync(file, '');
    const r = await runCli('hub/src/server/main.ts', argv, { cwd: dir, env: { EF_RESOLVED_FILE: file }, nodeArgs: ['--import', pathToFileURL(join(dir, 'register.mjs')).href] });
    return { ...r, resolved: readFileSync(file, 'utf8').split('\n').filter(Boolean) };
  };

  it('--help, --version and each command\'s --help load none of the server', async () => {
    for (const argv of [['--help'], ['--version'], ['run', '--help'], ['backup', '--help'], ['restore', '--help'], ['mosquitto-config', '--help']]) {
      const r = await run(argv);
      assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
      assert.ok(r.resolved.some((u) => /\/hub\/(?:src|dist)\/server\/main\.[jt]s$/.test(u)), `${argv.join(' ')}: the hook saw the entry`);
      assert.deepEqual(r.resolved.filter((u) => SERVER.test(u)), [], `${argv.join(' ')} loaded these`);
    }
  });

  it('backup loads its own code (SQLite) but not the server; run loads the server', async () => {
    const b = await run(['backup', '--data-dir', join(dir, 'none'), '--out', join(dir, 'out')]);
    assert.equal(b.code, 1, b.stderr);
    assert.match(b.stderr, /^error \[NOT_FOUND\]: .*--data-dir/m);
    assert.ok(b.resolved.some((u) => /\/server\/backup\.[jt]s$/.test(u)) && b.resolved.some((u) => /node_modules\/better-sqlite3\//.test(u)), 'backup loaded backup and better-sqlite3');
    assert.equal(b.resolved.some((u) => /\/server\/hub\.[jt]s$/.test(u)), false, 'backup loaded the server');
    // No trust document: the hub refuses to start after loading the server (exit 1, as before).
    const h = await run(['run', '--data-dir', join(dir, 'data'), '--http-port', '0', '--mqtt-port', '0', '--log-level', 'warn']);
    assert.equal(h.code, 1, h.stderr);
    assert.match(h.stderr, /no trust document/);
    assert.ok(h.resolved.some((u) => /\/server\/hub\.[jt]s$/.test(u)), 'run loaded the server');
  });

});
