// The hub's database backends for tests (docs/decisions/0040-postgresql.md): the same repository
// tests run once on SQLite (hub.db in the test's temp dir) and once on PostgreSQL (a fresh database
// on this file's private cluster, testing/postgres.ts). Call `backends()` at a test file's top level:
// it registers the hooks that start and stop the cluster.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { startPostgres, type PgCluster } from './postgres.js';

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

export function backends(): Backend[] {
  let cluster: PgCluster | null = null;
  let template: string | null = null;
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
      database: (o = {}) => {
        if (!cluster) throw new Error('the PostgreSQL cluster is not running: call backends() at the test file\'s top level');
        if (o.empty) return cluster.createDatabase();
        template ??= migratedTemplate(cluster);
        return cluster.createDatabase({ template });
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

/** A database on `cluster` with HUB_MIGRATIONS applied and no connection left to it: its name. */
function migratedTemplate(cluster: PgCluster): string {
  const url = cluster.createDatabase();
  const dir = mkdtempSync(join(tmpdir(), 'ef-pg-template-'));
  try {
    Store.open(dir, HUB_MIGRATIONS, { database: url }).close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return new URL(url).pathname.slice(1);
}
