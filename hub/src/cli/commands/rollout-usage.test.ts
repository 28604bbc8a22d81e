// `edgefleet rollout create`, `deploy` and `devices ls` name every mistake of a command line in one usage
// error (docs/cli.md "Exit codes and errors"): each option's values are checked by the parser with the
// missing options, and a problem of several options together (--tag beside --all, a gate key given twice)
// with them (shared/src/cli/dispatch.ts); exit 2, nothing sent to the hub. A good command line still works
// against a real hub (the rollout environment's REST app served on 127.0.0.1:0).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cliOver } from '../../testing/cli.js';
import { appOf, cleanup, prepare, setup, v1Everywhere, type Env } from '../../rollouts/testing.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('rollout-usage', () => {
  before(prepare);
  after(cleanup);

  /** The CLI against `e`'s hub, counting the requests that reach it. */
  async function countingCli(e: Env) {
    const app = appOf(e);
    let requests = 0;
    const counting = { ...app, fetch: (...a: Parameters<typeof app.fetch>) => { requests++; return app.fetch(...a); } } as typeof app;
    const cli = await cliOver(counting, e.store.tokens.create('ops', 'operator', 'test', e.clock.now()).token, e.dir);
    return { cli, requests: () => requests };
  }

  /** The one error line of a usage error, after checking it is one (exit 2, no request, no stack trace). */
  async function usageLine(c: Awaited<ReturnType<typeof countingCli>>, args: string[]): Promise<string> {
    const before = c.requests();
    const r = await c.cli.run(...args);
    assert.equal(r.code, 2, r.err);
    assert.equal(c.requests(), before, `nothing sent to the hub for ${args.join(' ')}`);
    assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
    assert.match(r.err, new RegExp(`\\nusage: edgefleet ${args[0]!} `));
    return r.err.split('\n')[0]!;
  }

  /** Each of `problems` is in `line`, once, as a part of its own (`; ` between). */
  function namesEach(line: string, problems: string[]): void {
    assert.ok(line.startsWith('error [BAD_REQUEST]: '), line);
    const parts = line.slice('error [BAD_REQUEST]: '.length).split('; ');
    for (const p of problems) assert.equal(parts.filter((x) => x.startsWith(p)).length, 1, `${p} in ${line}`);
  }

  it('rollout create, deploy and devices ls name two or three mistakes at once; good command lines still work', async () => {
    const e = await setup(4);
    const c = await countingCli(e);
    try {
      await v1Everywhere(e);
      const rollout = ['rollout', 'create', 'audio-energy', '2.0.0'];
      namesEach(await usageLine(c, [...rollout, '--all', '--wave', 'canary:10%:bake=soon', '--gate', 'minPredicitons=5', '--reason', 'x']), [
        '--wave canary:10%:bake=soon: bake soon: expected a duration such as 90s, 30m, 2h or 1d',
        '--gate minPredicitons=5: unknown key "minPredicitons": expected one of installSuccess,',
      ]);
      namesEach(await usageLine(c, [...rollout, '--all', '--tag', 'ring=a', '--wave', 'canary:ten', '--on-failure', 'stop', '--gate', 'outputPsi=0.5', '--gate', 'outputPsi=0.3']), [
        'missing required option --reason',
        '--wave canary:ten: expected NAME:PERCENT%[:bake=DURATION][:min=N]',
        '--on-failure: expected one of rollback, pause, got "stop"',
        'expected exactly one target: --devices ID,ID... or --tag KEY=VALUE (repeatable) or --all',
        '--gate outputPsi is given twice (outputPsi=0.5 and outputPsi=0.3): expected each key once',
      ]);
      namesEach(await usageLine(c, [...rollout, '--tag', 'ring', '--shadow', 'sampelRate=0.2', '--window', '0 2 * * *', '--id', 'nope', '--reason', 'x']), [
        '--tag ring: expected KEY=VALUE',
        '--shadow sampelRate=0.2: unknown key "sampelRate": expected one of sampleRate,',
        '--window "0 2 * * *": expected "MIN HOUR DAY-OF-MONTH MONTH DAY-OF-WEEK DURATION [TIME_ZONE]"',
        '--id nope: expected a rollout id like ro-1a2b3c4d5e',
      ]);

      const deploy = ['deploy', 'audio-energy', '2.0.0'];
      namesEach(await usageLine(c, [...deploy, '--all', '--devices', 'd-000,d-000', '--window', 'nightly']), [
        'missing required option --reason',
        '--devices "d-000,d-000": d-000 is given twice: expected each once',
        '--window "nightly": expected "MIN HOUR',
        'expected exactly one target',
      ]);
      namesEach(await usageLine(c, [...deploy, '--tag', 'ring=', '--tag', 'site=x', '--tag', 'site=y', '--reason', 'x']), [
        '--tag ring=: expected KEY=VALUE',
        '--tag site is given twice (site=x and site=y): expected each key once',
      ]);

      namesEach(await usageLine(c, ['devices', 'ls', '--status', 'gone', '--tag', 'ring']), [
        '--status: expected online, offline, revoked, got "gone"',
        '--tag "ring": expected KEY=VALUE',
      ]);

      // A rollout id of the wrong form and a misspelt gate name are the command line's (docs/rollouts.md "CLI"),
      // not the hub's NOT_FOUND or its schema's `acceptGates[0]: Invalid option`.
      namesEach(await usageLine(c, ['rollout', 'show', 'bogus', '--interval', '5']), [
        'rollout id "bogus": expected a rollout id like ro-1a2b3c4d5e (see edgefleet rollout ls)',
        '--interval goes with --watch',
      ]);
      namesEach(await usageLine(c, ['rollout', 'promote', 'ro-1', '--accept', 'latency_p9', '--reason', 'x']), [
        'rollout id "ro-1": expected a rollout id like ro-1a2b3c4d5e',
        '--accept: expected one of install_success, reporting, predictions, model_error_rate, latency_p95, ',
      ]);
      assert.match(await usageLine(c, ['rollout', 'unaccept', 'ro-1a2b3c4d5e', '--gate', 'output_shfit', '--reason', 'x']),
        /--gate: expected one of .*, got "output_shfit"; did you mean "output_shift"\?/);
      assert.match(await usageLine(c, ['rollout', 'abort', 'edge-1', '--reason', 'x']), /rollout id "edge-1": expected a rollout id/);

      // An option given twice (docs/cli.md "Options given more than once"): a single-valued one, or one value of a repeatable one.
      namesEach(await usageLine(c, ['rollout', 'promote', 'ro-1a2b3c4d5e', '--accept', 'latency_p95', '--accept', 'latency_p95', '--reason', 'x', '--reason', 'y']), [
        '--reason is given twice ("x", "y"): expected it once',
        '--accept "latency_p95" is given twice: expected each GATE once',
      ]);
      namesEach(await usageLine(c, ['rollout', 'unaccept', 'ro-1a2b3c4d5e', '--gate', 'reporting', '--gate=reporting', '--reason', 'x']), [
        '--gate "reporting" is given twice: expected each GATE once',
      ]);
      // A wave name given twice is the command line's too, not the hub's `wave name "a" is used twice` (exit 1).
      namesEach(await usageLine(c, [...rollout, '--all', '--wave', 'a:50%', '--wave', 'b:80%', '--wave', 'a:100%', '--gate', 'outputPsi=0.5', '--gate', 'outputPsi=0.3', '--reason', 'x']), [
        '--wave a is given twice (a:50% and a:100%): expected each wave name once',
        '--gate outputPsi is given twice (outputPsi=0.5 and outputPsi=0.3): expected each key once',
      ]);
      const same = await usageLine(c, [...rollout, '--all', '--wave', 'a:100%', '--wave', 'a:100%', '--reason', 'x']);
      namesEach(same, ['--wave "a:100%" is given twice: expected each NAME:PCT%[:bake=D][:min=N] once']);
      assert.doesNotMatch(same, /expected each wave name once/, 'the same --wave twice is named once');
      namesEach(await usageLine(c, ['audit', '--since', '5m', '--since', '1h']), ['--since is given twice ("5m", "1h"): expected it once']);
      namesEach(await usageLine(c, ['devices', 'tag', 'd-000', '--tag', 'ring=a', '--tag', 'ring=a']), ['--tag "ring=a" is given twice: expected each k=v once']);
      namesEach(await usageLine(c, ['devices', 'ls', '--tag', 'ring=a', '--tag', 'ring=b']), ['--tag is given twice ("ring=a", "ring=b"): expected it once']);

      // Good command lines reach the hub and work.
      const ls = await c.cli.run('devices', 'ls', '--tag', 'ring=a', '--status', 'offline', '--json');
      assert.equal(ls.code, 0, ls.err);
      assert.equal((JSON.parse(ls.out) as { devices: unknown[] }).devices.length, 4);
      const dep = await c.cli.run(...deploy.slice(0, 2), '1.0.0', '--devices', 'd-000,d-001', '--reason', 'pin', '--json');
      assert.equal(dep.code, 0, dep.err);
      assert.deepEqual((JSON.parse(dep.out) as { devices: Array<{ deviceId: string }> }).devices.map((d) => d.deviceId).sort(), ['d-000', 'd-001']);
      const dry = await c.cli.run(...rollout, '--tag', 'ring=a', '--wave', 'canary:50%:bake=30m:min=1', '--wave', 'all:100%', '--gate', 'minPredictions=5', '--shadow', 'on', '--on-failure', 'pause', '--window', '0 2 * * * 2h', '--reason', 'try', '--dry-run');
      assert.equal(dry.code, 0, dry.err);
      const id = /--id (ro-[0-9a-f]+)/.exec(dry.out)?.[1];
      assert.ok(id, dry.out);
      const made = await c.cli.run(...rollout, '--tag', 'ring=a', '--wave', 'canary:50%:bake=30m:min=1', '--wave', 'all:100%', '--gate', 'minPredictions=5', '--on-failure', 'pause', '--reason', 'try', '--id', id, '--json');
      assert.equal(made.code, 0, made.err);
      const r = JSON.parse(made.out) as { id: string; onFailure: string; waves: Array<{ name: string }> };
      assert.deepEqual([r.id, r.onFailure, r.waves.map((w) => w.name)], [id, 'pause', ['canary', 'all']]);
    } finally {
      c.cli.close();
      await e.close();
    }
  });
});
