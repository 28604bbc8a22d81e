// Schema for fleet sync (deployments, per-device deployment status, device windows and events):
// hub migration 3, registered with the store's by the composition root (see hub/src/schema.ts).
import type { Migration } from '../store/migrations.js';

export const SYNC_MIGRATION_SQL = `
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
`;

export const SYNC_MIGRATION: Migration = { version: 3, name: 'deployments, device windows and events', sql: SYNC_MIGRATION_SQL };
