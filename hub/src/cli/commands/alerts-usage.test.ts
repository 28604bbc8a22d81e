// `edgefleet alerts rules add` names every problem of its command line at once, as docs/cli.md says of every
// command: a missing --name beside a malformed --threshold, --metric or --severity (the parser checks each
// option's values with the missing ones, shared/src/cli/dispatch.ts), exit 2 and no stack trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runInProcess } from '@edgefleet/examples';
import { main } from '../main.js';

// Refused before any request: no hub is needed, and 127.0.0.1:9 would refuse one. In process (a program start costs ~0.4 s of CPU).
const cli = (args: string[]) => runInProcess(main, ['alerts', 'rules', 'add', ...args], { env: { EDGEFLEET_HUB: 'http://127.0.0.1:9', EDGEFLEET_TOKEN: 'x' } });

test('alerts rules add names a missing --name and a malformed --threshold, --metric and --severity in one usage error', async () => {
  const r = await cli(['--metric', 'drift.pssi', '--threshold', 'abc', '--severity', 'loud']);
  assert.equal(r.code, 2, r.stderr);
  const first = r.stderr.split('\n')[0]!;
  assert.match(first, /^error \[BAD_REQUEST\]: missing required option --name; /);
  assert.match(first, /--metric: expected one of .*, got "drift\.pssi"; did you mean "drift\.psi"\?/);
  assert.match(first, /--threshold: expected a number, got "abc"/);
  assert.match(first, /--severity: expected one of .*, got "loud"/);
  assert.match(r.stderr, /^usage: edgefleet alerts rules add /m);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  // Alone, a malformed value is the one problem named.
  const alone = await cli(['--name', 'n', '--metric', 'devices_offline', '--threshold', '']);
  assert.equal(alone.code, 2, alone.stderr);
  assert.match(alone.stderr, /^error \[BAD_REQUEST\]: --threshold: expected a number, got ""\n/);
});
