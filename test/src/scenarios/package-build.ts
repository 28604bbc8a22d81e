// Building a program's tarball the way `npm run package:PROGRAM` does and unpacking it outside the
// checkout (docs/operations.md "Installing from a tarball"), for the tarball scenarios
// (package-agent.test.ts, package-install.test.ts).
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '@edgefleet/examples';

/** Runs `cmd` to completion and returns its stdout; fails the test on a non-zero exit. */
export function run(cmd: string, args: string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: cwd ?? repoRoot(), timeout: 120_000 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Builds the program's tarball into `out` (gzip -1: same files) and unpacks it into `into`; returns the unpacked tree. */
export async function buildAndUnpack(program: 'agent' | 'hub', out: string, into: string): Promise<{ tree: string; tarball: string }> {
  const script = join(repoRoot(), `scripts/package-${program}.mjs`);
  const { stdout: line } = await promisify(execFile)(process.execPath, [script, '--out', out, '--fast'], { encoding: 'utf8', timeout: 120_000 })
    .catch((err: Error & { stderr?: string }) => assert.fail(`package-${program}.mjs failed: ${err.stderr ?? err.message}`));
  const tarball = /^(\S+\.tar\.gz):/.exec(line)?.[1];
  assert.ok(tarball, line);
  mkdirSync(into, { recursive: true });
  run('tar', ['-xzf', tarball, '-C', into]);
  const [name] = readdirSync(into);
  assert.equal(name, `edgefleet-${program}-0.1.0-linux-x64`);
  return { tree: join(into, name), tarball };
}
