// A real `edgefleet-hub run` process: refuses to start without a trust
// document that lists its hub key (saying how to make one), and with one it
// creates the admin token (0600), serves the API and MQTT on port 0, enrolls a
// device over HTTP, and stops cleanly on SIGTERM. `run --help` describes the key files it makes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeKeys, makeTrust, runCli, startProcess } from '@edgefleet/examples';
import { dispatch, StringWriter } from '@edgefleet/shared/cli';
import { FACTS } from '../testing/harness.js';
import { hubServerProgram } from './main.js';

test('edgefleet-hub run --help: the text before the options names both key files it makes and their flags', async () => {
  const out = new StringWriter();
  const err = new StringWriter();
  const code = await dispatch(hubServerProgram(), ['run', '--help'], { stdout: out, stderr: err, env: {}, cwd: tmpdir(), now: () => new Date() });
  assert.equal(code, 0, err.text);
  const [head = '', options = ''] = out.text.split(/^options:$/m);
  assert.match(head, /DATA\/hub\.key unless --hub-key/);
  assert.match(head, /DATA\/content-keys\.key unless --content-keys/);
  assert.match(head, /every hub on one database/i);
  assert.match(options, /--content-keys FILE/);
});

test('edgefleet-hub run: refuses a missing or wrong trust document, then runs, enrolls, and stops on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-hubproc-'));
  try {
    const keys = makeKeys(join(dir, 'keys'));
    const trust = makeTrust(dir, keys);
    const data = join(dir, 'data');
    const base = ['run', '--data-dir', data, '--mqtt-port', '0'];
    const common = [...base, '--http-port', '0', '--log-level', 'warn'];

    const none = await runCli('hub/src/server/main.ts', common);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no trust document.*edgefleet trust init/);

    // The trust document names keys.hub, not the key the hub just created in DATA/hub.key.
    // At log level info: a failed start does not log "hub stopped" before its error, which read as a clean stop.
    const wrong = await runCli('hub/src/server/main.ts', [...base, '--http-port', '0', '--log-level', 'info', '--trust', trust.path]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /does not list the hub key/);
    assert.doesNotMatch(wrong.stdout, /hub stopped/);

    const bad = await runCli('hub/src/server/main.ts', [...base, '--http-port', 'eighty']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error \[BAD_REQUEST\]: --http-port: expected a non-negative integer, got "eighty"/);

    const hub = startProcess('hub/src/server/main.ts', [...base, '--http-port', '0', '--log-level', 'info', '--trust', trust.path, '--hub-key', keys.files.hub.keyPath]);
    try {
      const ready = JSON.parse(await hub.waitForLine(/"msg":"hub ready"/, 60_000)) as { http: string; mqtt: string };
      assert.match(ready.mqtt, /^mqtt:\/\/127\.0\.0\.1:\d+$/);
      const adminLine = await hub.waitForLine(/^admin token/);
      const token = readFileSync(join(data, 'admin.token'), 'utf8').trim();
      assert.ok(adminLine.endsWith(token));
      assert.equal(statSync(join(data, 'admin.token')).mode & 0o777, 0o600);

      const api = (path: string, init: { method?: string; body?: unknown; token?: string } = {}) =>
        fetch(`${ready.http}${path}`, {
          method: init.method ?? 'GET',
          headers: { 'content-type': 'application/json', ...(init.token ? { authorization: `Bearer ${init.token}` } : {}) },
          ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
        });
      const et = (await (await api('/api/v1/enrollment-tokens', { method: 'POST', token, body: { tags: { site: 'lab' } } })).json()) as { token: string };
      const en = await api('/api/v1/enroll', { method: 'POST', body: { token: et.token, deviceId: 'lab-1', facts: FACTS } });
      assert.equal(en.status, 201);
      const creds = (await en.json()) as { brokers: string[]; trust: unknown };
      assert.deepEqual(creds.brokers, [ready.mqtt]);
      assert.deepEqual(creds.trust, trust.doc);
      assert.equal((await api('/api/v1/devices', { token: 'wrong' })).status, 401);
      const m = await (await api('/metrics')).text();
      assert.match(m, /edgefleet_api_requests_total\{route="\/api\/v1\/enroll",method="POST",status="201"\} 1/);
    } finally {
      const st = await hub.stop('SIGTERM', 20_000);
      assert.equal(st.code, 0, `hub exit ${JSON.stringify(st)}: ${hub.output().stderr.slice(-2000)}`);
    }
    assert.match(hub.output().stdout, /"msg":"hub stopped"/);

    // Second start: the admin token is not printed again.
    const again = startProcess('hub/src/server/main.ts', [...base, '--http-port', '0', '--log-level', 'info', '--hub-key', keys.files.hub.keyPath]);
    try {
      await again.waitForLine(/"msg":"hub ready"/, 60_000);
    } finally {
      assert.equal((await again.stop('SIGTERM', 20_000)).code, 0);
    }
    assert.doesNotMatch(again.output().stdout, /admin token/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('edgefleet-hub run: a refused start names the flag: a port in use (HTTP, MQTT), a mistyped --trust or --hub-key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-hubflags-'));
  const taken = createServer();
  try {
    const keys = makeKeys(join(dir, 'keys'));
    const trust = makeTrust(dir, keys);
    const port = await new Promise<number>((resolve) => taken.listen(0, '127.0.0.1', () => resolve((taken.address() as AddressInfo).port)));
    const base = ['run', '--trust', trust.path, '--hub-key', keys.files.hub.keyPath, '--log-level', 'warn'];
    // Was IO_ERROR "listen EADDRINUSE: address already in use 127.0.0.1:PORT".
    const http = await runCli('hub/src/server/main.ts', [...base, '--data-dir', join(dir, 'a'), '--http-port', String(port), '--mqtt-port', '0']);
    assert.equal(http.code, 1, http.stderr);
    assert.match(http.stderr, new RegExp(`^error \\[CONFIG_INVALID\\]: httpPort \\(--http-port\\) ${port} on 127\\.0\\.0\\.1 is in use \\(EADDRINUSE\\): expected a free port: another hub or program listens on ${port}\\n`, 'm'));
    const mqtt = await runCli('hub/src/server/main.ts', [...base, '--data-dir', join(dir, 'b'), '--http-port', '0', '--mqtt-port', String(port)]);
    assert.equal(mqtt.code, 1, mqtt.stderr);
    assert.match(mqtt.stderr, new RegExp(`^error \\[CONFIG_INVALID\\]: mqttPort \\(--mqtt-port\\) ${port} on 127\\.0\\.0\\.1 is in use \\(EADDRINUSE\\)`, 'm'));

    // Was CONFIG_INVALID with hub.db, content-keys.key and (without --hub-key) a new hub.key left in DATA.
    const data = join(dir, 'c');
    const ports = ['--data-dir', data, '--http-port', '0', '--mqtt-port', '0', '--log-level', 'warn'];
    const t = await runCli('hub/src/server/main.ts', ['run', ...ports, '--trust', join(dir, 'trsut.json'), '--hub-key', keys.files.hub.keyPath]);
    assert.equal(t.code, 1, t.stderr);
    assert.match(t.stderr, /^error \[NOT_FOUND\]: cannot read trust document \(--trust\) .*trsut\.json: no such file\n/m);
    const k = await runCli('hub/src/server/main.ts', ['run', ...ports, '--trust', trust.path, '--hub-key', join(dir, 'keys')]);
    assert.equal(k.code, 1, k.stderr);
    assert.match(k.stderr, /^error \[BAD_REQUEST\]: cannot read hub key \(--hub-key\) .*keys: it is a directory; expected a file\n/m);
    assert.equal(existsSync(data), false, 'no data dir made');
  } finally {
    taken.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
