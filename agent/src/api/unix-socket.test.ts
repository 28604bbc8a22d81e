// The local API on Unix sockets (REST and gRPC) of a real agent: mode 0660 and
// the configured group; a process outside the group is refused by the kernel
// and one in it is served; sockets are removed on stop; a stale socket from a
// crash is replaced, and another process's live socket or a file is never touched.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { spawnSync } from 'node:child_process';
import { pino } from 'pino';
import type { AppError } from '@edgefleet/shared/core';
import { createAgent, type Agent } from '../agent.js';
import { makeKit, mlpBundle, startAgent, testConfig, type Kit } from '../testing.js';
import { oipClient } from './grpc/client.js';
import { groupId, MAX_SOCKET_PATH_BYTES } from './unix-socket.js';

/** GET over a Unix socket, as a local app would (no Host rules apply). */
function get(socketPath: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request({ socketPath, path, headers: { host: 'whatever.invalid' } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    r.on('error', reject);
    r.end();
  });
}

/** Connects to `path` as uid/gid in a child process: "ok" or the errno. */
function connectAs(path: string, uid: number, gid: number): string {
  const code = `const s=require('net').connect(${JSON.stringify(path)});s.on('connect',()=>{process.stdout.write('ok');s.destroy()});s.on('error',(e)=>process.stdout.write(e.code))`;
  return spawnSync(process.execPath, ['-e', code], { uid, gid, encoding: 'utf8', timeout: 10_000 }).stdout;
}

const NOBODY = 65534;
const root = process.getuid?.() === 0;

describe('local API on Unix sockets', () => {
  let kit: Kit;
  let agent: Agent;
  let rest: string;
  let grpc: string;
  before(async () => {
    kit = makeKit();
    chmodSync(kit.dir, 0o755); // others may reach the socket file; its own mode decides
    rest = join(kit.dir, 'agent.sock');
    grpc = join(kit.dir, 'agent-grpc.sock');
    writeFileSync(join(kit.dir, 'stale-marker'), '');
    // A stale REST socket from a crash: a process that listened on it and was killed with SIGKILL.
    const code = `require('net').createServer().listen(${JSON.stringify(rest)}, () => process.kill(process.pid, 'SIGKILL'))`;
    spawnSync(process.execPath, ['-e', code], { timeout: 10_000 });
    assert.ok(lstatSync(rest).isSocket());
    const b = await mlpBundle(kit, '1.0.0');
    agent = await startAgent(join(kit.dir, 'data'), { api: { host: '127.0.0.1', port: 0, socket: rest, socketGroup: 'daemon', grpc: { enabled: true, port: 0, socket: grpc } } });
    agent.trust.put(kit.trust.doc, 1);
    await agent.manager.install(b.path);
  });
  after(async () => {
    await agent.stop();
    kit.cleanup();
  });

  it('replaced the stale socket and serves REST on it with mode 0660 and the configured group', async () => {
    for (const p of [rest, grpc]) {
      const st = lstatSync(p);
      assert.equal(st.mode & 0o777, 0o660, p);
      assert.equal(st.gid, 1, `${p} belongs to group daemon`);
    }
    const r = await get(rest, '/v2/models/mlp');
    assert.equal(r.status, 200, r.body);
  });

  it('serves gRPC on its socket', async () => {
    const c = oipClient(`unix://${grpc}`);
    try {
      assert.deepEqual(await c.call('ModelReady', { name: 'mlp' }), { ready: true });
    } finally {
      c.close();
    }
  });

  it('lets the kernel refuse a process outside the group and admit one in it', { skip: !root && 'needs root to run a child as another user' }, () => {
    assert.equal(connectAs(rest, NOBODY, NOBODY), 'EACCES');
    assert.equal(connectAs(grpc, NOBODY, NOBODY), 'EACCES');
    assert.equal(connectAs(rest, NOBODY, 1), 'ok');
  });

  it('never replaces another process\'s live socket, nor a file that is not a socket', async () => {
    const other = startAgent(join(kit.dir, 'data2'), { api: { host: '127.0.0.1', port: 0, socket: rest } });
    await assert.rejects(other, /api.socket .* is in use by another live process/);
    assert.equal((await get(rest, '/v2/health/live')).status, 200, 'the live socket still serves');
    const file = join(kit.dir, 'stale-marker');
    await assert.rejects(startAgent(join(kit.dir, 'data3'), { api: { host: '127.0.0.1', port: 0, socket: file } }), /exists and is not a socket/);
    assert.ok(existsSync(file));
  });

  it('names a socket directory that does not exist (libuv says EACCES for it)', async () => {
    const missing = join(kit.dir, 'no-such-dir');
    await assert.rejects(startAgent(join(kit.dir, 'data4'), { api: { host: '127.0.0.1', port: 0, socket: join(missing, 'a.sock') } }), (err: Error) => {
      assert.equal(err.message, `api.socket ${missing}/a.sock: cannot listen (directory ${missing} does not exist): expected a path in a directory the agent may write (under the systemd unit: /run/edgefleet)`);
      return true;
    });
    const g = createAgent(testConfig(join(kit.dir, 'data5'), { api: { host: '127.0.0.1', port: 0, grpc: { enabled: true, port: 0, socket: join(missing, 'g.sock') } } }), { logger: pino({ level: 'silent' }), reconcileMs: 0 });
    try {
      await assert.rejects(g.start(), /api\.grpc\.socket .*: cannot listen \(directory .*no-such-dir does not exist\)/);
      assert.throws(() => g.grpcAddress, /not listening/, 'the gRPC TCP listener opened before the socket failed is closed');
    } finally {
      await g.stop();
    }
  });

  it('refuses a gRPC target given as the socket path, naming the path meant', async () => {
    const meant = join(kit.dir, 'g.sock');
    // As written in agent.json, and as the config file made it (relative to its directory).
    for (const socket of [`unix://${meant}`, join(kit.dir, `unix:${meant}`)]) {
      const g = createAgent(testConfig(join(kit.dir, 'data8'), { api: { host: '127.0.0.1', port: 0, grpc: { enabled: true, port: 0, socket } } }), { logger: pino({ level: 'silent' }), reconcileMs: 0 });
      try {
        await assert.rejects(g.start(), (err: AppError) => {
          assert.equal(err.code, 'CONFIG_INVALID');
          assert.equal(err.message, `api.grpc.socket ${socket}: holds "unix:", as a gRPC target does: expected the socket file's path, e.g. ${meant} (clients connect to unix://${meant})`);
          return true;
        });
      } finally {
        await g.stop();
      }
    }
  });

  it('refuses a socket path longer than the system takes, instead of listening on the path cut short', async () => {
    const dir = join(kit.dir, 'long');
    mkdirSync(dir);
    const long = join(dir, `${'s'.repeat(MAX_SOCKET_PATH_BYTES - dir.length)}.sock`);
    const bytes = Buffer.byteLength(long);
    await assert.rejects(startAgent(join(kit.dir, 'data6'), { api: { host: '127.0.0.1', port: 0, socket: long } }), (err: AppError) => {
      assert.equal(err.code, 'CONFIG_INVALID');
      assert.equal(err.message, `api.socket ${long}: the path is ${bytes} bytes: expected at most ${MAX_SOCKET_PATH_BYTES} (the longest Unix socket path the system takes), e.g. /run/edgefleet/agent.sock`);
      return true;
    });
    assert.deepEqual(readdirSync(dir), [], 'no socket file under a cut path');
    const g = createAgent(testConfig(join(kit.dir, 'data7'), { api: { host: '127.0.0.1', port: 0, grpc: { enabled: true, port: 0, socket: long } } }), { logger: pino({ level: 'silent' }), reconcileMs: 0 });
    try {
      await assert.rejects(g.start(), /^AppError: api\.grpc\.socket .*: the path is \d+ bytes: expected at most 107/);
    } finally {
      await g.stop();
    }
    assert.deepEqual(readdirSync(dir), []);
  });

  it('names api.socketGroup when the agent\'s user may not give the socket to that group, and leaves no socket', { skip: !root && 'needs root to run a child as another user' }, () => {
    const dir = join(kit.dir, 'nobody');
    mkdirSync(dir);
    chownSync(dir, NOBODY, NOBODY);
    const path = join(dir, 'agent.sock');
    const listener = new URL('./unix-socket.js', import.meta.url).pathname;
    // nobody is not in group daemon: chown(2) refuses it EPERM.
    const code = `import(${JSON.stringify(listener)}).then(async ({ UnixListener }) => { const l = new UnixListener({ path: ${JSON.stringify(path)}, group: 'daemon', cap: { hardCap: 1, watch: (s) => { s.maxConnections = 1; } }, what: 'api.socket' }, (s) => s.destroy()); try { await l.start(); process.stdout.write('started') } catch (e) { process.stdout.write(e.code + ': ' + e.message) } })`;
    const out = spawnSync(process.execPath, ['-e', code], { uid: NOBODY, gid: NOBODY, encoding: 'utf8', timeout: 10_000 });
    assert.equal(out.stdout, `CONFIG_INVALID: api.socketGroup "daemon": cannot give api.socket ${path} to group 1 (EPERM): expected a group the agent's user is a member of (or leave api.socketGroup unset for the agent's own group)`, out.stderr);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('takes api.socketGroup as a name or a gid, and names an unknown group', () => {
    assert.equal(groupId('daemon'), 1);
    assert.equal(groupId('4321'), 4321);
    assert.throws(() => groupId('no-such-group-here'), /socket group "no-such-group-here" is not in \/etc\/group: expected a group name or a numeric gid/);
  });

  it('removes both sockets on stop', async () => {
    await agent.stop();
    assert.equal(existsSync(rest), false);
    assert.equal(existsSync(grpc), false);
  });
});
