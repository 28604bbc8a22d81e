// Starts a real Mosquitto for tests, configured only with the files `edgefleet-hub mosquitto-config`
// generates (password file, ACL, mosquitto.conf). Shared by the FleetLink suite and the hub e2e test.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dispatch, StringWriter } from '@edgefleet/shared/cli';
import { hubServerProgram } from '../../server/main.js';

export const MOSQUITTO = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';

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

/**
 * Starts Mosquitto with the generated files for `list`; `regenerate` rewrites them and reloads (SIGHUP).
 * `moreHubs`: MQTT users of further hub processes (several hubs: one user each, since Mosquitto uses the
 * username as the client id). `extraConf`: lines appended to the generated mosquitto.conf before the
 * broker starts (and after each regenerate), e.g. a bench's log settings; a `user NAME` line there
 * replaces the `user root` of a run as root (mosquitto then drops to NAME and reads the files as NAME).
 * `prepare(dir)`: runs after the files are written and before the broker starts (an operator's chown).
 */
export async function startMosquitto(list: Array<{ id: string; secret: string }>, hub = { user: 'hub-1', password: 'hub-password-1' }, maxPayload = 16 * 1024, moreHubs: Array<{ user: string; password: string }> = [], extraConf: string[] = [], prepare?: (dir: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'ef-mosq-'));
  let port = 0;
  const generate = async (devices: Array<{ id: string; secret: string }>) => {
    const err = new StringWriter();
    const code = await dispatch(
      hubServerProgram({ listDevices: () => devices }),
      ['mosquitto-config', '--out', dir, ...[hub, ...moreHubs].flatMap((h) => ['--hub-user', h.user, '--hub-password', h.password]), '--port', String(port), '--host', '127.0.0.1', '--max-payload-bytes', String(maxPayload)],
      { stdout: new StringWriter(), stderr: err, env: {}, cwd: dir, now: () => new Date() },
    );
    if (code !== 0) throw new Error(`mosquitto-config failed: ${err.text}`);
    // Running as root, mosquitto would drop to the `mosquitto` user and fail to read the 0600 files.
    const more = [...(process.getuid?.() === 0 && !extraConf.some((l) => l.startsWith('user ')) ? ['user root'] : []), ...extraConf];
    if (more.length) appendFileSync(join(dir, 'mosquitto.conf'), `${more.join('\n')}\n`);
  };
  let output = '';
  /** Mosquitto on `port` with the files in `dir`, once it listens. */
  const spawnOn = async (on: number): Promise<ChildProcess> => {
    output = '';
    const p = spawn(MOSQUITTO, ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    p.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    try {
      await waitForPort(on, p, () => output);
      return p;
    } catch (err) {
      if (p.exitCode === null) p.kill('SIGKILL');
      throw err;
    }
  };
  const end = async (p: ChildProcess): Promise<void> => {
    if (p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await exited;
  };
  // The free port is only free when we look: another test file's server can take it before Mosquitto
  // binds, and then Mosquitto exits. Such a start is tried again on a new port, up to 3 times.
  let first: ChildProcess | undefined;
  for (let attempt = 1; !first; attempt++) {
    port = await freePort();
    await generate(list);
    prepare?.(dir);
    try {
      first = await spawnOn(port);
    } catch (err) {
      if (attempt >= 3) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
  let proc = first;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    dir,
    passwordFile: join(dir, 'passwd'),
    reload() {
      proc.kill('SIGHUP');
    },
    hub,
    async regenerate(devices: Array<{ id: string; secret: string }>) {
      await generate(devices);
      proc.kill('SIGHUP');
    },
    /** Stops the broker and keeps its files and port, for up(): a broker that is down, then back. */
    async down() {
      await end(proc);
    },
    /** Starts the broker again on its port after down(). */
    async up() {
      proc = await spawnOn(port);
    },
    async stop() {
      await end(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

