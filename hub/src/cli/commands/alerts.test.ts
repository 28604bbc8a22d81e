// `edgefleet alerts` and `edgefleet config diff/show` against a real hub process: `alerts ls --rule`
// (id or name) and `--limit` with a note when older alerts were left out, `--secret` without the URL it
// signs refused, `alerts ack` (shown in ls, a second one refused naming who), and configuration version 0 (no document) as `config diff --from 0` (docs/drift.md
// "Alerts", docs/hub.md "Agent configuration"). The commands run in this process (main() with the
// environment in its context: a process start costs ~0.4 s of CPU).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeKeys, makeTrust, runInProcess, startProcess, waitFor } from '@edgefleet/examples';
import { main } from '../main.js';

const SECRET = 'receiver-secret-0123456789';

test('alerts ls filters by rule and says when older alerts were left out; config diff from version 0', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-alerts-cli-'));
  const keys = makeKeys(join(dir, 'keys'));
  const trust = makeTrust(dir, keys);
  writeFileSync(join(dir, 'hub.json'), JSON.stringify({ alerts: { evaluateEveryMs: 200 } }));
  const hub = startProcess('hub/src/server/main.ts', ['run', '--data-dir', join(dir, 'hub'), '--config', join(dir, 'hub.json'), '--http-port', '0', '--mqtt-port', '0', '--trust', trust.path, '--hub-key', keys.files.hub.keyPath]);
  try {
    const ready = JSON.parse(await hub.waitForLine(/"msg":"hub ready"/, 60_000)) as { http: string };
    const admin = readFileSync(join(dir, 'hub', 'admin.token'), 'utf8').trim();
    const cli = (args: string[]) => runInProcess(main, args, { env: { EDGEFLEET_HUB: ready.http, EDGEFLEET_TOKEN: admin }, cwd: dir });

    const lone = await cli(['alerts', 'rules', 'add', '--name', 'lone', '--metric', 'devices_offline', '--threshold', '1', '--secret', SECRET]);
    assert.equal(lone.code, 2, 'a secret without --webhook or --retrain would be dropped');
    assert.match(lone.stderr, /--secret signs the requests of --webhook URL or --retrain URL: give the URL it is for/);

    // A device never connected is offline: each devices_offline rule fires at its first pass.
    assert.equal((await cli(['devices', 'add', '--id', 'pump-1', '--out', join(dir, 'pump-1.json')])).code, 0);
    for (const name of ['a', 'b', 'c']) {
      const add = await cli(['alerts', 'rules', 'add', '--name', name, '--metric', 'devices_offline', '--threshold', '1']);
      assert.equal(add.code, 0, add.stderr);
    }
    type Firing = Array<{ id: number; rule: string; ruleId: number }>;
    const firing = await waitFor('three rules fired', async () => {
      const now = (JSON.parse((await cli(['alerts', 'ls', '--state', 'firing', '--json'])).stdout) as { alerts: Firing }).alerts;
      return now.length >= 3 ? now : undefined;
    }, { timeoutMs: 20_000, intervalMs: 200 });
    assert.equal(firing.length, 3, 'three rules fired');

    const two = await cli(['alerts', 'ls', '--limit', '2']);
    assert.equal(two.code, 0, two.stderr);
    assert.equal(two.stdout.trim().split('\n').length, 3, 'the header and the newest 2');
    assert.match(two.stderr, /^older alerts not shown \(the newest 2 are\): --limit up to 1000, or narrow with --state or --rule\n$/);
    const all = await cli(['alerts', 'ls', '--limit', '3', '--json']);
    assert.equal(all.stderr, '', 'nothing left out, no note');
    assert.equal((JSON.parse(all.stdout) as { alerts: unknown[] }).alerts.length, 3);

    // An operator on call takes alert a: shown in alerts ls; a second ack says who has it.
    const a = firing.find((x) => x.rule === 'a')!;
    const noReason = await cli(['alerts', 'ack', String(a.id)]);
    assert.equal(noReason.code, 2);
    assert.match(noReason.stderr, /--reason/);
    const took = await cli(['alerts', 'ack', String(a.id), '--reason', 'on it']);
    assert.equal(took.code, 0, took.stderr);
    assert.match(took.stdout, new RegExp(`^acknowledged alert ${a.id} \\(a fleet\\) as \\S+\n$`));
    const shown = (await cli(['alerts', 'ls', '--rule', 'a'])).stdout.split('\n');
    assert.match(shown[0] ?? '', /ACKNOWLEDGED$/);
    assert.match(shown[1] ?? '', / \S+ at \d{4}-\d\d-\d\dT[\d:.]+Z$/);
    const twice = await cli(['alerts', 'ack', String(a.id), '--reason', 'me too']);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, new RegExp(`error \\[CONFLICT\\]: hub: alert ${a.id} is already acknowledged by \\S+ at `));
    const nothing = await cli(['alerts', 'ack', '999', '--reason', 'x']);
    assert.deepEqual([nothing.code, nothing.stderr.trim()], [1, 'error [NOT_FOUND]: hub: no alert 999 (edgefleet alerts ls lists them)']);

    const b = firing.find((x) => x.rule === 'b')!;
    for (const sel of [String(b.ruleId), 'b']) {
      const one = JSON.parse((await cli(['alerts', 'ls', '--rule', sel, '--json'])).stdout) as { alerts: Array<{ rule: string }> };
      assert.deepEqual(one.alerts.map((x) => x.rule), ['b'], `--rule ${sel}`);
    }
    const unknown = await cli(['alerts', 'ls', '--rule', 'nope']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /error \[NOT_FOUND\]: --rule: no alert rule named "nope"/);
    // An id that names no rule is not an empty table: the hub says so (a removed rule's alerts stay listed).
    const never = await cli(['alerts', 'ls', '--rule', '99']);
    assert.deepEqual([never.code, never.stdout], [1, '']);
    assert.match(never.stderr, /error \[NOT_FOUND\]: hub: no alert rule 99 \(edgefleet alerts rules ls lists them\)\n$/);
    assert.equal((await cli(['alerts', 'rules', 'rm', String(b.ruleId), '--reason', 'gone'])).code, 0);
    const removed = JSON.parse((await cli(['alerts', 'ls', '--rule', String(b.ruleId), '--json'])).stdout) as { alerts: Array<{ rule: string; state: string }> };
    assert.deepEqual(removed.alerts.map((x) => [x.rule, x.state]), [['b', 'resolved']]);
    const tooMany = await cli(['alerts', 'ls', '--limit', '1001']);
    assert.equal(tooMany.code, 2);
    assert.match(tooMany.stderr, /--limit 1001: expected at most 1000 alerts/);

    assert.equal((await cli(['config', 'set', 'fleet', '--set', 'summaries.windowSec=30', '--reason', 'first'])).code, 0);
    const again = await cli(['config', 'set', 'fleet', '--set', 'summaries.windowSec=30', '--reason', 'first, twice']);
    assert.deepEqual([again.code, again.stdout], [0, 'fleet is at version 1 with these settings already: nothing stored or sent\n']);
    const first = await cli(['config', 'diff', 'fleet', '--from', '0', '--to', '1']);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, 'fleet@0 -> fleet@1\n  + summaries.windowSec: 30\n');
    const zero = await cli(['config', 'show', 'fleet', '--version', '0']);
    assert.equal(zero.code, 2);
    assert.match(zero.stderr, /--version 0: expected a document version from 1/);
  } finally {
    await hub.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
