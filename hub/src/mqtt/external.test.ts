// The external-broker FleetLink against a real Mosquitto started here on a free
// port, configured only with the files `mosquitto-config` generates: the same
// shared suite as the embedded broker. Skipped (with a message) when Mosquitto is
// not installed; .ci/run installs it.
import { describe } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createExternalLink } from './external.js';
import { mosquittoConfigCommand } from './mosquitto-config.js';
import { fleetLinkSuite } from './testing/fleet-link-suite.js';
import { MemoryDevices, RecordingLogger, RecordingMetrics, connectDevice } from './testing/devices.js';

export const MOSQUITTO = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';
const MAX_PAYLOAD = 16 * 1024;

export async function freePort(): Promise<number> {
  const s = net.createServer();
  s.listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function waitForPort(port: number, proc: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) throw new Error(`mosquitto exited with ${proc.exitCode}: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`mosquitto did not listen on ${port}: ${log()}`);
}

/** Starts Mosquitto with the generated files for `list`; `regenerate` rewrites them and reloads (SIGHUP). */
export async function startMosquitto(list: Array<{ id: string; secret: string }>, hub = { user: 'hub-1', password: 'hub-password-1' }) {
  const dir = mkdtempSync(join(tmpdir(), 'ef-mosq-'));
  const port = await freePort();
  const generate = async (devices: Array<{ id: string; secret: string }>) => {
    const err: string[] = [];
    const code = await mosquittoConfigCommand(
      ['--out', dir, '--hub-user', hub.user, '--hub-password', hub.password, '--port', String(port), '--host', '127.0.0.1', '--max-payload-bytes', String(MAX_PAYLOAD)],
      { listDevices: () => devices, stdout: () => {}, stderr: (l) => err.push(l) },
    );
    if (code !== 0) throw new Error(`mosquitto-config failed: ${err.join('\n')}`);
  };
  await generate(list);
  // Running as root, mosquitto would drop to the `mosquitto` user and fail to read the 0600 files.
  if (process.getuid?.() === 0) appendFileSync(join(dir, 'mosquitto.conf'), 'user root\n');
  let output = '';
  const proc = spawn(MOSQUITTO, ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  await waitForPort(port, proc, () => output);
  return {
    url: `mqtt://127.0.0.1:${port}`,
    hub,
    async regenerate(devices: Array<{ id: string; secret: string }>) {
      await generate(devices);
      proc.kill('SIGHUP');
    },
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

if (!existsSync(MOSQUITTO)) {
  describe('FleetLink: external Mosquitto', { skip: `${MOSQUITTO} not installed (apt-get install -y mosquitto)` }, () => {});
} else {
  fleetLinkSuite('external Mosquitto', async (list) => {
    const devices = new MemoryDevices();
    for (const d of list) devices.add(d.id, d.secret);
    const mosq = await startMosquitto(list);
    const link = createExternalLink({
      url: mosq.url, username: mosq.hub.user, password: mosq.hub.password, clientId: mosq.hub.user, shareGroup: 'edgefleet',
      devices, metrics: new RecordingMetrics(), logger: new RecordingLogger(), clock: { now: () => new Date() },
    });
    await link.start();
    return {
      link, url: mosq.url, devices, maxPayloadBytes: MAX_PAYLOAD,
      caps: { subackRefusals: false, refusesClientIdMismatch: false, kicksOnRevoke: false },
      async revoke(id) {
        devices.revoked.add(id);
        const secret = list.find((d) => d.id === id)?.secret ?? '';
        await mosq.regenerate(list.filter((d) => !devices.revoked.has(d.id)));
        // Wait until the reload is in effect (the suite then asserts the refusal).
        for (let i = 0; i < 100; i++) {
          const ok = await connectDevice(mosq.url, id, secret).then((c) => { c.end(true); return true; }, () => false);
          if (!ok) return;
          await new Promise((r) => setTimeout(r, 50));
        }
      },
      async close() {
        await link.stop();
        await mosq.stop();
      },
    };
  });
}
