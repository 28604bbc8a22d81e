// Every `edgefleet` and `edgefleet-agent` command of several options names every mistake of its command line
// in one usage error (docs/cli.md "Exit codes and errors", docs/decisions/0148-usage-errors-name-every-problem.md),
// not one a try: each option's values are checked by the parser, and what several options say together by the
// command's check (shared/src/cli/dispatch.ts). Run in process: no hub is needed, and 127.0.0.1:9 would refuse
// a request, so exit 2 also says nothing was sent (a request would have failed with exit 1).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runInProcess, usageProblems } from '@edgefleet/examples';
import { commands, main } from '../main.js';

const env = { EDGEFLEET_HUB: 'http://127.0.0.1:9', EDGEFLEET_TOKEN: 'x' };

/** Each of `problems` is a part of its own of the usage error of `edgefleet ARGS` (`; ` between), once. */
async function namesEach(args: string[], problems: string[], environment: Record<string, string> = env): Promise<void> {
  const parts = usageProblems(await runInProcess(main, args, { env: environment, cwd: '/nonexistent' }));
  for (const p of problems) assert.equal(parts.filter((x) => x.startsWith(p)).length, 1, `${p} in ${parts.join(' | ')}`);
}

describe('usage errors name every mistake', () => {
  it('edgefleet: list, audit, time and range options', async () => {
    await namesEach(['audit', '--since', 'yesterday', '--limit', '0', '--newest', '20000', '--after', 'x'], [
      '--since: expected a duration ago', '--limit: expected a positive integer, got "0"', '--newest 20000: expected at most 10000 entries a page',
      '--after: expected a positive integer, got "x"', 'give --limit N (oldest first) or --newest N, not both',
    ]);
    await namesEach(['rollout', 'ls', '--limit', '5000', '--bogus'], ['Unknown option \'--bogus\'']); // node's message comes first, alone
    await namesEach(['deployments', 'ls', '--limit', '5000'], ['--limit 5000: expected at most']);
    await namesEach(['drift', 'm', '1.0.0', '--by', 'site', '--since=-2h', '--until', 'now'], [
      '--by: expected "device" or "tag:KEY", got "site"', '--since: a duration already counts back from now: expected 2h', '--until: expected a duration ago',
    ]);
    await namesEach(['drift-reports', 'create', 'm', '--since', 'x'], ['missing VERSION', '--since: expected']);
    await namesEach(['metrics', 'm', '1', '--until', '2026-02-30'], ['--until: expected']);
    await namesEach(['model', 'totals', 'm', '--since', 'lastweek'], ['--since: expected']);
    await namesEach(['retrain-request', 'm', '1', '--since', 'x', '--wait', '1h', '--until', 'y'], [
      'missing required option --reason', '--since: expected', '--wait 1h: expected at most 10m', '--until: expected',
    ]);
  });

  it('edgefleet: alerts, devices, tokens, enrollment tokens', async () => {
    await namesEach(['alerts', 'rules', 'add', '--name', 'n', '--metric', 'error_rate', '--for', 'soon', '--window', '1x', '--tag', 'ring', '--tag', 'a=1', '--tag', 'a=2', '--webhook', 'http://x', '--retrain', 'http://y'], [
      'missing --threshold X', '--for soon: expected a duration', '--window 1x: expected a duration', '--tag ring: expected KEY=VALUE',
      '--tag a is given twice (a=1 and a=2)', '--webhook needs --secret S', '--retrain needs --secret S',
    ]);
    await namesEach(['alerts', 'rules', 'add', '--name', 'n', '--metric', 'schedule', '--secret', 'sssssssssssssssss', '--keep-firing-for', 'x'], [
      '--keep-firing-for x: expected a duration', '--secret signs the requests of --webhook URL or --retrain URL',
    ]);
    // Checked before --rule NAME is looked up on the hub.
    await namesEach(['alerts', 'ls', '--state', 'fired', '--limit', '1001', '--rule', 'by-name'], [
      '--state: expected one of pending, firing, resolved, got "fired"', '--limit 1001: expected at most 1000 alerts',
    ]);
    await namesEach(['devices', 'add', '--tag', 'x', '--tag', 'a=1', '--tag', 'a=2'], ['missing required option --out', '--tag x: expected KEY=VALUE', '--tag a is given twice']);
    await namesEach(['devices', 'tag', 'd1', '--tag', 'a=1', '--clear', '--tag', '=v'], ['--tag =v: expected KEY=VALUE', '--tag and --clear: expected one of them']);
    await namesEach(['devices', 'tag', 'd1'], ['expected --tag KEY=VALUE (repeatable) for the new tags, or --clear']);
    await namesEach(['enroll-token', 'create', '--ttl', '367d', '--max-uses', '1000001', '--tag', 'k=1', '--tag', 'k=2'], [
      '--ttl 367d: expected at most 366d (31622400 s)', '--max-uses 1000001: expected at most 1000000 devices', '--tag k is given twice',
    ]);
    await namesEach(['enroll-token', 'create', '--ttl', 'a day', '--max-uses', '0'], ['--ttl a day: expected a duration', '--max-uses: expected a positive integer, got "0"']);
    await namesEach(['tokens', 'create', 'ci', '--role', 'admn', '--name', 'other'], ['--role: expected one of viewer, operator, admin, got "admn"', 'two names given ("ci" and --name "other")']);
  });

  it('edgefleet: capture, config, show commands', async () => {
    await namesEach(['capture', 'start', 'm', '--all', '--tag', 'a=1', '--rate', 'half', '--max-rows', '1e', '--duration-sec', '60s'], [
      'missing required option --reason', '--rate: expected a number, got "half"', '--max-rows: expected a number, got "1e"', '--duration-sec: expected a number, got "60s"', 'expected exactly one target',
    ]);
    await namesEach(['config', 'set', 'fleets', '--set', 'a', '--set', 'b=1', '--set', 'b=2', '--unset', 'b', '--gate', 'outputPsi=1', '--gate', 'outputPsi=2', '--reason', 'r'], [
      'SCOPE: expected fleet, tag/KEY=VALUE or device/ID, got "fleets"', '--set: expected KEY=VALUE, got "a"', '--set b is given twice (b=1 and b=2)',
      'b is given to both --set and --unset', '--gate outputPsi is given twice', '--wave, --gate, --manual and --on-failure need --rollout',
    ]);
    await namesEach(['config', 'set', 'fleet', '--unset', 'x', '--unset', 'x', '--set', 'y=1e400', '--reason', 'r'], ['--set y=1e400: expected a finite number', '--unset "x" is given twice: expected each KEY once']);
    await namesEach(['config', 'set', 'fleet', '--reason', 'r'], ['nothing to set: give --set KEY=VALUE, --unset KEY or --replace']);
    await namesEach(['config', 'show', 'tag/ring', '--version', '0', '--effective', '--devices'], [
      'SCOPE: expected fleet', '--version 0: expected a document version from 1', '--effective: expected SCOPE device/ID', 'give --effective or --devices, not both',
    ]);
    await namesEach(['config', 'diff', 'fleet', '--to', '0'], ['--from N is needed', '--to 0: expected a document version from 1']);
    await namesEach(['deployments', 'show', 'abc', '--interval', 'fast', '--devices', '0'], [
      'deployment id "abc": expected a positive integer', '--interval fast: expected a positive number of milliseconds', '--devices 0: expected a number of devices from 1', '--interval goes with --watch',
    ]);
    await namesEach(['rollout', 'show', 'ro-1', '--watch', '--interval', '0', '--devices', 'many'], ['--interval 0: expected a positive number', '--devices many: expected a number of devices']);
  });

  it('edgefleet: offline commands (keys, trust, model pack, model rekey)', async () => {
    await namesEach(['keys', 'generate', '--role', 'rot', '--name', '../k'], ['missing required option --out', '--role: expected one of root, release, hub, got "rot"', '--name: expected letters, digits']);
    await namesEach(['trust', 'init', '--root', 'r.pub', '--release', 'l.pub', '--hub', 'h.pub', '--sign', 'r.key', '--out', 't.json',
      '--threshold', 'release=2', '--threshold', 'release=3', '--threshold', 'hubs=1', '--expires', 'soon', '--version', 'one'], [
      '--threshold: unknown role "hubs"', '--threshold release is given twice (release=2 and release=3)', '--expires: expected a duration such as 365d', '--version: expected a positive integer, got "one"',
    ]);
    await namesEach(['trust', 'rotate', '--from', 't.json', '--sign', 'r.key', '--out', 't2.json', '--threshold', 'root', '--expires', '0d'], ['--threshold: expected ROLE=N', '--expires: expected a positive duration']);
    await namesEach(['model', 'pack', '--manifest', 'm.json', '--model', 'm.onnx', '--sample', 's.json', '--expect', 'a.json', '--expect', 'b.json', '--tolerance=-1', '--key-out', 'k'], [
      '--tolerance -1: expected a non-negative number', '2 --expect for 1 --sample', '--key-out goes with --encrypt',
    ]);
    await namesEach(['model', 'pack', '--manifest', 'm.json', '--model', 'm.onnx', '--tolerance', '1e-3'], ['--expect and --tolerance apply to samples']);
    await namesEach(['model', 'rekey', 'b.efb', '--key', 'k', '--version', 'v2', '--bogus'], ['Unknown option \'--bogus\'']);
    await namesEach(['model', 'rekey', 'b.efb', '--key', 'k', '--version', 'v2'], ['missing required option --reason', '--version: expected a semantic version such as 1.2.3, got "v2"']);
  });

  it('edgefleet: a missing --hub or --token, or a hub address of the wrong form, is named with the other mistakes', async () => {
    await namesEach(['rollout', 'create', 'm', '1.0.0', '--all', '--tag', 'ring=a', '--wave', 'canary:ten'], [
      'missing required option --reason', '--wave canary:ten: expected', 'missing --hub URL (or set EDGEFLEET_HUB)', 'missing --token T (or set EDGEFLEET_TOKEN)', 'expected exactly one target',
    ], {});
    await namesEach(['deploy', 'm', '--all'], ['missing VERSION', 'missing required option --reason', 'missing --token T (or set EDGEFLEET_TOKEN)'], { EDGEFLEET_HUB: 'http://127.0.0.1:9' });
    await namesEach(['audit', '--limit', '0'], ['--limit: expected a positive integer', 'EDGEFLEET_HUB=http://127.0.0.1:9/api/v1: expected the hub\'s address without /api/v1'], { ...env, EDGEFLEET_HUB: 'http://127.0.0.1:9/api/v1' });
    await namesEach(['deployments', 'ls', '--hub', 'hub.local', '--limit', '5000'], ['--limit 5000: expected at most', '--hub hub.local: expected the hub\'s http:// or https:// URL']);
    // An empty variable is unset; --hub wins over the environment's.
    await namesEach(['model', 'ls', '--token', ''], ['missing --token T'], { EDGEFLEET_HUB: 'x', EDGEFLEET_TOKEN: '' });
    await namesEach(['model', 'ls', '--hub', 'http://127.0.0.1:9', '--bogus'], ['Unknown option \'--bogus\''], { EDGEFLEET_HUB: 'x', EDGEFLEET_TOKEN: 't' });
  });

  it('edgefleet: every command that takes --hub names a missing one before it reads, writes or sends anything', async () => {
    const remote = Object.entries(commands).filter(([, c]) => c.options['hub'] !== undefined && c.options['token'] !== undefined);
    assert.ok(remote.length > 40, `${remote.length} remote commands`);
    for (const [name] of remote) await namesEach(name.split(' '), ['missing --hub URL (or set EDGEFLEET_HUB)', 'missing --token T (or set EDGEFLEET_TOKEN)'], {});
  });
});
