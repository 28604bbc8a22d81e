// The external-broker link refused at start (docs/operations.md "TLS", docs/mqtt.md): a wrong hub password
// on a real Mosquitto, and an mqtts broker whose certificate a private CA (made here with openssl) signed,
// which this process does not trust. Both are IO_ERROR naming the broker URL and the hub user; the
// certificate one says how to trust the CA. Before, the start failed with INTERNAL and Node's words only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';
import type { AppError } from '@edgefleet/shared';
import { createExternalLink } from './external.js';
import { MemoryDevices, RecordingLogger, RecordingMetrics } from './testing/devices.js';
import { MOSQUITTO, startMosquitto } from './testing/mosquitto.js';

const link = (url: string, password: string, username = 'hub-1') => createExternalLink({
  url, username, password, clientId: username, shareGroup: 'edgefleet', connectTimeoutMs: 5000,
  devices: new MemoryDevices(), metrics: new RecordingMetrics(), logger: new RecordingLogger(), clock: { now: () => new Date() },
});

test('a wrong hub password: IO_ERROR naming the broker and the user', { skip: existsSync(MOSQUITTO) ? false : `${MOSQUITTO} not installed` }, async () => {
  const mosq = await startMosquitto([]);
  try {
    await assert.rejects(link(mosq.url, 'not-the-password', mosq.hub.user).start(), (e: AppError) => {
      assert.equal(e.code, 'IO_ERROR');
      assert.match(e.message, new RegExp(`^cannot connect to the external MQTT broker ${mosq.url.replace(/[.]/g, '\\.')} as hub-1: Connection refused: (Not authorized|Bad username or password)$`));
      return true;
    });
  } finally {
    await mosq.stop();
  }
});

test('a broker certificate from a CA this process does not trust: named, with NODE_EXTRA_CA_CERTS', { skip: spawnSync('openssl', ['version']).status === 0 ? false : 'openssl not installed' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-ext-tls-'));
  const ssl = (...args: string[]) => assert.equal(spawnSync('openssl', args, { cwd: dir }).status, 0, `openssl ${args.join(' ')}`);
  let server: Server | undefined;
  try {
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=test CA');
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'b.csr', '-subj', '/CN=broker');
    writeFileSync(join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1\n');
    ssl('x509', '-req', '-in', 'b.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'cert.pem', '-days', '2', '-extfile', 'ext');
    const tls = createServer({ cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) }, (s) => s.destroy());
    server = tls;
    const port = await new Promise<number>((resolve) => tls.listen(0, '127.0.0.1', () => resolve((tls.address() as { port: number }).port)));
    await assert.rejects(link(`mqtts://127.0.0.1:${port}`, 'p').start(), (e: AppError) => {
      assert.equal(e.code, 'IO_ERROR');
      assert.match(e.message, new RegExp(`^cannot connect to the external MQTT broker mqtts://127\\.0\\.0\\.1:${port} as hub-1: unable to verify the first certificate \\(the server's certificate is not signed by a CA this program trusts: for a private CA set NODE_EXTRA_CA_CERTS=`));
      return true;
    });
  } finally {
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
