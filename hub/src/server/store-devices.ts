// The devices `edgefleet-hub mosquitto-config` writes (mqtt/mosquitto-config.ts), read from the hub's store;
// imported only when that command runs with --data-dir (main.ts).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '@edgefleet/shared';
import { UsageError } from '@edgefleet/shared/cli';
import { Store } from '../store/index.js';
import { isPostgresUrl } from '../store/db.js';
import { HUB_MIGRATIONS } from '../schema.js';

/**
 * The devices of the hub in `dataDir` (none without one), for mosquitto-config: from its hub.db, or from
 * `database` for a hub on PostgreSQL. Never creates either: a new, empty hub.db would list no device (and
 * a later `backup` would copy it as though it were the hub's).
 */
export function storeDevices(dataDir: string | undefined, database?: string): Array<{ id: string }> {
  if (database !== undefined && !isPostgresUrl(database)) throw new UsageError(`--database ${database}: expected a PostgreSQL URL, postgres://USER[:PASSWORD]@HOST:PORT/DB`);
  if (!dataDir) {
    if (database !== undefined) throw new UsageError('--database needs --data-dir: the hub\'s data directory');
    return [];
  }
  if (!existsSync(dataDir)) throw new AppError('NOT_FOUND', `--data-dir ${dataDir} does not exist: expected the hub's data directory`);
  if (database === undefined && !existsSync(join(dataDir, 'hub.db'))) {
    throw new AppError('NOT_FOUND', `--data-dir ${dataDir} holds no hub.db: expected the data directory of a hub on SQLite, or for a hub run with --database that URL too (--database postgres://…)`);
  }
  const store = Store.open(dataDir, HUB_MIGRATIONS, database === undefined ? {} : { database });
  try {
    return store.devices.list().filter((d) => !d.revoked).map((d) => ({ id: d.id }));
  } finally {
    store.close();
  }
}
