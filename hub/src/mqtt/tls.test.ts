// The embedded broker over TLS (mqtts): a device that trusts the hub's certificate connects with its
// credentials and its messages reach the hub; a wrong secret is still refused; a client that does not
// trust the certificate cannot connect. The certificate is made here with openssl (self-signed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmbeddedBroker } from './embedded.js';
import { MemoryDevices, RecordingLogger, RecordingMetrics, connectDevice, stateMsg } from './testing/devices.js';
import { deviceTopic } from '@edgefleet/shared';
import { waitFor } from '@edgefleet/examples';

const openssl = spawnSync('openssl', ['version']).status === 0;

test('mqtts: trusted clients connect and publish, wrong secrets and untrusting clients are refused', { skip: openssl ? false : 'openssl not installed' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-tls-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const devices = new MemoryDevices();
  devices.add('tls-1', 's'.repeat(32));
  const link = createEmbeddedBroker({
    host: '127.0.0.1', tcpPort: 0, tls: { port: 0, cert: readFileSync(cert), key: readFileSync(key) }, maxPayloadBytes: 64 * 1024,
    connectRateLimit: { perAddressPerMinute: 600 }, devices, metrics: new RecordingMetrics(), logger: new RecordingLogger(), clock: { now: () => new Date() },
  });
  await link.start();
  try {
    const url = link.address().mqtts;
    assert.match(url ?? '', /^mqtts:\/\/127\.0\.0\.1:\d+$/);
    const got: string[] = [];
    link.on('state', (id) => void got.push(id));
    const c = await connectDevice(url as string, 'tls-1', 's'.repeat(32), { ca: readFileSync(cert), rejectUnauthorized: true });
    await c.publishAsync(deviceTopic('tls-1', 'state'), stateMsg('tls-1'), { qos: 1, retain: true });
    await waitFor('the state report from tls-1', () => got.length > 0, { timeoutMs: 10_000, intervalMs: 20 });
    assert.deepEqual(got, ['tls-1']);
    await c.endAsync();
    await assert.rejects(connectDevice(url as string, 'tls-1', 'wrong'.repeat(8), { ca: readFileSync(cert) }), /Not authorized|closed|refused/i);
    await assert.rejects(connectDevice(url as string, 'tls-1', 's'.repeat(32), { rejectUnauthorized: true }), /self[- ]signed|certificate|closed/i);
  } finally {
    await link.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
