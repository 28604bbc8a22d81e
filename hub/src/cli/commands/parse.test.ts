// The operator CLI's shared option parsers (parse.ts) and its help text, in process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
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
