// The operator CLI's shared option parsers (parse.ts) and its help text, in process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StringWriter } from '@edgefleet/shared/cli';
import { main } from '../main.js';
import { parseDuration, parseList, parseTagOptions } from './parse.js';
import { parseWave } from './remote-rollout.js';

async function cli(argv: string[]) {
  const out = new StringWriter();
  const err = new StringWriter();
  const code = await main(argv, { stdout: out, stderr: err, env: { EDGEFLEET_HUB: 'http://127.0.0.1:9', EDGEFLEET_TOKEN: 'efa_x' }, cwd: '/', now: () => new Date() });
  return { code, out: out.text, err: err.text };
}

test('tags: KEY=VALUE, a key given twice refused naming both, an empty value only where allowed', () => {
  assert.deepEqual(parseTagOptions(['site=north', 'note=a=b', 'empty=']), { site: 'north', note: 'a=b', empty: '' });
  assert.throws(() => parseTagOptions(['a=1', 'a=2']), /--tag a is given twice \(a=1 and a=2\): expected each key once/);
  assert.throws(() => parseTagOptions(['=x']), /--tag =x: expected KEY=VALUE/);
  assert.throws(() => parseTagOptions(['ring='], '--tag', { nonEmpty: true }), /--tag ring=: expected KEY=VALUE/);
  assert.throws(() => parseWave('staging:tag=env=a:tag=env=b'), /tag env is given twice/);
  assert.throws(() => parseWave('canary:10%:bake=1h:bake=2h'), /bake= is given twice/);
});

test('durations and lists', () => {
  assert.equal(parseDuration('90', '--ttl'), 90);
  assert.equal(parseDuration('1h30m', '--ttl'), 5400);
  assert.equal(parseDuration('7d', '--ttl'), 604_800);
  assert.throws(() => parseDuration('soon', '--ttl'), /--ttl soon: expected a duration such as 90s, 30m, 2h or 1d/);
  assert.deepEqual(parseList('a, b,,c', '--devices', 'ids'), ['a', 'b', 'c']);
  assert.throws(() => parseList('d2,d2', '--devices', 'ids'), /d2 is given twice/);
});

test('devices tag without --tag is refused rather than wiping every tag; help says "repeatable" once', async () => {
  const r = await cli(['devices', 'tag', 'box-1', '--reason', 'x']);
  assert.equal(r.code, 2);
  assert.match(r.err, /expected --tag KEY=VALUE \(repeatable\) for the new tags, or --clear to remove every tag/);
  const dup = await cli(['deploy', 'm', '1.0.0', '--tag', 'a=1', '--tag', 'a=2', '--reason', 'x']);
  assert.equal(dup.code, 2);
  assert.match(dup.err, /--tag a is given twice/);
  const help = await cli(['rollout', 'create', '--help']);
  assert.equal(help.code, 0);
  assert.doesNotMatch(help.out, /repeatable.*\(repeatable\)/);
  assert.match(help.out, /--wave .*\(repeatable, cumulative/);
});

test('operator mistakes caught on the command line (exit 2) before the hub is asked', async () => {
  // --since that is neither a duration ago nor an ISO time (docs/cli.md "Exit codes and errors").
  const since = await cli(['audit', '--since', 'yesterday']);
  assert.equal(since.code, 2);
  assert.match(since.err, /^error \[BAD_REQUEST\]: --since: expected a duration ago \(90s, 30m, 24h, 7d, 2w\), a date \(2026-01-01, from 00:00 UTC\) or an ISO date-time .*got "yesterday"/);
  // A misspelt gate or shadow key names the keys expected; a key given twice is refused, not the last kept.
  const gate = await cli(['rollout', 'create', 'm', '2.0.0', '--all', '--gate', 'minPredicitons=5', '--reason', 'x']);
  assert.equal(gate.code, 2);
  assert.match(gate.err, /--gate minPredicitons=5: unknown key "minPredicitons": expected one of installSuccess, reporting, minPredictions,/);
  const twice = await cli(['rollout', 'create', 'm', '2.0.0', '--all', '--gate', 'outputPsi=0.5', '--gate', 'outputPsi=0.3', '--reason', 'x']);
  assert.equal(twice.code, 2);
  assert.match(twice.err, /--gate outputPsi is given twice \(outputPsi=0.5 and outputPsi=0.3\): expected each key once/);
  const shadow = await cli(['rollout', 'create', 'm', '2.0.0', '--all', '--shadow', 'sampelRate=0.2', '--reason', 'x']);
  assert.equal(shadow.code, 2);
  assert.match(shadow.err, /--shadow sampelRate=0.2: unknown key "sampelRate": expected one of sampleRate, bakeSec,/);
  const cfg = await cli(['config', 'set', 'fleet', '--set', 'summaries.windowSec=30', '--reason', 'x', '--rollout', '--gate', 'maxRestart=1']);
  assert.equal(cfg.code, 2);
  assert.match(cfg.err, /--gate maxRestart=1: unknown key "maxRestart": expected one of .*maxRestarts/);
  const noRollout = await cli(['config', 'set', 'fleet', '--set', 'summaries.windowSec=30', '--reason', 'x', '--gate', 'maxRestarts=1']);
  assert.equal(noRollout.code, 2, 'checked before the hub (unreachable here) is asked for the document');
  assert.match(noRollout.err, /--wave, --gate, --manual and --on-failure need --rollout/);
  assert.throws(() => parseWave('canary:10%:bake=soon'), /--wave canary:10%:bake=soon: bake soon: expected a duration/);
  // A hub URL without its scheme is a malformed value, not an unreachable hub.
  for (const [argv, what] of [[['model', 'ls', '--hub', 'localhost:8700'], '--hub localhost:8700'], [['tokens', 'ls', '--hub', 'ftp://hub'], '--hub ftp://hub']] as const) {
    const r = await cli([...argv]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, new RegExp(`^error \\[BAD_REQUEST\\]: ${what}: expected the hub's http:// or https:// URL, e.g. http://127.0.0.1:8700`));
  }
  // The API's URL instead of the hub's address: was the hub's "no route GET /api/v1/api/v1/devices".
  const api = await cli(['devices', 'ls', '--hub', 'http://127.0.0.1:8700/api/v1/']);
  assert.equal(api.code, 2, api.err);
  assert.match(api.err, /^error \[BAD_REQUEST\]: --hub http:\/\/127\.0\.0\.1:8700\/api\/v1\/: expected the hub's address without \/api\/v1, e.g. http:\/\/127\.0\.0\.1:8700\n/);
});

test('a --hub that answers but is not a hub (another program\'s port, a proxy page) is named, not "hub: HTTP 404"', async () => {
  // What answered before: an agent's API on the port (404, its own JSON), a proxy's HTML page with 200.
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/api/v1/devices')) res.writeHead(200, { 'content-type': 'text/html' }).end('<html>sign in</html>');
    else res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found","code":"NOT_FOUND"}');
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  try {
    const base = `http://127.0.0.1:${port}`;
    const notFound = await cli(['model', 'ls', '--hub', base]);
    assert.equal(notFound.code, 1, notFound.err);
    assert.equal(notFound.err, `error [IO_ERROR]: ${base} answered GET /api/v1/models with HTTP 404 (application/json), not an edgefleet hub's answer: `
      + 'expected the hub\'s address in --hub or EDGEFLEET_HUB, e.g. http://127.0.0.1:8700 (edgefleet-hub run logs it as "http")\n');
    const page = await cli(['devices', 'ls', '--hub', base]);
    assert.equal(page.code, 1, page.err);
    assert.match(page.err, /^error \[IO_ERROR\]: http:\/\/127\.0\.0\.1:\d+ answered GET \/api\/v1\/devices with HTTP 200 \(text\/html\), not an edgefleet hub's answer/);
  } finally {
    server.close();
  }
});

test('config set: a setting given twice, set and unset at once, or a number JSON cannot carry is a bad command line', async () => {
  // The hub (unreachable here) is never asked: each is refused before the document is read.
  const twice = await cli(['config', 'set', 'fleet', '--set', 'summaries.windowSec=30', '--set', 'summaries.windowSec=20', '--reason', 'x']);
  assert.equal(twice.code, 2, twice.err);
  assert.match(twice.err, /--set summaries\.windowSec is given twice \(summaries\.windowSec=30 and summaries\.windowSec=20\): expected each key once/);
  // Was: the --unset won and the --set value was dropped without a word.
  const both = await cli(['config', 'set', 'fleet', '--unset', 'summaries.windowSec', '--set', 'summaries.windowSec=20', '--reason', 'x']);
  assert.equal(both.code, 2, both.err);
  assert.match(both.err, /summaries\.windowSec is given to both --set and --unset: expected one of them/);
  const unsetTwice = await cli(['config', 'set', 'fleet', '--unset', 'log.level', '--unset', 'log.level', '--reason', 'x']);
  assert.equal(unsetTwice.code, 2, unsetTwice.err);
  assert.match(unsetTwice.err, /--unset "log\.level" is given twice: expected each KEY once/);
  // JSON.parse("1e400") is Infinity, which JSON sends as null.
  const huge = await cli(['config', 'set', 'fleet', '--set', 'summaries.windowSec=1e400', '--reason', 'x']);
  assert.equal(huge.code, 2, huge.err);
  assert.match(huge.err, /--set summaries\.windowSec=1e400: expected a finite number/);
});

test('config: a tag scope without KEY=VALUE is a bad command line, also with --devices (it listed no device, exit 0)', async () => {
  for (const argv of [['config', 'show', 'tag/site', '--devices'], ['config', 'show', 'tag/=north'], ['config', 'set', 'tag/site', '--set', 'log.level=info', '--reason', 'x']]) {
    const r = await cli(argv);
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.err}`);
    assert.match(r.err, /^error \[BAD_REQUEST\]: SCOPE: expected fleet, tag\/KEY=VALUE or device\/ID, got "tag\/(site|=north)"/);
  }
});

test('a word from a closed list names what was given and the one likely meant; a command missing several things names them all', async () => {
  const metric = await cli(['alerts', 'rules', 'add', '--name', 'd', '--metric', 'drift.pssi', '--threshold', '0.2']);
  assert.equal(metric.code, 2, metric.err);
  assert.match(metric.err, /^error \[BAD_REQUEST\]: --metric: expected one of drift\.psi, .*, got "drift\.pssi"; did you mean "drift\.psi"\?\n/);
  const severity = await cli(['alerts', 'rules', 'add', '--name', 'd', '--metric', 'drift.psi', '--threshold', '0.2', '--severity', 'critcal']);
  assert.equal(severity.code, 2, severity.err);
  assert.match(severity.err, /--severity: expected one of .*critical.*, got "critcal"; did you mean "critical"\?\n/);
  const role = await cli(['keys', 'generate', '--role', 'relase', '--out', '/nonexistent']);
  assert.equal(role.code, 2, role.err);
  assert.match(role.err, /^error \[BAD_REQUEST\]: --role: expected one of root, release, hub, got "relase"; did you mean "release"\?\n/);
  // Was: "missing required option --reason", and VERSION only on the next try, then the target.
  const deploy = await cli(['deploy', 'vibration-anomaly']);
  assert.equal(deploy.code, 2, deploy.err);
  assert.match(deploy.err, /^error \[BAD_REQUEST\]: missing VERSION; missing required option --reason; expected exactly one target: --devices ID,ID\.\.\. or --tag KEY=VALUE \(repeatable\) or --all\nusage: edgefleet deploy MODEL VERSION /);
});

test('enroll-token create: --ttl and --max-uses past the hub\'s bounds are refused in the flags\' words, before the hub is asked', async () => {
  // The hub's own answer named its fields instead ("ttlSec: Too big: expected number to be <=31622400").
  const ttl = await cli(['enroll-token', 'create', '--ttl', '367d']);
  assert.equal(ttl.code, 2, ttl.err);
  assert.match(ttl.err, /^error \[BAD_REQUEST\]: --ttl 367d: expected at most 366d \(31622400 s\), the longest an enrollment token lives\n/);
  const uses = await cli(['enroll-token', 'create', '--max-uses', '1000001']);
  assert.equal(uses.code, 2, uses.err);
  assert.match(uses.err, /^error \[BAD_REQUEST\]: --max-uses 1000001: expected at most 1000000 devices for one enrollment token\n/);
});
