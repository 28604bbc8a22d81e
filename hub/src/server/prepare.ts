// What the hub does before it starts any part (hub.ts start, first-start.ts): it refuses a data dir, files
// or a trust document it cannot start on before anything is created or waited for (start-checks.ts), checks
// the content-key keystore, opens the store (waiting for PostgreSQL), then makes the keystore's file when
// there is none, loads its identity (hub key, trust and the versions before it, the admin token) and checks
// the agents' configured outbox against the MQTT limit. Right after the store opens, `claim` waits for or refuses another hub on the database
// (cluster/claim.ts).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TrustDocument } from '@edgefleet/shared';
import type { HubConfig } from '../config.js';
import type { LoggerPort } from '../mqtt/ports.js';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { KEYSTORE_FILE, Keystore } from '../sealing/keystore.js';
import { ConfigRepo } from '../config/repo.js';
import { checkOutboxAtStart } from '../config/payload-limit.js';
import { openStoreWaiting } from './open-store.js';
import type { ClaimKeeper } from '../cluster/claim.js';
import { ensureAdminToken, loadHubKey, loadTrust, type Identity } from './first-start.js';
import { refuseBeforeCreating } from './start-checks.js';

export interface Prepared extends Identity {
  store: Store;
  keystore: Keystore;
  /** The trust versions before the current one, oldest first (published with it). */
  trustChain: TrustDocument[];
  /** What `claim` returned: renews a single hub's lease until its HubLease does. */
  claim: ClaimKeeper;
}

/**
 * The steps in order; a step that throws after the store opened closes it. `hubId`: several hubs share
 * the database (server/cluster.ts); `rollups`: HubInternals.rollups.
 */
export async function prepareHub(cfg: HubConfig, o: { hubId: string | null; logger: LoggerPort; now: () => Date; rollups?: boolean | undefined; claim: (store: Store) => Promise<ClaimKeeper> }): Promise<Prepared> {
  // Before anything is created in the data dir or waited for: what the command line and its files can tell.
  await refuseBeforeCreating(cfg, o.now());
  // Sealed models' content keys are wrapped by DATA/content-keys.key or the contentKeys file (the same on
  // every hub of one database). One that exists, or is named and missing, is checked here, before anything is
  // created; a new DATA/content-keys.key is made only once the store opened, so a start refused on its
  // database (an empty hub.db, docs/decisions/0151-agent-db-made-whole-before-named.md) leaves the data dir as it was.
  let keystore = cfg.contentKeys !== undefined || existsSync(join(cfg.dataDir, KEYSTORE_FILE)) ? Keystore.open(cfg.dataDir, cfg.contentKeys) : null;
  const store = await openStoreWaiting(() => Store.open(cfg.dataDir, HUB_MIGRATIONS, { database: cfg.database, statementTimeoutMs: cfg.databaseStatementTimeoutMs, shared: o.hubId !== null, rollupsOnIngest: o.rollups, logger: o.logger }),
    { waitMs: cfg.databaseWaitMs, logger: o.logger });
  let claim: ClaimKeeper | null = null;
  try {
    // Before anything else is read or written: one hub per database unless all run in cluster mode.
    claim = await o.claim(store);
    keystore ??= Keystore.open(cfg.dataDir, cfg.contentKeys);
    const hubKey = await loadHubKey(cfg);
    const t = loadTrust(cfg, hubKey, o.now());
    const newAdminToken = ensureAdminToken(cfg, store, o.now());
    // Before any device connects: a limit below what the agents are configured to send jams their outboxes.
    checkOutboxAtStart(new ConfigRepo(store.db).latestEach(), cfg.maxPayloadBytes);
    return { store, keystore, hubKey, trustDoc: t.trustDoc, trust: t.trust, trustChain: t.chain, newAdminToken, claim };
  } catch (err) {
    claim?.release();
    store.close();
    throw err;
  }
}
