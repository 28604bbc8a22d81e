// Numbered schema migrations of hub.db, applied in order at start (store/db.ts).
// Never edit a released migration: add a new one. The audit table has no UPDATE
// or DELETE anywhere in the code; triggers enforce that it is append-only.
// These are the store's own (1-4: registry, deployments, device windows and events, audit); other parts
// export theirs (ingest clock offsets: 5) and the composition root (server/hub.ts via ../schema.ts)
// passes the whole list to Store.open.
export interface Migration {
  version: number;
  name: string;
  /** SQLite's dialect; translated for PostgreSQL (docs/decisions/0040-postgresql.md) unless `postgres` is given. */
  sql: string;
  /** PostgreSQL's own SQL, only where `sql` cannot be translated (store/pg/dialect.ts refuses it). */
  postgres?: string;
}

export const STORE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'devices, tokens, audit',
    sql: `
      CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        secret_hash TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT '{}',
        facts TEXT,
        revoked_at TEXT,
        created_at TEXT NOT NULL
      );
      CREATE TABLE enrollment_tokens (
        id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        tags TEXT NOT NULL DEFAULT '{}',
        expires_at TEXT NOT NULL,
        max_uses INTEGER NOT NULL,
        uses INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL
      );
      CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        revoked_at TEXT
      );
      CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        reason TEXT,
        details TEXT NOT NULL DEFAULT 'null'
      );
      CREATE INDEX audit_at ON audit(at);
      CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
      CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
    `,
  },
  {
    version: 2,
    name: 'registry, blobs, desired state, presence',
    sql: `
      ALTER TABLE devices ADD COLUMN last_seen TEXT;
      ALTER TABLE devices ADD COLUMN online INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE devices ADD COLUMN reported TEXT;
      ALTER TABLE enrollment_tokens ADD COLUMN note TEXT;
      CREATE TABLE blobs (
        sha256 TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE TABLE model_versions (
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        manifest TEXT NOT NULL,
        manifest_sha256 TEXT NOT NULL,
        signatures TEXT NOT NULL,
        bundle_sha256 TEXT NOT NULL REFERENCES blobs(sha256),
        bundle_size INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        pushed_by TEXT NOT NULL,
        deprecated_at TEXT,
        deprecated_reason TEXT,
        PRIMARY KEY (name, version)
      );
      CREATE TABLE device_models (
        device_id TEXT NOT NULL REFERENCES devices(id),
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        status TEXT NOT NULL,
        PRIMARY KEY (device_id, name, version)
      );
      CREATE INDEX device_models_by_model ON device_models(name, version);
      CREATE TABLE desired_documents (
        device_id TEXT NOT NULL REFERENCES devices(id),
        seq INTEGER NOT NULL,
        document TEXT NOT NULL,
        issued_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        PRIMARY KEY (device_id, seq)
      );
    `,
  },
  {
    // Deployments with each device's status, and the windows and events devices upload
    // (store/deployments-repo.ts, store/telemetry-repo.ts).
    version: 3,
    name: 'deployments, device windows and events',
    sql: `
      CREATE TABLE deployments (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        target TEXT NOT NULL,
        reason TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE TABLE deployment_devices (
        deployment_id INTEGER NOT NULL REFERENCES deployments(id),
        device_id TEXT NOT NULL REFERENCES devices(id),
        status TEXT NOT NULL,
        progress REAL,
        reason TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (deployment_id, device_id)
      );
      CREATE INDEX deployment_devices_by_device ON deployment_devices(device_id);
      CREATE TABLE device_windows (
        device_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        start TEXT NOT NULL,
        length_sec INTEGER NOT NULL,
        count INTEGER NOT NULL,
        window TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (device_id, seq)
      );
      CREATE INDEX device_windows_by_model ON device_windows(model, version, start);
      CREATE TABLE device_events (
        device_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        model TEXT,
        version TEXT,
        code TEXT,
        message TEXT NOT NULL,
        event TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (device_id, seq)
      );
      CREATE INDEX device_events_by_at ON device_events(at);
    `,
  },
  {
    // Token names were not unique, so the audit actor alone could not say which token acted
    // (docs/hub.md "Database"). Adding a column fires no UPDATE trigger: the log stays append-only.
    version: 4,
    name: 'audit actor id',
    sql: `ALTER TABLE audit ADD COLUMN actor_id TEXT;`,
  },
];
