// The hub's database backends for tests (docs/decisions/0040-postgresql.md): the same repository
// tests run once on SQLite (hub.db in the test's temp dir) and once on PostgreSQL (a fresh database
// on this file's private cluster, testing/postgres.ts). Call `backends()` at a test file's top level:
// it registers the hooks that start and stop the cluster.
import { after, before, describe } from 'node:test';
import { startPostgres, type PgCluster } from './postgres.js';

export type BackendName = 'sqlite' | 'postgres';

export interface Backend {
  name: BackendName;
  /** Store.open's `database`: undefined (hub.db in the data dir) or a fresh PostgreSQL database's URL. */
  database(): string | undefined;
}

export function backends(): Backend[] {
  let cluster: PgCluster | null = null;
  before(async () => {
    cluster = await startPostgres();
  });
  after(async () => {
    await cluster?.stop();
  });
  return [
    { name: 'sqlite', database: () => undefined },
    {
      name: 'postgres',
      database: () => {
        if (!cluster) throw new Error('the PostgreSQL cluster is not running: call backends() at the test file\'s top level');
        return cluster.createDatabase();
      },
    },
  ];
}

/**
 * The same suite once per backend, in a describe named after it: `use(backend)` runs before the
 * suite's tests (set the file's current backend there), then `suite()` declares them.
 */
export function forEachBackend(use: (backend: Backend) => void, suite: () => void): void {
  for (const b of backends()) {
    describe(b.name, () => {
      before(() => use(b));
      suite();
    });
  }
}
