// Keeps agent.db's write-ahead log small (docs/agent.md "Database"): openDb sets journal_size_limit,
// and the shared WalKeeper truncates the WAL from a timer once a long reader has gone.
import { WalKeeper as SharedWalKeeper, walBytes, type WalKeeperOptions as SharedOptions } from '@edgefleet/shared/core';
import type { Logger } from '../log.js';
import { JOURNAL_SIZE_LIMIT, type Db } from './db.js';

export { walBytes };

export interface WalKeeperOptions extends Omit<SharedOptions, 'db' | 'label' | 'logger'> {
  db: Db;
  logger?: Logger;
}

export class WalKeeper extends SharedWalKeeper {
  constructor(opts: WalKeeperOptions) {
    super({ ...opts, label: 'agent.db', thresholdBytes: opts.thresholdBytes ?? JOURNAL_SIZE_LIMIT });
  }
}
