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
