// `edgefleet-agent` commands of several options name every mistake of their command line in one usage error
// (docs/cli.md "Exit codes and errors", docs/decisions/0148-usage-errors-name-every-problem.md), as `edgefleet`'s
// do (hub/src/cli/commands/usage-every.test.ts). Run in process; no hub (127.0.0.1:9 would refuse a request).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { runInProcess, usageProblems } from '@edgefleet/examples';
import { main } from './main.js';

async function namesEach(args: string[], problems: string[], env: Record<string, string> = { EDGEFLEET_ENROLL_TOKEN: 't' }): Promise<void> {
  const parts = usageProblems(await runInProcess(main, args, { env, cwd: '/nonexistent' }));
  for (const p of problems) assert.equal(parts.filter((x) => x.startsWith(p)).length, 1, `${p} in ${parts.join(' | ')}`);
}

it('edgefleet-agent enroll and summaries name every mistake at once', async () => {
  await namesEach(['enroll', '--hub', 'hub.local:8700', '--drop-backlog', '--data-dir', '/nonexistent'], [
    '--drop-backlog goes with --force', "--hub hub.local:8700: expected the hub's http:// or https:// URL",
  ]);
  await namesEach(['summaries', '--since', 'an hour', '--data-dir', '/nonexistent'], ['--since: expected a duration ago']);
  await namesEach(['batch', '--model', 'm', '--batch-size', '0', '--since', '1h'], ["Unknown option '--since'"]);
  await namesEach(['batch', '--model', 'm', '--batch-size', '0'], ['missing required options --input, --output', '--batch-size: expected a positive integer, got "0"']);
});

it('edgefleet-agent enroll names what neither its options nor the environment give with the other mistakes', async () => {
  await namesEach(['enroll', '--drop-backlog', '--id', 'edge-1'], ['--drop-backlog goes with --force', 'missing --hub URL, --token T, --data-dir DIR'], {});
  await namesEach(['enroll', '--drop-backlog', '--token', 't'], ['--drop-backlog goes with --force', 'missing --data-dir DIR',
    "EDGEFLEET_HUB=hub.local:8700: expected the hub's http:// or https:// URL"], { EDGEFLEET_HUB: 'hub.local:8700' });
  // The environment gives all three: only the option's mistake is left.
  const parts = usageProblems(await runInProcess(main, ['enroll', '--drop-backlog'], { env: { EDGEFLEET_HUB: 'http://127.0.0.1:9', EDGEFLEET_ENROLL_TOKEN: 't', EDGEFLEET_AGENT_DATA: '/nonexistent' }, cwd: '/' }));
  assert.deepEqual(parts, ['--drop-backlog goes with --force (it says what a new identity may drop)']);
});

it('edgefleet-agent commands on the data dir name a data dir given nowhere with the other mistakes, and take EDGEFLEET_AGENT_DATA for it', async () => {
  const missing = 'missing the data dir: expected --data-dir DIR, "dataDir" in the config file, or EDGEFLEET_AGENT_DATA';
  // Each command, with a mistake of its own where it can have one besides the parser's (which stops it alone).
  const cases: Array<[string[], string | undefined]> = [
    [['status'], undefined], [['models', '--json'], undefined], [['key', 'show'], undefined],
    [['trust', 'set'], 'missing TRUST.json'],
    [['install', '--no-activate'], 'missing BUNDLE.efb'],
    [['activate', 'm'], 'missing VERSION'],
    [['rollback'], 'missing NAME'],
    [['summaries', '--since', 'an hour'], '--since: expected a duration ago'],
    [['batch', '--model', 'm', '--batch-size', '0'], '--batch-size: expected a positive integer, got "0"'],
  ];
  for (const [args, own] of cases) {
    const none = await runInProcess(main, args, { env: {}, cwd: '/nonexistent' });
    // Which of the two the usage error names (a problem may hold "; " itself: --since's does).
    const named = (r: Awaited<ReturnType<typeof runInProcess>>) => usageProblems(r).filter((p) => p === missing || (own !== undefined && p.startsWith(own))).map((p) => (p === missing ? p : own)).sort();
    assert.deepEqual(named(none), [...(own === undefined ? [] : [own]), missing].sort(), args.join(' '));
    // The environment gives the data dir, or a config file (whether that names one is judged when it is read):
    // the command's own mistake alone, or no usage error at all (the data dir /nonexistent is then refused).
    for (const env of [{ EDGEFLEET_AGENT_DATA: '/nonexistent' }, { EDGEFLEET_AGENT_CONFIG: '/nonexistent/agent.json' }]) {
      const r = await runInProcess(main, args, { env, cwd: '/nonexistent' });
      const what = `${args.join(' ')} with ${Object.keys(env)[0]!}: ${r.stderr}`;
      if (own === undefined) assert.ok(r.code === 1 && !r.stderr.includes('missing the data dir'), what);
      else assert.deepEqual(named(r), [own], what);
    }
  }
});

it('a time option given a signed duration (--since -5m) says the sign is not wanted, not how to pass a value with a dash', async () => {
  for (const args of [['summaries', '--since', '-5m'], ['summaries', '--since=-5m']]) {
    const r = await runInProcess(main, args, { env: { EDGEFLEET_AGENT_DATA: '/nonexistent' }, cwd: '/nonexistent' });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--since: a duration already counts back from now: expected 5m, got "-5m"/, args.join(' '));
    assert.doesNotMatch(r.stderr, /write --since=/, args.join(' '));
  }
});
