// One command-line convention for edgefleet, edgefleet-hub and edgefleet-agent
// (docs/cli.md): every command and group of every program's table answers
// --help with exit 0 and its usage (in process, so a new command is covered
// the day it is added), the top level and one command of each program do so as
// a real process (the help is the command table's, which the process shares
// with the in-process checks: docs/decisions/0144-hub-entry-loads-per-command.md;
// a process for each first word cost ~25 s of CPU and proved no more), and real
// processes show a bad command line as
// `error [BAD_REQUEST]: ...` with exit 2 and a failed operation as
// `error [CODE]: ...` with exit 1.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dispatch, groupPrefixes, StringWriter, type CliContext, type Program } from '@edgefleet/shared/cli';
import { agentCli } from '@edgefleet/agent';
import { hubServerCli, operatorCli } from '@edgefleet/hub';
import { runCli, type CliResult } from '@edgefleet/examples';

const PROGRAMS: Array<{ program: Program; entry: string }> = [
  { program: operatorCli, entry: 'hub/src/cli/main.ts' },
  { program: hubServerCli, entry: 'hub/src/server/main.ts' },
  { program: agentCli, entry: 'agent/src/cli/main.ts' },
];

function ctx(): CliContext & { out: StringWriter; err: StringWriter } {
  const out = new StringWriter();
  const err = new StringWriter();
  return { stdout: out, stderr: err, out, err, env: {}, cwd: tmpdir(), now: () => new Date() };
}

/** Runs `jobs` with at most `limit` at once (each a real process). */
async function pool<T>(jobs: Array<() => Promise<T>>, limit: number): Promise<T[]> {
  const results: T[] = new Array<T>(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await (jobs[i] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}

const firstWords = (p: Program) => [...new Set(Object.keys(p.commands).map((n) => n.split(' ')[0] as string))];

describe('the command-line convention', () => {
  for (const { program } of PROGRAMS) {
    it(`${program.name}: every command and group answers --help with exit 0 and its usage, and each summary starts with a capital (in process)`, async () => {
      const names = Object.keys(program.commands);
      assert.ok(names.length > 0);
      for (const name of names) {
        const cmd = program.commands[name]!;
        // One style in every program's command list (docs/cli.md "The convention"): a capitalised summary.
        assert.match(cmd.summary, /^[A-Z]/, `${program.name} ${name}: a summary starting with a capital letter`);
        for (const argv of [[...name.split(' '), '--help'], ['help', ...name.split(' ')], [...name.split(' '), '-h']]) {
          const c = ctx();
          assert.equal(await dispatch(program, argv, c), 0, `${program.name} ${argv.join(' ')}: ${c.err.text}`);
          assert.equal(c.err.text, '', argv.join(' '));
          assert.ok(c.out.text.startsWith(`usage: ${program.name} ${name}`), `${argv.join(' ')}:\n${c.out.text}`);
          for (const [opt, spec] of Object.entries(cmd.options)) {
            assert.ok(spec.description.length > 0, `${name} --${opt}: a description`);
            assert.match(c.out.text, new RegExp(`--${opt}\\b.*${spec.description.slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), `${name} --help lists --${opt}`);
          }
          assert.match(c.out.text, /exit codes: 0 success, 1 the operation failed/);
        }
      }
      for (const prefix of [[], ...groupPrefixes(program.commands)]) {
        const c = ctx();
        assert.equal(await dispatch(program, [...prefix, '--help'], c), 0, prefix.join(' '));
        assert.ok(c.out.text.startsWith(`usage: ${[program.name, ...prefix].join(' ')} <command>`), c.out.text);
        for (const name of names.filter((n) => n.startsWith(`${prefix.join(' ')}${prefix.length ? ' ' : ''}`))) {
          assert.match(c.out.text, new RegExp(`^  ${name} `, 'm'), `${prefix.join(' ') || '(top)'} --help lists ${name}`);
        }
      }
    });
  }

  it('the real programs answer --help at the top and for a command (exit 0, usage on stdout)', async () => {
    const jobs = PROGRAMS.flatMap(({ program, entry }) => [[], [firstWords(program)[0]!]].map((words) => async () => {
      const r = await runCli(entry, [...words, '--help']);
      return { program, words, r };
    }));
    for (const { program, words, r } of await pool(jobs, 3)) {
      const what = `${program.name} ${words.join(' ')} --help`;
      assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stderr}`);
      assert.equal(r.stderr, '', what);
      assert.ok(r.stdout.startsWith(`usage: ${[program.name, ...words].join(' ')}`), `${what}:\n${r.stdout}`);
    }
  });

  it('the real programs refuse a bad command line with error [BAD_REQUEST] and exit 2, and report a failed operation with exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ef-cli-conv-'));
    try {
      const cases: Array<[string, string[], number, RegExp]> = [
        ['hub/src/cli/main.ts', ['modle', 'pack'], 2, /^error \[BAD_REQUEST\]: unknown command "modle"; did you mean "model"\?\nusage: edgefleet <command>/],
        ['hub/src/cli/main.ts', ['keys', 'generate', '--role', 'root'], 2, /^error \[BAD_REQUEST\]: missing required option --out\nusage: edgefleet keys generate /],
        ['hub/src/cli/main.ts', ['model', 'inspect', join(dir, 'none.efb')], 1, /^error \[[A-Z_]+\]: .*none\.efb/],
        ['hub/src/cli/main.ts', ['rollout', 'create', 'm', '1.0.0', '--all', '--wave', 'canary', '--reason', 'r'], 2, /^error \[BAD_REQUEST\]: --wave canary: expected NAME:PERCENT%\[:bake=DURATION\]\[:min=N\]/],
        ['hub/src/cli/main.ts', ['rollout', 'pause', 'ro-1'], 2, /^error \[BAD_REQUEST\]: missing required option --reason; missing --hub URL \(or set EDGEFLEET_HUB\); missing --token T \(or set EDGEFLEET_TOKEN\); rollout id "ro-1": expected a rollout id like ro-1a2b3c4d5e \(see edgefleet rollout ls\)\nusage: edgefleet rollout pause /],
        ['hub/src/cli/main.ts', ['drift', 'press', '1.0.0', '--since', 'yesterday', '--hub', 'http://127.0.0.1:9', '--token', 't'], 2, /^error \[BAD_REQUEST\]: --since: expected a duration ago \(90s, 30m/],
        ['hub/src/server/main.ts', ['run', '--bogus'], 2, /^error \[BAD_REQUEST\]: Unknown option '--bogus'\nusage: edgefleet-hub run /],
        ['hub/src/server/main.ts', ['mosquitto-config', '--out', dir, '--hub-user', 'h', '--hub-password', 'p', '--port', 'x'], 2, /^error \[BAD_REQUEST\]: --port x: expected a port from 1 to 65535\n/],
        ['hub/src/server/main.ts', ['run', '--http-port', '0'], 1, /^error \[CONFIG_INVALID\]: invalid hub config: dataDir/],
        ['agent/src/cli/main.ts', ['install', '--data-dir', dir], 2, /^error \[BAD_REQUEST\]: missing BUNDLE\.efb\nusage: edgefleet-agent install BUNDLE\.efb /],
        ['agent/src/cli/main.ts', ['run', '--data-dir', dir, '--api-port', 'http'], 2, /^error \[BAD_REQUEST\]: --api-port: expected a non-negative integer, got "http"/],
        ['agent/src/cli/main.ts', ['trust', 'set', join(dir, 'none.json'), '--data-dir', dir], 1, /^error \[NOT_FOUND\]: cannot read trust document .*none\.json/],
      ];
      const results = await pool(cases.map(([entry, argv]) => () => runCli(entry, argv, { env: { EDGEFLEET_AGENT_DATA: undefined, EDGEFLEET_AGENT_CONFIG: undefined, EDGEFLEET_HUB: undefined, EDGEFLEET_TOKEN: undefined } })), 3);
      results.forEach((r: CliResult, i) => {
        const [entry, argv, code, re] = cases[i]!;
        assert.equal(r.code, code, `${entry} ${argv.join(' ')}: exit ${r.code}\n${r.stderr}`);
        assert.match(r.stderr, re, `${entry} ${argv.join(' ')}`);
        assert.equal(r.stdout, '', `${entry} ${argv.join(' ')}: nothing on stdout`);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
