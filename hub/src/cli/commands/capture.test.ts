// `edgefleet capture keygen|start|ls|show|stop|fetch|purge` against a real hub process (docs/hub.md
// "Data capture"): the key pair made here (never overwritten), the text each command prints, usage
// errors (exit 2) and the hub's errors (exit 1) naming what was wrong, a viewer refused the chunks.
// The commands run in this process (main() with the environment in its context: a process start costs
// ~0.4 s of CPU); the first keygen runs as the real program, so its exit code and output glue are covered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { buildExampleBundle, makeKeys, makeTrust, runCli, runInProcess, startProcess, waitFor } from '@edgefleet/examples';
import { CAPTURE_CHUNK_SCHEMA, sealRows, type Capture, type CaptureAck, type CaptureDevice } from '@edgefleet/shared';
import { main } from '../main.js';
import { renderCapture } from './capture.js';

test('show: the hub\'s state, and a capture that ended on every device before its until says so', () => {
  const part = (status: CaptureDevice['status']): CaptureDevice => ({ deviceId: `d-${status}`, status, rows: 0, chunks: 0, bytes: 0, reason: null, updated: '2026-03-01T12:00:00.000Z' });
  const c: Capture = {
    id: 3, state: 'ended', model: 'm', version: null, target: { all: true }, rate: 1, maxRows: 5, durationSec: 600, features: null, reason: 'r', keyId: 'a'.repeat(64),
    createdBy: 'admin', created: '2026-03-01T12:00:00.000Z', until: '2026-03-01T12:10:00.000Z', stopped: null, purged: null, rows: 0, bytes: 0,
    devices: [part('done'), part('budget_full')],
  };
  const now = new Date('2026-03-01T12:05:00.000Z');
  assert.match(renderCapture(c, now), /^capture 3: m on all devices \(ended on every device\)\n/);
  assert.match(renderCapture({ ...c, state: 'active', devices: [...c.devices, part('capturing')] }, now), /^capture 3: m on all devices \(active\)\n/);
  assert.match(renderCapture({ ...c, state: 'stopped' }, now), /^capture 3: m on all devices \(stopped\)\n/);
  assert.match(renderCapture(c, new Date('2026-03-01T12:11:00.000Z')), /\(ended\)\n/);
});

test('capture commands against a running hub: output, usage errors and hub errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-capture-cli-'));
  const keys = makeKeys(join(dir, 'keys'));
  const trust = makeTrust(dir, keys);
  const v1 = await buildExampleBundle({ dir, version: '1.0.0', keys });
  const keyFile = join(dir, 'operator-capture.key');
  const kg = await runCli('hub/src/cli/main.ts', ['capture', 'keygen', '--out', keyFile]);
  assert.equal(kg.code, 0, kg.stderr);
  assert.match(kg.stdout, /^[A-Za-z0-9+/]{43}=\n$/, 'the public key alone on stdout');
  assert.match(kg.stderr, /^wrote .*operator-capture\.key \(secret, mode 0600\); key id [0-9a-f]{64}; put the public key above in the hub config as capture\.publicKey\n$/);
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  const again = await runInProcess(main, ['capture', 'keygen', '--out', keyFile]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /error \[CONFLICT\]: .* already exists \(keys are never overwritten\)/);

  writeFileSync(join(dir, 'hub.json'), JSON.stringify({ capture: { publicKey: kg.stdout.trim() } }));
  const hub = startProcess('hub/src/server/main.ts', ['run', '--data-dir', join(dir, 'hub'), '--http-port', '0', '--mqtt-port', '0', '--trust', trust.path,
    '--hub-key', keys.files.hub.keyPath, '--config', join(dir, 'hub.json')]);
  try {
    const ready = JSON.parse(await hub.waitForLine(/"msg":"hub ready"/, 60_000)) as { http: string };
    const env = { EDGEFLEET_HUB: ready.http, EDGEFLEET_TOKEN: readFileSync(join(dir, 'hub', 'admin.token'), 'utf8').trim() };
    const cli = (args: string[], token?: string) => runInProcess(main, args, { env: token ? { ...env, EDGEFLEET_TOKEN: token } : env, cwd: dir });
    assert.equal((await cli(['model', 'push', v1.path])).code, 0);
    assert.equal((await cli(['devices', 'add', '--id', 'pump-1', '--tag', 'ring=canary', '--out', join(dir, 'pump-1.json')])).code, 0);
    const start = ['capture', 'start', 'vibration-anomaly', '--devices', 'pump-1', '--max-rows', '50', '--duration-sec', '600', '--reason', 'drift on rpm'];

    const notNumber = await cli([...start, '--rate', 'abc']);
    assert.equal(notNumber.code, 2);
    assert.match(notNumber.stderr, /--rate: expected a number, got "abc"/);
    const tooHigh = await cli([...start, '--rate', '1.5']);
    assert.equal(tooHigh.code, 1);
    assert.match(tooHigh.stderr, /error \[SCHEMA_INVALID\]: hub: invalid capture request: rate: expected rate <= 1/);
    const feature = await cli([...start, '--rate', '1', '--features', 'rpm,nope']);
    assert.equal(feature.code, 1);
    assert.match(feature.stderr, /features: "nope" not in vibration-anomaly's manifest; expected some of \[.*rpm.*\]/);
    const version = await cli([...start, '--rate', '1', '--version', '9.9.9']);
    assert.equal(version.code, 1);
    assert.match(version.stderr, /error \[NOT_FOUND\]: hub: .*9\.9\.9/);

    const ok = await cli([...start, '--rate', '0.5', '--version', '1.0.0', '--features', 'rms_velocity,rpm']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^capture 1: vibration-anomaly 1\.0\.0 on 1 device\(s\) \(devices pump-1\) until \S+Z\nfollow it: edgefleet capture show 1; fetch it: edgefleet capture fetch 1 --key KEYFILE > rows\.jsonl\n$/);
    const ls = await cli(['capture', 'ls']);
    assert.match(ls.stdout, /^ID +MODEL +TARGET +STATE +RATE +ROWS +BYTES +UNTIL +BY +REASON\n1 +vibration-anomaly +devices pump-1 +active +0\.5 +0 +0 +\S+ +admin +drift on rpm\n$/);
    const show = await cli(['capture', 'show', '1']);
    assert.match(show.stdout, /^capture 1: vibration-anomaly 1\.0\.0 on devices pump-1 \(active\)\nrate 0\.5, up to 50 rows per device, until \S+; features rms_velocity,rpm; sealed to key [0-9a-f]{12}\n/);
    assert.match(show.stdout, /\npump-1 +pending +0 +0 +0 /);
    const badId = await cli(['capture', 'show', 'abc']);
    assert.equal(badId.code, 2);
    assert.match(badId.stderr, /capture id "abc": expected a positive integer \(see edgefleet capture ls\)/);
    assert.match((await cli(['capture', 'show', '7'])).stderr, /error \[NOT_FOUND\]: hub: capture 7 not found/);

    const early = await cli(['capture', 'purge', '1', '--reason', 'x']);
    assert.equal(early.code, 1);
    assert.match(early.stderr, /error \[CONFLICT\]: hub: capture 1 still captures until .*: stop it first \(edgefleet capture stop 1\), then purge it/);
    const stop = await cli(['capture', 'stop', '1', '--reason', 'enough rows']);
    assert.equal(stop.stdout, 'capture 1 stopped; 0 rows received so far\n');
    assert.match((await cli(['capture', 'stop', '1', '--reason', 'again'])).stderr, /error \[CONFLICT\]: hub: capture 1 was already stopped at .* by admin/);

    const viewer = (JSON.parse((await cli(['tokens', 'create', 'look', '--role', 'viewer', '--json'])).stdout) as { token: string }).token;
    const refused = await cli(['capture', 'fetch', '1', '--key', keyFile], viewer);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /error \[FORBIDDEN\]: hub: GET \/api\/v1\/captures\/:id\/chunks needs the operator role; token "look" has viewer/);
    for (const n of ['abc', '0']) {
      const bad = await cli(['capture', 'fetch', '1', '--key', keyFile, '--max-chunks', n]);
      assert.deepEqual([bad.code, bad.stdout], [2, ''], `--max-chunks ${n}`);
      assert.match(bad.stderr, new RegExp(`--max-chunks: expected a positive integer, got "${n}"`));
    }
    const fetched = await cli(['capture', 'fetch', '1', '--key', keyFile]);
    assert.deepEqual([fetched.code, fetched.stdout, fetched.stderr], [0, '', 'capture 1: 0 rows from 0 chunk(s)\n']);
    const purged = await cli(['capture', 'purge', '1', '--reason', 'fetched']);
    assert.equal(purged.stdout, 'capture 1 purged: 0 bytes of sealed chunks deleted (0 rows were received)\n');

    // The device uploads a chunk that opens and one that does not (its `to` names the key, its key box
    // is another's): fetch writes the rows that open, names the one that does not, exits 1.
    assert.equal((await cli([...start, '--rate', '1'])).code, 0);
    const cred = JSON.parse(readFileSync(join(dir, 'pump-1.json'), 'utf8')) as { secret: string; brokers: string[] };
    const device = await mqtt.connectAsync(cred.brokers[0]!, { clientId: 'pump-1', username: 'pump-1', password: cred.secret, reconnectPeriod: 0 });
    try {
      const acks: CaptureAck[] = [];
      device.on('message', (_t, p) => acks.push(JSON.parse(p.toString()) as CaptureAck));
      await device.subscribeAsync('ef/v1/d/pump-1/capture/ack', { qos: 1 });
      const pub = kg.stdout.trim();
      const good = await sealRows(Buffer.from('{"row":1}\n{"row":2}\n'), pub);
      const other = await sealRows(Buffer.from('{"row":3}\n'), pub);
      const bad = { ...other, key: { ...other.key, box: good.key.box } };
      for (const [seq, sealed] of [[1, bad], [2, good]] as const) {
        await device.publishAsync('ef/v1/d/pump-1/capture', JSON.stringify({ schema: CAPTURE_CHUNK_SCHEMA, deviceId: 'pump-1', captureId: 2, seq, rows: seq === 1 ? 1 : 2, sealed }), { qos: 1 });
      }
      await waitFor('both chunks acked', () => acks.filter((a) => a.ranges.length).length === 2 || undefined, { timeoutMs: 20_000 });
    } finally {
      await device.endAsync();
    }
    const partial = await cli(['capture', 'fetch', '2', '--key', keyFile]);
    assert.equal(partial.code, 1);
    assert.equal(partial.stdout, '{"row":1}\n{"row":2}\n');
    assert.match(partial.stderr, /^capture 2: skipped chunk 1 of pump-1: .*\ncapture 2: 2 rows from 1 chunk\(s\); 1 chunk\(s\) did not open \(named above\)\n$/);
    // On a terminal the rows written are counted on stderr against those the hub received (docs/cli.md "Progress").
    const counted = await runInProcess(main, ['capture', 'fetch', '2', '--key', keyFile], { env, cwd: dir, tty: true });
    assert.equal(counted.stdout, partial.stdout);
    assert.match(counted.stderr, /^capture 2: skipped chunk 1 of pump-1: .*\n\rfetching capture 2: 2 of 3 rows\rfetching capture 2: 2 of 3 rows\ncapture 2: 2 rows from 1 chunk\(s\); 1 chunk\(s\) did not open/);

    // Another key file: said before any chunk is fetched.
    const otherKey = join(dir, 'other.key');
    assert.equal((await runInProcess(main, ['capture', 'keygen', '--out', otherKey])).code, 0);
    const wrong = await cli(['capture', 'fetch', '2', '--key', otherKey]);
    assert.deepEqual([wrong.code, wrong.stdout], [1, '']);
    assert.match(wrong.stderr, /error \[DECRYPT_FAILED\]: capture 2 is sealed to capture key [0-9a-f]{12}…, .*other\.key is key [0-9a-f]{12}…: expected the key file whose public key was the hub's capture\.publicKey when the capture started/);
  } finally {
    await hub.stop('SIGTERM', 20_000);
    rmSync(dir, { recursive: true, force: true });
  }
});
