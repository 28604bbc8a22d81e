// `edgefleet-agent enroll` against a real hub process: stores credentials
// (0600) and trust; a wrong or revoked token is refused with the hub's reason and writes nothing; a box whose
// clock (injected) is 400 days ahead is told so before any token use is spent; an enrolled box is
// not given another identity without --force; a --hub without its scheme, or of another program, is named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeKeys, makeTrust, startProcess } from '@edgefleet/examples';
import { StringWriter } from '@edgefleet/shared/cli';
import { main } from './main.js';

/** `edgefleet-agent enroll ARGS`, in process, with an empty environment. */
async function enroll(argv: string[], now: () => Date = () => new Date()) {
  const out = new StringWriter();
  const err = new StringWriter();
  const code = await main(['enroll', ...argv], { stdout: out, stderr: err, env: {}, cwd: tmpdir(), now });
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

    // A box 400 days ahead: told plainly, nothing written, no token use spent.
    const ahead = await enroll(['--hub', ready.http, '--token', et.token, '--data-dir', data, '--id', 'edge-9'], () => new Date(Date.now() + 400 * 86_400_000));
    assert.equal(ahead.code, 1);
    assert.match(ahead.err, /^error \[CLOCK_SKEW\]: this box's clock is 400 days ahead of the hub's \(box .*; allowed 5 min\): set the clock/);
    assert.equal(existsSync(join(data, 'credentials.json')), false);
    const tokens = (await (await fetch(`${ready.http}/api/v1/enrollment-tokens`, { headers: { authorization: `Bearer ${admin}` } })).json()) as { tokens: Array<{ uses: number }> };
    assert.deepEqual(tokens.tokens.map((t) => t.uses), [0]);
    const behind = await enroll(['--hub', ready.http, '--token', et.token, '--data-dir', data], () => new Date(Date.now() - 10 * 60_000));
    assert.match(behind.err, /this box's clock is 10 min behind the hub's/);

    const ok = await enroll(['--hub', ready.http, '--token', et.token, '--data-dir', data, '--id', 'edge-9']);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /enrolled as edge-9/);
    const creds = JSON.parse(readFileSync(join(data, 'credentials.json'), 'utf8')) as { deviceId: string; secret: string; brokers: string[] };
    assert.equal(creds.deviceId, 'edge-9');
    assert.deepEqual(creds.brokers, [ready.mqtt]);
    assert.ok(creds.secret.length >= 32);
    assert.equal(statSync(join(data, 'credentials.json')).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(readFileSync(join(data, 'trust.json'), 'utf8')), trust.doc);

    // Enrolled already: another identity is refused (the old one would stay in the fleet, never
    // reporting), naming it and both ways on; nothing is spent or written.
    const et2 = (await (await fetch(`${ready.http}/api/v1/enrollment-tokens`, {
      method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: '{"maxUses": 2}',
    })).json()) as { token: string };
    const again = await enroll(['--hub', ready.http, '--token', et2.token, '--data-dir', data]);
    assert.equal(again.code, 1);
    assert.match(again.err, /^error \[CONFLICT\]: this box is already enrolled as edge-9 \(.*credentials\.json\): expected --id edge-9 to re-run that enrollment, or --force to replace it/);
    assert.equal((JSON.parse(readFileSync(join(data, 'credentials.json'), 'utf8')) as { secret: string }).secret, creds.secret);
    const lone = await enroll(['--hub', ready.http, '--token', et2.token, '--data-dir', data, '--drop-backlog']);
    assert.equal(lone.code, 2);
    assert.match(lone.err, /^error \[BAD_REQUEST\]: --drop-backlog goes with --force/);
    // Nothing queued (the box never ran): --force needs no --drop-backlog.
    const forced = await enroll(['--hub', ready.http, '--token', et2.token, '--data-dir', data, '--id', 'edge-10', '--force']);
    assert.equal(forced.code, 0, forced.err);
    assert.match(forced.out, /enrolled as edge-10/);
    assert.equal(forced.err, '');

    // A revoked token (say it leaked) is refused at once with the hub's reason; no credentials or trust are
    // written (the device key made before the request stays, for the next enroll: docs/security.md).
    const api = async (path: string, body: unknown) => fetch(`${ready.http}/api/v1${path}`, {
      method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    const leaked = (await (await api('/enrollment-tokens', { maxUses: 100 })).json()) as { token: string; id: string };
    assert.equal((await api(`/enrollment-tokens/${leaked.id}/revoke`, { reason: 'posted in a chat' })).status, 200);
    const other = join(dir, 'agent-2');
    const revoked = await enroll(['--hub', ready.http, '--token', leaked.token, '--data-dir', other]);
    assert.equal(revoked.code, 1);
    assert.match(revoked.err, new RegExp(`^error \\[UNAUTHENTICATED\\]: hub refused enrollment \\(HTTP 401\\): enrollment token ${leaked.id} was revoked at `));
    assert.equal(existsSync(join(other, 'credentials.json')), false);
    assert.equal(existsSync(join(other, 'trust.json')), false);
    assert.equal(existsSync(join(other, 'device-key.json')), true, 'the key whose public half the refused request carried');
  } finally {
    await hub.stop('SIGTERM', 20_000);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('enroll: a --hub without its scheme is a bad command line; one that answers but is not a hub is named', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-enroll-nohub-'));
  // What answered before on such a port: another program's 404 (an agent's API has its own JSON errors).
  const server = createServer((_req, res) => res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found","code":"NOT_FOUND"}'));
  try {
    const scheme = await enroll(['--hub', '127.0.0.1:8700', '--token', 'eft_x', '--data-dir', join(dir, 'a')]);
    assert.equal(scheme.code, 2, scheme.err);
    assert.match(scheme.err, /^error \[BAD_REQUEST\]: --hub 127\.0\.0\.1:8700: expected the hub's http:\/\/ or https:\/\/ URL, e.g\. http:\/\/127\.0\.0\.1:8700\n/);
    const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
    const other = await enroll(['--hub', `http://127.0.0.1:${port}`, '--token', 'eft_x', '--data-dir', join(dir, 'b')]);
    assert.equal(other.code, 1, other.err);
    assert.equal(other.err, `error [IO_ERROR]: http://127.0.0.1:${port} answered POST /api/v1/enroll with HTTP 404 (application/json), not an edgefleet hub's answer: `
      + 'expected the hub\'s address in --hub or EDGEFLEET_HUB, e.g. http://127.0.0.1:8700 (edgefleet-hub run logs it as "http")\n');
    assert.equal(existsSync(join(dir, 'b', 'credentials.json')), false);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
