// The command table machinery, in process: resolution by words, strict option
// parsing, help, usage errors (exit 2), failures (exit 1), and the progress bar.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '@edgefleet/shared';
import {
  dispatch, optString, optStrings, parseExpiry, parseRoleNumber, resolveCommand,
  UsageError, type CommandTable, type ParsedArgs,
} from './args.js';
import { ProgressBar, StringWriter, type CliContext } from './output.js';

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
    usage: '--role R',
    options: { role: { type: 'string', description: 'role' } },
    run: async (args) => {
      parseRoleNumber(optString(args, 'role') ?? '', ['root', 'hub'], '--role');
      return 0;
    },
  },
};

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
  const code = await dispatch(table, ['model', 'pack', '--manifest', 'm.json', '--model', 'x.onnx', '--file', 'a', '--file', 'b'], c);
  assert.equal(code, 0, c.err.text);
  const args = seen.at(-1) as ParsedArgs;
  assert.deepEqual(optStrings(args, 'file'), ['a', 'b']);
  assert.equal(optString(args, 'manifest'), 'm.json');
});

test('--help at every level prints help on stdout and exits 0', async () => {
  for (const argv of [['--help'], ['help'], ['model', '--help'], ['model', 'pack', '--help'], ['help', 'model', 'pack']]) {
    const c = ctx();
    assert.equal(await dispatch(table, argv, c), 0, argv.join(' '));
    assert.equal(c.err.text, '');
    assert.match(c.out.text, /usage: edgefleet/);
  }
  const top = ctx();
  await dispatch(table, ['--help'], top);
  assert.match(top.out.text, /model pack\s+pack a bundle/);
  const pack = ctx();
  await dispatch(table, ['model', 'pack', '-h'], pack);
  assert.match(pack.out.text, /--file F\s+extra file \(repeatable\)/);
  assert.match(pack.out.text, /--manifest FILE\s+manifest \(required\)/);
  assert.match(pack.out.text, /exit codes: 0/);
});

test('usage errors name the problem, show usage and exit 2', async () => {
  const cases: Array<[string[], RegExp]> = [
    [[], /no command given/],
    [['modle'], /unknown command "modle"/],
    [['model'], /"model" needs a command/],
    [['model', 'pak'], /unknown command "model pak"/],
    [['model', 'pack', '--model', 'x.onnx'], /missing required option --manifest/],
    [['model', 'pack', '--manifest', 'm', '--model', 'x', '--bogus'], /Unknown option '--bogus'/],
    [['model', 'pack', '--manifest'], /--manifest/],
    [['model', 'pack', '--manifest', 'a', '--manifest', 'b', '--model', 'x'], /--manifest given more than once/],
    [['model', 'verify', '--trust', 't'], /missing BUNDLE/],
    [['model', 'verify', 'a', 'b', '--trust', 't'], /unexpected argument "b"/],
    [['keys', 'generate', '--role', 'x=1'], /unknown role "x"/],
  ];
  for (const [argv, re] of cases) {
    const c = ctx();
    assert.equal(await dispatch(table, argv, c), 2, `${argv.join(' ')}: ${c.err.text}`);
    assert.match(c.err.text, /^error: /);
    assert.match(c.err.text, re, argv.join(' '));
    assert.match(c.err.text, /usage: edgefleet/);
    assert.equal(c.out.text, '');
  }
});

test('an operation failure prints error [CODE]: message and exits 1', async () => {
  const c = ctx();
  assert.equal(await dispatch(table, ['model', 'verify', 'b.efb', '--trust', 't.json'], c), 1);
  assert.equal(c.err.text, 'error [HASH_MISMATCH]: model.onnx: sha256 differs\n');
});

test('parseExpiry takes durations and future ISO dates, refuses the rest', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  assert.equal(parseExpiry('365d', now).toISOString(), '2027-01-01T00:00:00.000Z');
  assert.equal(parseExpiry('12h', now).toISOString(), '2026-01-01T12:00:00.000Z');
  assert.equal(parseExpiry('2026-06-01T00:00:00Z', now).toISOString(), '2026-06-01T00:00:00.000Z');
  assert.throws(() => parseExpiry('2025-06-01T00:00:00Z', now), (e: unknown) => e instanceof UsageError && /in the past/.test(e.message));
  assert.throws(() => parseExpiry('soon', now), /expected a duration such as 365d/);
  assert.throws(() => parseExpiry('0d', now), /positive duration/);
});

test('parseRoleNumber reads role=N', () => {
  assert.deepEqual(parseRoleNumber('release=2', ['root', 'release', 'hub'], '--threshold'), ['release', 2]);
  assert.throws(() => parseRoleNumber('release=0', ['release'], '--threshold'), /positive integer/);
  assert.throws(() => parseRoleNumber('release', ['release'], '--threshold'), /expected ROLE=N/);
});

test('the progress bar draws on a TTY only, ends its line, and reaches 100%', () => {
  const tty = new StringWriter(true, 80);
  const bar = new ProgressBar(tty, { label: 'hashing', total: 2048 });
  bar.tick(1024);
  assert.match(tty.text, /\rhashing \[#+-+\] {2}50% 1\.0 KiB \/ 2\.0 KiB$/);
  bar.tick(1024);
  bar.done();
  bar.done();
  assert.match(tty.text, /100% 2\.0 KiB \/ 2\.0 KiB\n$/);
  assert.equal(tty.text.split('\n').length, 2, 'exactly one finished line');

  const pipe = new StringWriter(false);
  const quiet = new ProgressBar(pipe, { label: 'hashing', total: 10 });
  quiet.tick(5);
  quiet.done();
  assert.equal(pipe.text, '');
});
