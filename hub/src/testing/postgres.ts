// A private PostgreSQL cluster for tests and benches (docs/decisions/0040-postgresql.md): Debian's
// postgresql 15 binaries, initdb in a temp dir, the server on a free 127.0.0.1 port with its unix
// socket in that dir, run as the `postgres` user when we are root. One cluster per test file; a fresh
// database per test (createDatabase). PostgreSQL missing is an error naming the package, never a skip.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PgDb } from '../store/pg/facade.js';
import { hostsslOnly, makeServerTls, sslSettings, type PgTlsFiles } from './pg-tls.js';

/** EDGEFLEET_PG_BIN, else the newest /usr/lib/postgresql/N/bin (Debian's layout; 15 on bookworm). */
function pgBin(): string {
  const env = process.env['EDGEFLEET_PG_BIN'];
  if (env) return env;
  let majors: number[] = [];
  try { majors = readdirSync('/usr/lib/postgresql').map(Number).filter((n) => Number.isInteger(n)).sort((a, b) => b - a); } catch { /* not installed */ }
  return `/usr/lib/postgresql/${majors[0] ?? 15}/bin`;
}

export interface PgStartOptions {
  /** The `edgefleet` user's password, asked for by the server (scram-sha-256); default: none asked. */
  password?: string;
  /** The server's max_connections (default 50: one test file's stores). */
  maxConnections?: number;
  /**
   * TLS with a certificate for 127.0.0.1 signed by a CA made for this cluster (testing/pg-tls.ts); `only`:
   * plain TCP connections are refused (hostssl in pg_hba.conf). url() then carries sslmode=verify-full and sslrootcert.
   */
  tls?: { only?: boolean };
}

export interface PgCluster {
  /** postgres://edgefleet[:PASSWORD]@127.0.0.1:PORT/NAME, with ?sslmode=verify-full&sslrootcert=CA when started with `tls`. */
  url(database: string): string;
  /** The CA and server certificate of a cluster started with `tls`. */
  tls?: PgTlsFiles;
  /** Creates an empty database, or a copy of `template` (a database on this cluster no one is connected to), and returns its URL. */
  createDatabase(o?: { template?: string }): string;
  /** Stops the server and keeps its data, as an operator's `pg_ctl stop` (open connections are dropped). */
  down(): Promise<void>;
  /** Starts it again on the same port after `down`. */
  up(): Promise<void>;
  /**
   * SIGSTOPs the server and its backends: connections stay open and new ones are accepted by the
   * kernel, but nothing answers (a hung server, or packets dropped). `thaw` sends SIGCONT.
   */
  freeze(): void;
  thaw(): void;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** Sends `sig` to the postmaster of the cluster in `data` (its postmaster.pid), then to its backends. */
function signalServer(data: string, sig: 'SIGSTOP' | 'SIGCONT'): void {
  const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no postmaster pid in ${join(data, 'postmaster.pid')}`);
  process.kill(pid, sig);
  const children = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
  for (const c of children) {
    try { process.kill(c, sig); } catch { /* a backend that exited meanwhile */ }
  }
}

function owner(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string): number => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  if (!Number.isInteger(uid) || uid <= 0) throw new Error('running as root, PostgreSQL needs the `postgres` user (Debian\'s postgresql package creates it)');
  return { uid, gid: id('-g') };
}

/**
 * Starts a cluster, trying up to 3 times: the free port is only free when we look (another test file's
 * server can take it before postgres binds), and on a loaded 2-core box a start can miss its deadline.
 * The error after the last try names every attempt's failure.
 */
export async function startPostgres(opts: PgStartOptions = {}): Promise<PgCluster> {
  const BIN = pgBin();
  if (!existsSync(join(BIN, 'initdb'))) {
    throw new Error(`PostgreSQL is not installed (no ${join(BIN, 'initdb')}): install Debian's postgresql package (apt-get install postgresql; .ci/run does) or set EDGEFLEET_PG_BIN to its bin directory`);
  }
  const failures: string[] = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return await startOnce(BIN, opts);
    } catch (err) {
      failures.push(`attempt ${attempt}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new Error(`PostgreSQL did not start in 3 attempts:\n${failures.join('\n')}`);
}

async function startOnce(BIN: string, o: PgStartOptions): Promise<PgCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'ef-pg-'));
  const as = owner();
  if (as) chownSync(dir, as.uid, as.gid);
  const opts = { ...(as ?? {}), cwd: dir };
  const data = join(dir, 'data');
  let auth = ['--auth=trust'];
  if (o.password !== undefined) {
    const pwfile = join(dir, 'pwfile');
    writeFileSync(pwfile, `${o.password}\n`, { mode: 0o600 });
    if (as) chownSync(pwfile, as.uid, as.gid);
    auth = ['--auth=scram-sha-256', `--pwfile=${pwfile}`];
  }
  const init = spawnSync(join(BIN, 'initdb'), ['-D', data, '-U', 'edgefleet', ...auth, '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'], { ...opts, encoding: 'utf8', timeout: 60_000 });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status ?? init.signal}): ${init.stderr}`);
  }
  let tls: PgTlsFiles | undefined;
  try {
    tls = o.tls ? makeServerTls(dir, as) : undefined;
    if (o.tls?.only) writeFileSync(join(data, 'pg_hba.conf'), hostsslOnly(o.password === undefined ? 'trust' : 'scram-sha-256'));
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const port = await freePort();
  // Through a shell that stops the server when its stdin closes: when this process dies without
  // running stop() (a killed test file), the pipe closes and the server goes too, then its dir ($6).
  // The lines `down` and `up` on its stdin stop and start the server (down()/up()).
  const script = '"$0" "$@" & pid=$!; while read cmd; do '
    + 'if [ "$cmd" = down ]; then kill -INT $pid; wait $pid; echo "ef-pg: down" >&2; fi; '
    + 'if [ "$cmd" = up ]; then "$0" "$@" & pid=$!; fi; done; kill -INT $pid 2>/dev/null; wait $pid; rm -rf "$6"';
  const server: ChildProcess = spawn('sh', ['-c', script, join(BIN, 'postgres'), '-D', data, '-p', String(port), '-k', dir,
    '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', `max_connections=${o.maxConnections ?? 50}`, ...(tls ? sslSettings(tls) : [])], { ...opts, stdio: ['pipe', 'ignore', 'pipe'] });
  let log = '';
  server.stderr?.on('data', (b: Buffer) => { log = (log + b.toString()).slice(-65_536); });
  /** Resolves when the server's log shows `line` from now on, within 60 s. */
  const logged = (line: string): Promise<void> => new Promise<void>((resolve, reject) => {
    let since = '';
    const onData = (b: Buffer): void => {
      since = (since + b.toString()).slice(-4096);
      if (!since.includes(line)) return;
      done();
      resolve();
    };
    const onExit = (code: number | null): void => { done(); reject(new Error(`PostgreSQL exited (${code}) before its log said "${line}": ${log}`)); };
    const timer = setTimeout(() => { done(); reject(new Error(`PostgreSQL's log did not say "${line}" within 60 s: ${log}`)); }, 60_000);
    const done = (): void => {
      clearTimeout(timer);
      server.stderr?.off('data', onData);
      server.off('exit', onExit);
    };
    server.stderr?.on('data', onData);
    server.once('exit', onExit);
  });
  await logged('ready to accept connections').catch((err: unknown) => {
    server.stdin?.end();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  const user = o.password === undefined ? 'edgefleet' : `edgefleet:${encodeURIComponent(o.password)}`;
  const query = tls ? `?sslmode=verify-full&sslrootcert=${tls.ca}` : '';
  const url = (database: string): string => `postgres://${user}@127.0.0.1:${port}/${database}${query}`;
  const databases = databasesOn(url);
  return {
    url,
    ...(tls ? { tls } : {}),
    createDatabase: (o) => databases.create(o),
    async down() {
      const stopped = logged('ef-pg: down');
      server.stdin?.write('down\n');
      await stopped;
    },
    async up() {
      const ready = logged('ready to accept connections');
      server.stdin?.write('up\n');
      await ready;
    },
    freeze() {
      signalServer(data, 'SIGSTOP');
    },
    thaw() {
      signalServer(data, 'SIGCONT');
    },
    async stop() {
      databases.close();
      if (server.exitCode === null && server.signalCode === null) {
        const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
        server.stdin?.end();
        const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
/** Databases this process created, on any cluster: their names' numbers. */
let made = 0;

/** Creates databases on a running cluster, named after this process, through one connection. */
function databasesOn(url: (database: string) => string): { create(o?: { template?: string }): string; dropAll(): void; close(): void } {
  const names: string[] = [];
  // One connection for every CREATE DATABASE: each PgDb starts a worker thread (~0.3 s).
  let admin: PgDb | null = null;
  return {
    create(o = {}) {
      const name = `t${process.pid}_${++made}`;
      admin ??= new PgDb(url('postgres'));
      if (o.template === undefined) admin.exec(`CREATE DATABASE ${name}`);
      else copyDatabase(admin, name, o.template);
      names.push(name);
      return url(name);
    },
    dropAll() {
      for (const name of names.splice(0)) admin?.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
    close() {
      admin?.close();
      admin = null;
    },
  };
}

/** The test run's cluster (scripts/test.mjs): postgres://USER@127.0.0.1:PORT/ in EDGEFLEET_TEST_PG_URL. */
export const SHARED_PG_ENV = 'EDGEFLEET_TEST_PG_URL';

/**
 * A cluster another process started (the test run's, SHARED_PG_ENV), for creating databases only:
 * `stop` drops the databases this process created there (a file's tests leave no gigabytes behind
 * for the rest of the run) and closes its connection; the cluster goes on.
 */
export function attachPostgres(base: string): Pick<PgCluster, 'url' | 'createDatabase' | 'stop'> {
  const url = (database: string): string => new URL(database, base).href;
  const databases = databasesOn(url);
  return {
    url,
    createDatabase: (o) => databases.create(o),
    stop() {
      try {
        databases.dropAll();
      } finally {
        databases.close();
      }
      return Promise.resolve();
    },
  };
}

/**
 * CREATE DATABASE NAME TEMPLATE FROM. PostgreSQL refuses while a session is connected to the template,
 * and a closed connection's backend can take a moment to go: tried again for up to 10 s.
 */
function copyDatabase(admin: PgDb, name: string, from: string): void {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      admin.exec(`CREATE DATABASE ${name} TEMPLATE ${from}`);
      return;
    } catch (err) {
      if (!/being accessed by other users/.test(String(err)) || Date.now() > deadline) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }
}

export { PgDb } from '../store/pg/facade.js';
export { makeCa } from './pg-tls.js';
