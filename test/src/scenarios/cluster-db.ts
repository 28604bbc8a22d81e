// Where the hubs of a several-hubs scenario keep their shared state (docs/hub.md "Several hubs"). Today:
// one data directory all hub processes share on this machine (hub.db in WAL mode, the blob files, the
// hub key and admin token written by the first hub). To run the same scenario on PostgreSQL, change
// only this helper: return the database URL in `config` (and a shared blob directory).
import { join } from 'node:path';

export interface ClusterDatabase {
  /** Data directory of hub number `i` (the same one for every hub on SQLite). */
  dataDir(i: number): string;
  /** Hub config fields that point every hub at the shared database. */
  config: Record<string, unknown>;
  /** What the report says it ran on. */
  describe: string;
}

export function clusterDatabase(dir: string): ClusterDatabase {
  const shared = join(dir, 'hubs');
  return { dataDir: () => shared, config: {}, describe: `one SQLite file (WAL) at ${join(shared, 'hub.db')}` };
}
