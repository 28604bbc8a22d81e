// The shared command line, in process: resolution by words, strict option
// parsing, help, usage errors (exit 2) and failures (exit 1). Every program's
// own table is walked by test/src/cli/convention.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../errors.js';
import { optString, optStrings, problemOf, StringWriter, usageProblem, UsageError, type CliContext, type CommandTable, type ParsedArgs } from './command.js';
import { dispatch, resolveCommand, runCommand, synopsis } from './dispatch.js';

function ctx(): CliContext & { out: StringWriter; err: StringWriter } {
  const out = new StringWriter();
  const err = new StringWriter();
  return { stdout: out, stderr: err, out, err, env: {}, cwd: '/tmp', now: () => new Date('2026-01-01T00:00:00Z') };
}

const seen: ParsedArgs[] = [];
const table: CommandTable = {
  'model pack': {
    summary: 'pack a bundle',
    usage: '--manifest FILE --model FILE [--file F]...',
    options: {
      manifest: { type: 'string', required: true, description: 'manifest', value: 'FILE' },
      model: { type: 'string', required: true, description: 'model', value: 'FILE' },
      file: { type: 'string', multiple: true, description: 'extra file', value: 'F' },
    },
    run: async (args) => {
      seen.push(args);
      return 0;
    },
  },
  'model verify': {
    summary: 'verify a bundle',
    usage: 'BUNDLE --trust FILE',
    options: { trust: { type: 'string', required: true, description: 'trust', value: 'FILE' } },
    positionals: [{ name: 'BUNDLE', description: 'the bundle', required: true }],
    run: async () => {
      throw new AppError('HASH_MISMATCH', 'model.onnx: sha256 differs');
    },
  },
  'keys generate': {
    summary: 'make a key',
    options: { role: { type: 'string', description: 'role', value: 'R' }, bits: { type: 'integer', multiple: true, description: 'sizes' } },
    run: async (args) => {
      if (optString(args, 'role') !== 'root') throw new UsageError(`--role: expected root, got "${optString(args, 'role') ?? ''}"`);
      return 0;
    },
  },
};

const program = { name: 'edgefleet', summary: 'a test program', version: '9.9.9', commands: table };

test('resolves the longest run of command words and keeps the rest', () => {
  const r = resolveCommand(table, ['model', 'verify', 'b.efb', '--trust', 't.json']);
  assert.equal(r.kind, 'command');
  assert.equal(r.kind === 'command' && r.name, 'model verify');
  assert.deepEqual(r.kind === 'command' && r.rest, ['b.efb', '--trust', 't.json']);
  assert.deepEqual(resolveCommand(table, ['model', '--help']), { kind: 'group', prefix: ['model'], rest: ['--help'] });
  assert.deepEqual(resolveCommand(table, ['modle', 'pack']), { kind: 'unknown', words: ['modle'] });
  assert.deepEqual(resolveCommand(table, ['model', 'pak']), { kind: 'unknown', words: ['model', 'pak'] });
});

test('runs a command with repeatable options collected in order', async () => {
  const c = ctx();
  const code = await dispatch(program, ['model', 'pack', '--manifest', 'm.json', '--model', 'x.onnx', '--file', 'a', '--file', 'b'], c);
  assert.equal(code, 0, c.err.text);
  const args = seen.at(-1) as ParsedArgs;
  assert.deepEqual(optStrings(args, 'file'), ['a', 'b']);
  assert.equal(optString(args, 'manifest'), 'm.json');
});

test('--help at every level prints help on stdout and exits 0', async () => {
  for (const argv of [['--help'], ['help'], ['model', '--help'], ['model', 'pack', '--help'], ['help', 'model', 'pack']]) {
    const c = ctx();
    assert.equal(await dispatch(program, argv, c), 0, argv.join(' '));
    assert.equal(c.err.text, '');
    assert.match(c.out.text, /usage: edgefleet/);
  }
  const top = ctx();
  await dispatch(program, ['--help'], top);
  assert.match(top.out.text, /model pack\s+pack a bundle/);
  const pack = ctx();
  await dispatch(program, ['model', 'pack', '-h'], pack);
  assert.match(pack.out.text, /--file F\s+extra file \(repeatable\)/);
  assert.match(pack.out.text, /--manifest FILE\s+manifest \(required\)/);
  assert.match(pack.out.text, /exit codes: 0/);
});

test('a command word other programs use names the one meant: devices list is devices ls', async () => {
  const ls = { summary: 'list devices', options: {}, run: async () => 0 };
  const p = { name: 'edgefleet', summary: 'a test program', version: '9.9.9', commands: { 'devices ls': ls, 'alerts rules rm': ls } satisfies CommandTable };
  const runCli = async (argv: string[]) => {
    const c = ctx();
    return { code: await dispatch(p, argv, c), err: c.err };
  };
  const list = await runCli(['devices', 'list']);
  assert.equal(list.code, 2);
  assert.match(list.err.text, /^error \[BAD_REQUEST\]: unknown command "devices list"; did you mean "devices ls"\?\nusage: edgefleet devices <command>/);
  assert.match((await runCli(['alerts', 'rules', 'remove'])).err.text, /did you mean "alerts rules rm"\?/);
  // Not where the group has no such word.
  assert.doesNotMatch((await runCli(['devices', 'delete'])).err.text, /did you mean/);
});

test('usage errors name the problem, show usage and exit 2', async () => {
  const cases: Array<[string[], RegExp]> = [
    [[], /no command given/],
    [['modle'], /unknown command "modle"; did you mean "model"\?/],
    [['model'], /"model" needs a command/],
    [['model', 'pak'], /unknown command "model pak"; did you mean "model pack"\?/],
    [['model', 'pack', '--model', 'x.onnx'], /missing required option --manifest/],
    [['model', 'pack', '--manifest', 'm', '--model', 'x', '--bogus'], /Unknown option '--bogus'\n/],
    [['model', 'pack', '--manifest', 'm', '--modle', 'x'], /Unknown option '--modle'; did you mean --model\?/],
    [['model', 'pack', '--model', 'x', '--manifest'], /: --manifest needs a value: expected --manifest FILE\n/],
    [['model', 'pack', '--manifest', 'a', '--manifest', 'b', '--model', 'x'], /--manifest is given twice \("a", "b"\): expected it once\n/],
    [['model', 'verify', '--trust', 't'], /missing BUNDLE\n/],
    [['model', 'verify'], /missing BUNDLE; missing required option --trust\n/],
    [['model', 'pack'], /missing required options --manifest, --model\n/],
    [['model', 'verify', 'a', 'b', '--trust', 't'], /unexpected argument "b"/],
    [['keys', 'generate', '--role', 'x'], /--role: expected root, got "x"/],
  ];
  for (const [argv, re] of cases) {
    const c = ctx();
    assert.equal(await dispatch(program, argv, c), 2, `${argv.join(' ')}: ${c.err.text}`);
    assert.match(c.err.text, /^error \[BAD_REQUEST\]: /);
    assert.match(c.err.text, re, argv.join(' '));
    assert.match(c.err.text, /usage: edgefleet/);
    assert.equal(c.out.text, '');
  }
});

test('an option given more than once: a single-valued one, or one value of a repeatable one, named with the rest', async () => {
  const cases: Array<[string[], string]> = [
    [['model', 'pack', '--manifest', 'a', '--manifest=a', '--model', 'x'], '--manifest is given twice ("a", "a"): expected it once'],
    [['model', 'pack', '--manifest', 'a', '--model', 'x', '--file', 'f', '--file', 'g', '--file', 'f', '--file', 'f'], '--file "f" is given 3 times: expected each F once'],
    // Each problem once, beside the others: the repeat of a malformed value is not named as malformed twice.
    [['keys', 'generate', '--role', 'root', '--bits', 'x', '--bits', 'x', '--role', 'root', '--role', 'admin'], '--role is given 3 times ("root", "root", "admin"): expected it once; --bits "x" is given twice: expected each N once; --bits: expected a non-negative integer, got "x"'],
  ];
  for (const [argv, message] of cases) {
    const c = ctx();
    assert.equal(await dispatch(program, argv, c), 2, argv.join(' '));
    assert.equal(c.err.text.split('\n')[0], `error [BAD_REQUEST]: ${message}`);
  }
  // Different values of a repeatable option are each taken, in order.
  seen.length = 0;
  assert.equal(await dispatch(program, ['model', 'pack', '--manifest', 'a', '--model', 'x', '--file', 'f', '--file', 'g'], ctx()), 0);
  assert.deepEqual(optStrings(seen[0]!, 'file'), ['f', 'g']);
});

test('a mistyped command with a likely meaning gets the usage line, not every command; without one, the list', async () => {
  const typo = ctx();
  assert.equal(await dispatch(program, ['modle', 'pack'], typo), 2);
  assert.equal(typo.err.text, 'error [BAD_REQUEST]: unknown command "modle"; did you mean "model"?\nusage: edgefleet <command> [options]\nRun \'edgefleet --help\' for details.\n');
  const inGroup = ctx();
  assert.equal(await dispatch(program, ['model', 'pak'], inGroup), 2);
  assert.equal(inGroup.err.text, 'error [BAD_REQUEST]: unknown command "model pak"; did you mean "model pack"?\nusage: edgefleet model <command> [options]\nRun \'edgefleet model --help\' for details.\n');
  const none = ctx();
  assert.equal(await dispatch(program, ['zzzzzz'], none), 2);
  assert.match(none.err.text, /^error \[BAD_REQUEST\]: unknown command "zzzzzz"\nusage: edgefleet <command> \[options\]\n[\s\S]*\ncommands:\n {2}keys generate/);
});

test('a value that starts with a dash is one line naming the option and the value, no literal \\n', async () => {
  const c = ctx();
  assert.equal(await dispatch(program, ['model', 'pack', '--model', 'x', '--manifest', '-5m'], c), 2, c.err.text);
  const first = c.err.text.split('\n')[0]!;
  assert.equal(first, 'error [BAD_REQUEST]: --manifest "-5m" starts with a dash, so it reads as an option: expected a value after --manifest; write --manifest=-5m to pass one that starts with a dash');
  assert.ok(!c.err.text.includes('\\n'), c.err.text);
});

test('an operation failure prints error [CODE]: message and exits 1', async () => {
  const c = ctx();
  assert.equal(await dispatch(program, ['model', 'verify', 'b.efb', '--trust', 't.json'], c), 1);
  assert.equal(c.err.text, 'error [HASH_MISMATCH]: model.onnx: sha256 differs\n');
});


test('an integer option takes digits only; a synopsis is made from the options when not given', async () => {
  const c = ctx();
  assert.equal(await dispatch(program, ['keys', 'generate', '--role', 'root', '--bits', '12', '--bits', 'x1'], c), 2);
  assert.match(c.err.text, /^error \[BAD_REQUEST\]: --bits: expected a non-negative integer, got "x1"\nusage: edgefleet keys generate \[--role R\] \[--bits N\.\.\.\]\n/);
  assert.equal(synopsis(table['model verify']!), 'BUNDLE --trust FILE');
  assert.equal(synopsis({ ...table['model pack']!, usage: undefined }), '--manifest FILE --model FILE [--file F...]');
});

test('--version prints the program version; extra words after it are a usage error', async () => {
  const c = ctx();
  assert.equal(await dispatch(program, ['--version'], c), 0);
  assert.equal(c.out.text, 'edgefleet 9.9.9\n');
  const bad = ctx();
  assert.equal(await dispatch(program, ['--version', 'x'], bad), 2);
  assert.match(bad.err.text, /^error \[BAD_REQUEST\]: --version takes nothing after it, got "x"\n/);
  const typo = ctx();
  assert.equal(await dispatch(program, ['--versoin'], typo), 2);
  assert.equal(typo.err.text, 'error [BAD_REQUEST]: unknown option "--versoin"; did you mean --version?\nusage: edgefleet <command> [options]\nRun \'edgefleet --help\' for details.\n');
});

test('a command resolving to a negative code (a daemon) passes it through', async () => {
  const c = ctx();
  const daemon = { name: 'd', summary: 's', version: '1', commands: { run: { summary: 'r', options: {}, run: () => Promise.resolve(-1) } } };
  assert.equal(await dispatch(daemon, ['run'], c), -1);
  assert.equal(c.err.text, '');
});

test('runCommand: a program of one command (npm start) gets the same help and errors, without command words', async () => {
  const one = { summary: 'Run it', options: { agents: { type: 'integer' as const, positive: true, value: 'N', description: 'how many' } }, run: (a: ParsedArgs) => Promise.resolve(Number(optString(a, 'agents'))) };
  const bad = ctx();
  assert.equal(await runCommand('npm start --', '', one, ['--agnets', '3'], bad), 2);
  assert.equal(bad.err.text, "error [BAD_REQUEST]: Unknown option '--agnets'; did you mean --agents?\nusage: npm start -- [--agents N]\nRun 'npm start -- --help' for details.\n");
  const help = ctx();
  assert.equal(await runCommand('npm start --', '', one, ['--help'], help), 0);
  assert.match(help.out.text, /^usage: npm start -- \[--agents N\]\n\nRun it\n/);
  assert.equal(await runCommand('npm start --', '', one, ['--agents', '3'], ctx()), 3);
});

test("an option's check and a command's check are named with the missing options, in one usage error", async () => {
  const ran: ParsedArgs[] = [];
  const cmd = {
    summary: 'checks', options: {
      need: { type: 'string', required: true, description: 'required' },
      level: { type: 'string', description: 'low or high', check: (v: string) => (v === 'low' || v === 'high' ? undefined : `expected low or high, got "${v}"`) },
      // A problem that names its option is shown as it is.
      tag: { type: 'string', multiple: true, description: 'K=V', check: problemOf((v) => { if (!v.includes('=')) throw new UsageError(`--tag ${v}: expected KEY=VALUE`); }) },
      all: { type: 'boolean', description: 'every one' },
    },
    check: (a: ParsedArgs) => [a.values.all === true && optStrings(a, 'tag').length > 0 ? '--tag and --all: expected one of them' : undefined],
    run: async (a: ParsedArgs) => { ran.push(a); return 0; },
  } as const;
  const c = ctx();
  assert.equal(await runCommand('p', 'c', cmd, ['--level', 'mid', '--tag', 'x', '--tag', 'k=v', '--all'], c), 2);
  assert.equal(c.err.text.split('\n')[0], 'error [BAD_REQUEST]: missing required option --need; --level: expected low or high, got "mid"; --tag x: expected KEY=VALUE; --tag and --all: expected one of them');
  assert.equal(ran.length, 0, 'the command did not run');
  const ok = ctx();
  assert.equal(await runCommand('p', 'c', cmd, ['--need', 'n', '--level', 'low', '--tag', 'k=v'], ok), 0, ok.err.text);
  assert.equal(ran.length, 1);
  assert.equal(usageProblem(() => 1), undefined);
  assert.throws(() => usageProblem(() => { throw new AppError('IO_ERROR', 'disk'); }), /disk/, 'only a usage error is a problem');
});

test("a command's check sees the context's environment: an option the environment stands in for is named with the rest", async () => {
  const cmd = {
    summary: 'env', options: {
      hub: { type: 'string', description: 'hub (default $HUB)' },
      level: { type: 'string', description: 'low or high', check: (v: string) => (v === 'low' ? undefined : `expected low, got "${v}"`) },
    },
    check: (a: ParsedArgs, env: CliContext['env']) => [optString(a, 'hub') ?? env['HUB'] ? undefined : 'missing --hub URL (or set HUB)'],
    run: async () => 0,
  } as const;
  const bare = ctx();
  assert.equal(await runCommand('p', 'c', cmd, ['--level', 'mid'], bare), 2);
  assert.equal(bare.err.text.split('\n')[0], 'error [BAD_REQUEST]: --level: expected low, got "mid"; missing --hub URL (or set HUB)');
  const fromEnv = { ...ctx(), env: { HUB: 'h' } };
  assert.equal(await runCommand('p', 'c', cmd, ['--level', 'low'], fromEnv), 0, fromEnv.err.text);
});
