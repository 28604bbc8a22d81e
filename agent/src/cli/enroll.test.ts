// `edgefleet-agent enroll` against a real hub process: stores credentials
// (0600) and trust; a wrong token is refused with the hub's reason and writes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeKeys, makeTrust, startProcess } from '@edgefleet/examples';
import { StringWriter } from '@edgefleet/shared/cli';
import { main } from './main.js';

/** `edgefleet-agent enroll ARGS`, in process, with an empty environment. */
async function enroll(argv: string[]) {
  const out = new StringWriter();
  const err = new StringWriter();
  const code = await main(['enroll', ...argv], { stdout: out, stderr: err, env: {}, cwd: tmpdir(), now: () => new Date() });
  return { code, out: out.text, err: err.text };
}

test('enroll: stores credentials.json (0600) and trust.json; a wrong token is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-enroll-'));
  const keys = makeKeys(join(dir, 'keys'));
  const trust = makeTrust(dir, keys);
  const hub = startProcess('hub/src/server/main.ts', ['run', '--data-dir', join(dir, 'hub'), '--http-port', '0', '--mqtt-port', '0', '--trust', trust.path, '--hub-key', keys.files.hub.keyPath]);
  try {
    const ready = JSON.parse(await hub.waitForLine(/"msg":"hub ready"/, 60_000)) as { http: string; mqtt: string };
    const admin = readFileSync(join(dir, 'hub', 'admin.token'), 'utf8').trim();
    const et = (await (await fetch(`${ready.http}/api/v1/enrollment-tokens`, {
      method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: '{}',
    })).json()) as { token: string };

    const data = join(dir, 'agent');
    const bad = await enroll(['--hub', ready.http, '--token', 'eft_wrong', '--data-dir', data]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /^error \[UNAUTHENTICATED\]: hub refused enrollment \(HTTP 401\): enrollment token not recognised/);
    assert.equal(existsSync(join(data, 'credentials.json')), false);

    const usage = await enroll(['--hub', ready.http]);
    assert.equal(usage.code, 2);
    assert.match(usage.err, /^error \[BAD_REQUEST\]: missing --token T, --data-dir DIR/);

    const ok = await enroll(['--hub', ready.http, '--token', et.token, '--data-dir', data, '--id', 'edge-9']);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /enrolled as edge-9/);
    const creds = JSON.parse(readFileSync(join(data, 'credentials.json'), 'utf8')) as { deviceId: string; secret: string; brokers: string[] };
    assert.equal(creds.deviceId, 'edge-9');
    assert.deepEqual(creds.brokers, [ready.mqtt]);
    assert.ok(creds.secret.length >= 32);
    assert.equal(statSync(join(data, 'credentials.json')).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(readFileSync(join(data, 'trust.json'), 'utf8')), trust.doc);
  } finally {
    await hub.stop('SIGTERM', 20_000);
    rmSync(dir, { recursive: true, force: true });
  }
});
