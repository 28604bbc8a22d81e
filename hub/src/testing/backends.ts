// The hub's database backends for tests (docs/decisions/0040-postgresql.md): the same repository
// tests run once on SQLite (hub.db in the test's temp dir) and once on PostgreSQL (a fresh database
// on the test run's cluster, or on this file's private one when there is none: testing/postgres.ts).
// `forEachBackend` declares a suite once per backend, with the cluster's hooks in its `postgres` describe;
// `backends()` at a test file's top level registers them there (such a file runs in a process of its own).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { attachPostgres, SHARED_PG_ENV, startPostgres, type PgCluster } from './postgres.js';

export type BackendName = 'sqlite' | 'postgres';

export interface Backend {
  name: BackendName;
  /**
   * Store.open's `database`: undefined (hub.db in the data dir) or a fresh PostgreSQL database's URL, with
   * the hub's migrations applied (a copy of a template migrated once per file: migrating costs ~0.5 s per
   * database), or none when `empty` (a test of migrations, or of a subset of them).
   */
  database(o?: { empty?: boolean }): string | undefined;
}

/** The migrated template on the test run's cluster (startSharedPostgres). */
const SHARED_TEMPLATE_ENV = 'EDGEFLEET_TEST_PG_TEMPLATE';

export function backends(): Backend[] {
  const pg = postgresBackend();
  before(pg.start);
  after(pg.stop);
  return [SQLITE, pg.backend];
}

const SQLITE: Backend = { name: 'sqlite', database: () => undefined };

/**
 * The PostgreSQL backend and the hooks that attach to the run's cluster (or start this file's own) and
 * detach (dropping this file's databases there) or stop it: registered at the top level by backends(),
 * in the `postgres` describe by forEachBackend.
 */
function postgresBackend(): { backend: Backend; start(): Promise<void>; stop(): Promise<void> } {
  let cluster: Pick<PgCluster, 'createDatabase' | 'stop'> | null = null;
  let template: string | null = null;
  return {
    async start() {
      const shared = process.env[SHARED_PG_ENV];
      cluster = shared ? attachPostgres(shared) : await startPostgres();
      if (shared) template = process.env[SHARED_TEMPLATE_ENV] ?? null;
    },
    async stop() {
      await cluster?.stop();
      cluster = null;
    },
    backend: {
      name: 'postgres',
      database: (o = {}) => {
        if (!cluster) throw new Error('the PostgreSQL cluster is not running: call backends() at the test file\'s top level, or use forEachBackend');
        if (o.empty) return cluster.createDatabase();
        template ??= migratedTemplate(cluster);
        return cluster.createDatabase({ template });
      },
    },
  };
}

/**
 * The same suite once per backend, in a describe named after it: `use(backend)` runs before the
 * suite's tests (set the file's current backend there), then `suite()` declares them. The cluster's
 * hooks are the `postgres` describe's, not the process's: such a file may share a process with others
 * (scripts/test-groups.mjs; docs/decisions/0158-pg-workers-reused-backend-files-share.md).
 */
export function forEachBackend(use: (backend: Backend) => void, suite: () => void): void {
  describe('sqlite', () => {
    before(() => use(SQLITE));
    suite();
  });
  describe('postgres', () => {
    const pg = postgresBackend();
    before(pg.start);
    after(pg.stop);
    before(() => use(pg.backend));
    suite();
  });
}

/**
 * The test run's cluster (scripts/test.mjs, when a file it runs calls backends()): started once, with a
 * migrated template, instead of an initdb, a server start and a migration per file (~1.5 s of CPU each).
 * `env` is what the test files' processes get; `stop` stops the server.
 */
export async function startSharedPostgres(): Promise<{ env: Record<string, string>; stop(): Promise<void> }> {
  // Two files at a time, each with its stores' connections and its admin one.
  const cluster = await startPostgres({ maxConnections: 100 });
  const template = migratedTemplate(cluster);
  return { env: { [SHARED_PG_ENV]: cluster.url(''), [SHARED_TEMPLATE_ENV]: template }, stop: () => cluster.stop() };
}

/** A database on `cluster` with HUB_MIGRATIONS applied and no connection left to it: its name. */
function migratedTemplate(cluster: Pick<PgCluster, 'createDatabase'>): string {
  const url = cluster.createDatabase();
  const dir = mkdtempSync(join(tmpdir(), 'ef-pg-template-'));
  try {
    Store.open(dir, HUB_MIGRATIONS, { database: url }).close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return new URL(url).pathname.slice(1);
}
