// The hub's store: hub.db with one repository per aggregate, and the blob files.
import { join } from 'node:path';
import { WalKeeper, ensurePrivateDir, type WalKeeperOptions } from '@edgefleet/shared';
import { isPostgresUrl, migrationLog, openDb, openPgDb, type Db, type OpenDbOptions } from './db.js';
import { PgDb } from './pg/facade.js';
import type { Migration } from './migrations.js';
import { DevicesRepo } from './devices-repo.js';
import { EnrollmentRepo } from './enrollment-repo.js';
import { TokensRepo } from './tokens-repo.js';
import { ModelsRepo } from './models-repo.js';
import { DesiredRepo } from './desired-repo.js';
import { AuditRepo } from './audit-repo.js';
import { DeploymentsRepo } from './deployments-repo.js';
import { RemovalsRepo } from './removals-repo.js';
import { TelemetryRepo } from './telemetry-repo.js';
import { RolloutsRepo } from './rollouts-repo.js';
import { BlobStore } from './blobs.js';
import { RollupsRepo } from './rollups-repo.js';
import { StoredBytesRepo } from './stored-bytes.js';
import { DriftRepo } from '../drift/repo.js';
import { AlertsRepo } from '../alerts/repo.js';
import { ShadowsRepo } from './shadows-repo.js';

export interface StoreOptions {
  /**
   * false: windows are stored without updating their rollups. Only for the ingest bench's baseline
   * (docs/performance.md "Rollups on vs off"); a hub so run answers rollup queries without them.
   */
  rollupsOnIngest?: boolean | undefined;
  /** Told when hub.db's WAL cannot be truncated behind a reader, and when it is again (WalKeeper). */
  logger?: WalKeeperOptions['logger'];
  /** How often hub.db's WAL size is checked (default 10 s; tests). */
  walIntervalMs?: number | undefined;
}

export class Store {
  readonly db: Db;
  readonly devices: DevicesRepo;
  readonly enrollment: EnrollmentRepo;
  readonly tokens: TokensRepo;
  readonly models: ModelsRepo;
  readonly desired: DesiredRepo;
  readonly audit: AuditRepo;
  readonly deployments: DeploymentsRepo;
  /** Models taken off devices by an undeploy or a re-tag (decision 0066). */
  readonly removals: RemovalsRepo;
  readonly telemetry: TelemetryRepo;
  readonly rollouts: RolloutsRepo;
  readonly blobs: BlobStore;
  /** Hourly and daily rollups per model version and device (docs/decisions/0023-rollups.md). */
  readonly rollups: RollupsRepo;
  /** Each device's stored bytes, window expiry and eviction (stored-bytes.ts). */
  readonly stored: StoredBytesRepo;
  /** Drift reports and per-model thresholds (docs/drift.md). */
  readonly drift: DriftRepo;
  /** Alert rules, alerts and webhook deliveries (docs/drift.md "Alerts"). */
  readonly alerts: AlertsRepo;
  /** Candidates devices run in shadow (docs/rollouts.md "Shadow stage"). */
  readonly shadows: ShadowsRepo;
  private closed = false;
  /** hub.db's WAL back to zero once a long reader has gone (docs/hub.md "Database"); none on PostgreSQL. */
  private wal: WalKeeper | null = null;

  /**
   * Opens (creating if needed) DATA/hub.db and applies pending `migrations` (the program's whole list).
   * DATA is made 0700 and hub.db (with -wal/-shm) 0600, tightening looser modes (docs/hub.md "Database").
   * With `database` (postgres://user@host:port/db) the tables live in PostgreSQL instead and DATA keeps
   * the blobs (docs/hub.md "Database"). `shared`: other hub processes use the same hub.db (db.ts OpenDbOptions).
   */
  static open(dataDir: string, migrations: readonly Migration[], opts: OpenDbOptions & StoreOptions & { database?: string | undefined; statementTimeoutMs?: number | undefined } = {}): Store {
    ensurePrivateDir(dataDir);
    const onMigration = migrationLog(opts.logger);
    if (opts.database !== undefined && isPostgresUrl(opts.database)) return new Store(openPgDb(opts.database, migrations, opts.statementTimeoutMs === undefined ? {} : { statementTimeoutMs: opts.statementTimeoutMs }, onMigration), dataDir, opts);
    const file = opts.database ?? join(dataDir, 'hub.db'); // made 0600, and whole before it has its name (db.ts openDb)
    const store = new Store(openDb(file, migrations, { shared: opts.shared ?? false, onMigration }), dataDir, opts);
    store.wal = new WalKeeper({ db: store.db, label: 'hub.db', logger: opts.logger, intervalMs: opts.walIntervalMs });
    store.wal.start();
    return store;
  }

  constructor(db: Db, readonly dataDir: string, opts: StoreOptions = {}) {
    this.db = db;
    this.devices = new DevicesRepo(this.db);
    this.enrollment = new EnrollmentRepo(this.db);
    this.tokens = new TokensRepo(this.db);
    this.models = new ModelsRepo(this.db);
    this.desired = new DesiredRepo(this.db);
    this.audit = new AuditRepo(this.db);
    this.deployments = new DeploymentsRepo(this.db);
    this.removals = new RemovalsRepo(this.db);
    this.rollouts = new RolloutsRepo(this.db);
    this.blobs = new BlobStore(this.db, dataDir);
    this.rollups = new RollupsRepo(this.db);
    // Windows and their rollups commit in one transaction (docs/decisions/0023-rollups.md).
    this.stored = new StoredBytesRepo(this.db);
    this.telemetry = new TelemetryRepo(this.db, opts.rollupsOnIngest === false ? null : this.rollups, this.stored);
    this.drift = new DriftRepo(this.db);
    this.alerts = new AlertsRepo(this.db);
    this.shadows = new ShadowsRepo(this.db);
  }

  /**
   * After rows were deleted with secure_delete (withSecureDelete; purged captures, docs/hub.md "Data
   * capture") and committed: hub.db's WAL is truncated now, or once a reader holding it has gone, so
   * the frames written before no longer hold their content. Nothing on PostgreSQL.
   */
  wipeWal(): void {
    this.wal?.truncateSoon();
  }

  /**
   * No statement waits more than `ms` from now, nor starts later (the hub's stop, docs/hub.md "Stopping").
   * Only PostgreSQL waits on something but the disk.
   */
  finishWithin(ms: number): void {
    if (this.db instanceof PgDb) this.db.finishBy(performance.now() + ms);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.wal?.stop();
    this.db.close();
  }
}

export type { Db } from './db.js';
export type { Migration } from './migrations.js';
