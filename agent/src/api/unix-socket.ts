// The local API's Unix domain socket (docs/security.md "Local API over a Unix
// socket"): created with mode 0660 and an optional group, so who may call the
// agent on the box is decided by file permissions. A socket file left by a
// crash is replaced; a socket another live process listens on never is, and
// a path that is not a socket is never removed. Removed on stop.
import { chmodSync, chownSync, existsSync, lstatSync, readFileSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { AppError } from '@edgefleet/shared/core';
import type { ConnectionCap } from './connection-cap.js';

export const SOCKET_MODE = 0o660;

/**
 * The longest Unix socket path Linux takes (sun_path's 108 bytes, less the closing NUL). Node listens on a
 * longer one cut to this length without a word: the agent would serve a file no client names and leave it.
 */
export const MAX_SOCKET_PATH_BYTES = 107;

/** Marks connections accepted on the Unix socket: no Host header or loopback check applies to them. */
export const VIA_UNIX_SOCKET: unique symbol = Symbol('via unix socket');
export const viaUnixSocket = (s: Socket): boolean => (s as Socket & { [VIA_UNIX_SOCKET]?: true })[VIA_UNIX_SOCKET] === true;

/** A group name from /etc/group, or a numeric gid, as a gid. */
export function groupId(group: string): number {
  if (/^\d+$/.test(group)) return Number(group);
  let text = '';
  try {
    text = readFileSync('/etc/group', 'utf8');
  } catch { /* no /etc/group: only numeric gids */ }
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw new AppError('CONFIG_INVALID', `socket group "${group}" is not in /etc/group: expected a group name or a numeric gid`);
}

/**
 * A gRPC target (`unix:///run/edgefleet/agent-grpc.sock`, what clients connect to) given as the socket's
 * path: refused naming the path meant. Taken as a path, it was made relative to the config file's
 * directory and the agent refused to start for a directory `…/unix:` that does not exist.
 */
function refuseTarget(path: string, what: string): void {
  const at = path.search(/(^|\/)unix:/i);
  if (at < 0) return;
  const meant = `/${path.slice(path.indexOf(':', at) + 1).replace(/^\/+/, '')}`;
  throw new AppError('CONFIG_INVALID', `${what} ${path}: holds "unix:", as a gRPC target does: expected the socket file's path, e.g. ${meant} (clients connect to unix://${meant})`);
}

/** True when a process accepts connections on `path` (then it is not ours to remove). */
function live(path: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const done = (v: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(v);
    };
    // A listener that does not accept within the deadline is alive but busy: never remove it.
    const timer = setTimeout(() => done(true), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', (err: NodeJS.ErrnoException) => done(err.code !== 'ECONNREFUSED' && err.code !== 'ENOENT'));
  });
}

/** Removes a stale socket file at `path`; refuses a live socket or anything that is not a socket. */
export async function clearStaleSocket(path: string, what: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!st.isSocket()) throw new AppError('CONFIG_INVALID', `${what} ${path} exists and is not a socket: expected a free path or a stale socket (it is left as it is)`);
  if (await live(path, 1000)) throw new AppError('CONFIG_INVALID', `${what} ${path} is in use by another live process: expected a free path (stop the other agent or choose another path)`);
  unlinkSync(path);
}

export interface UnixListenerOptions {
  path: string;
  /** Group owning the socket (name or gid); the process's own group when unset. */
  group?: string | undefined;
  /** The listener's api.maxConnections (./connection-cap.ts): node's cap and the listen backlog are its hardCap. */
  cap: Pick<ConnectionCap, 'hardCap' | 'watch'>;
  /** Names the socket in errors, e.g. "api.socket". */
  what: string;
}

/**
 * A net.Server on a Unix socket that hands every accepted connection, paused (nothing read yet: its
 * receiver resumes it once api.maxConnections gives it a slot, ./connection-cap.ts), to `onConnection`
 * (the REST server's or gRPC's), so the socket shares the TCP listener's handler and limits.
 */
export class UnixListener {
  private server: Server | undefined;
  private ino: number | undefined;

  constructor(private readonly opts: UnixListenerOptions, private readonly onConnection: (socket: Socket) => void) {}

  async start(): Promise<void> {
    const { path, what } = this.opts;
    refuseTarget(path, what);
    const bytes = Buffer.byteLength(path);
    if (bytes > MAX_SOCKET_PATH_BYTES) {
      throw new AppError('CONFIG_INVALID', `${what} ${path}: the path is ${bytes} bytes: expected at most ${MAX_SOCKET_PATH_BYTES} (the longest Unix socket path the system takes), e.g. /run/edgefleet/agent.sock`);
    }
    const gid = this.opts.group === undefined ? undefined : groupId(this.opts.group);
    await clearStaleSocket(path, what);
    const server = createServer({ pauseOnConnect: true }, (socket) => {
      (socket as Socket & { [VIA_UNIX_SOCKET]?: true })[VIA_UNIX_SOCKET] = true;
      this.onConnection(socket);
    });
    this.opts.cap.watch(server);
    // The file is created by bind(2) with the umask applied: no moment with wider permissions than 0660.
    const umask = process.umask(0o117);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        // As many as may be held queue in the kernel while the event loop is busy (a full backlog
        // refuses a connection on a Unix socket with EAGAIN at once).
        server.listen({ path, backlog: this.opts.cap.hardCap }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      // libuv reports a directory that does not exist as EACCES ("permission denied"): say which it is.
      const dir = dirname(path);
      const why = existsSync(dir) ? (err as Error).message : `directory ${dir} does not exist`;
      throw new AppError('CONFIG_INVALID', `${what} ${path}: cannot listen (${why}): expected a path in a directory the agent may write (under the systemd unit: /run/edgefleet)`, { cause: err });
    } finally {
      process.umask(umask);
    }
    this.server = server;
    this.ino = lstatSync(path).ino;
    chmodSync(path, SOCKET_MODE);
    if (gid === undefined) return;
    try {
      chownSync(path, -1, gid);
    } catch (err) {
      this.stop(); // not left listening, nor its file left behind
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new AppError('CONFIG_INVALID', `api.socketGroup "${this.opts.group}": cannot give ${what} ${path} to group ${gid} (${code}): expected a group the agent's user is a member of (or leave api.socketGroup unset for the agent's own group)`, { cause: err });
    }
  }

  get path(): string {
    return this.opts.path;
  }

  /**
   * Stops accepting and removes the socket file (only if it is still ours).
   * Synchronous: the connections belong to the server they were handed to, which drains them.
   */
  stop(): void {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.close();
    try {
      if (lstatSync(this.opts.path).ino === this.ino) unlinkSync(this.opts.path);
    } catch { /* already gone (libuv removes it when the listener closes) */ }
  }
}
