// The data dirs the docs give the programs are the ones the tarball installs (docs/agent.md "Quick
// start" said /var/lib/edgefleet while install.sh makes, and the unit runs with, /var/lib/edgefleet-agent):
// every `edgefleet-agent …` / `edgefleet-hub …` line of the docs with a `--data-dir` under /var/lib names
// its systemd unit's, which install.sh makes (/var/lib/edgefleet-PROGRAM), or one named after it (…-hub-new).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@edgefleet/examples';

const root = repoRoot();
const read = (p: string) => readFileSync(join(root, p), 'utf8');

test('docs: every --data-dir under /var/lib is the one the unit runs the program with and install.sh makes', () => {
  assert.match(read('packaging/install.sh'), /^data="\/var\/lib\/edgefleet-\$program"$/m);
  const unitDir: Record<string, string> = {};
  for (const program of ['agent', 'hub']) {
    const exec = /^ExecStart=.* run --data-dir (\S+)/m.exec(read(`packaging/systemd/edgefleet-${program}.service`));
    assert.ok(exec, `edgefleet-${program}.service: ExecStart with --data-dir`);
    unitDir[program] = exec[1]!;
    assert.equal(unitDir[program], `/var/lib/edgefleet-${program}`);
  }
  const files = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  const wrong: string[] = [];
  let seen = 0;
  for (const file of files) {
    read(file).split('\n').forEach((line, i) => {
      for (const m of line.matchAll(/edgefleet-(agent|hub)\b[^`|]*?--data-dir[ =](\/var\/lib\/[\w.-]+)/g)) {
        seen++;
        // A second dir of the program's own beside it (a restore's `…-hub-new`) is fine.
        if (m[2] !== unitDir[m[1]!] && !m[2]!.startsWith(`${unitDir[m[1]!]}-`)) wrong.push(`${file}:${i + 1}: edgefleet-${m[1]} --data-dir ${m[2]} (the unit's: ${unitDir[m[1]!]})`);
      }
    });
  }
  assert.ok(seen > 5, `the docs give data dirs under /var/lib (${seen} seen)`);
  assert.deepEqual(wrong, []);
});
