// Where the hubs of a several-hubs scenario keep their shared state (docs/hub.md "Several hubs"): one
// data directory all hub processes share on this machine (the blob files, the hub key and admin token
// written by the first hub) with hub.db in it (WAL mode), or, given a PostgreSQL URL, the tables there.
import { join } from 'node:path';

export interface ClusterDatabase {
  /** Data directory of hub number `i` (the same one for every hub on SQLite). */
  dataDir(i: number): string;
  /** Hub config fields that point every hub at the shared database. */
  config: Record<string, unknown>;
  /** What the report says it ran on. */
  describe: string;
}

export function clusterDatabase(dir: string, postgresUrl?: string): ClusterDatabase {
  const shared = join(dir, 'hubs');
  if (postgresUrl) return { dataDir: () => shared, config: { database: postgresUrl }, describe: `one PostgreSQL database (${postgresUrl}), blobs in ${shared}` };
  return { dataDir: () => shared, config: {}, describe: `one SQLite file (WAL) at ${join(shared, 'hub.db')}` };
}
