// hub.db table of remote agent configuration (migration 70, docs/hub.md "Agent configuration"): every
// version of every scope's document, kept (append-only in the code) so versions can be shown and diffed.
// A scope is "fleet", "tag/KEY=VALUE" or "device/ID"; its versions count up from 1.
import type { RemoteSettings, ReportedConfig } from '@edgefleet/shared';
import type { Db } from '../store/db.js';
import type { Migration } from '../store/migrations.js';

export const CONFIG_MIGRATION: Migration = {
  version: 70,
  name: 'agent configuration documents per scope, versioned',
  sql: `CREATE TABLE config_documents (
  scope TEXT NOT NULL,
  version INTEGER NOT NULL,
  settings TEXT NOT NULL,
  at TEXT NOT NULL,
  by TEXT NOT NULL,
  reason TEXT NOT NULL,
  PRIMARY KEY (scope, version)
);`,
};

export interface ConfigRow { scope: string; version: number; settings: RemoteSettings; at: string; by: string; reason: string }

type Raw = { scope: string; version: number; settings: string; at: string; by: string; reason: string };
const row = (r: Raw): ConfigRow => ({ ...r, settings: JSON.parse(r.settings) as RemoteSettings });

export class ConfigRepo {
  private readonly latestStmt;
  private readonly heldStmt;
  // tagsOf and any run for every desired document the hub signs, prepared once.
  private tagsStmt: ReturnType<Db['prepare']> | null = null;
  private anyStmt: ReturnType<Db['prepare']> | null = null;
  constructor(private readonly db: Db) {
    this.heldStmt = db.prepare(`SELECT r.config, d.notified_at FROM rollouts r LEFT JOIN rollout_devices d ON d.rollout_id = r.id AND d.device_id = ?
      WHERE r.state IN ('running', 'paused') AND r.model = ? AND r.config IS NOT NULL LIMIT 1`);
    this.latestStmt = db.prepare('SELECT scope, version, settings, at, by, reason FROM config_documents WHERE scope = ? ORDER BY version DESC LIMIT 1');
  }

  /** The newest version of a scope's document, or undefined when it was never set. */
  latest(scope: string): ConfigRow | undefined {
    const r = this.latestStmt.get(scope) as Raw | undefined;
    return r ? row(r) : undefined;
  }

  /** The newest version of every scope's document. */
  latestEach(): ConfigRow[] {
    const rows = this.db.prepare(`SELECT c.scope, c.version, c.settings, c.at, c.by, c.reason FROM config_documents c
      WHERE c.version = (SELECT MAX(n.version) FROM config_documents n WHERE n.scope = c.scope) ORDER BY c.scope`).all() as Raw[];
    return rows.map(row);
  }

  version(scope: string, version: number): ConfigRow | undefined {
    const r = this.db.prepare('SELECT scope, version, settings, at, by, reason FROM config_documents WHERE scope = ? AND version = ?').get(scope, version) as Raw | undefined;
    return r ? row(r) : undefined;
  }

  /** Stores the next version of a scope's document; returns its number. Run it in the caller's transaction. */
  put(scope: string, settings: RemoteSettings, by: string, reason: string, at: Date): number {
    const version = (this.latest(scope)?.version ?? 0) + 1;
    this.db.prepare('INSERT INTO config_documents (scope, version, settings, at, by, reason) VALUES (?, ?, ?, ?, ?, ?)')
      .run(scope, version, JSON.stringify(settings), at.toISOString(), by, reason);
    return version;
  }

  /** A device's tags, without building its whole DeviceInfo (desired documents are issued in batches). */
  tagsOf(deviceId: string): Record<string, string> {
    const r = (this.tagsStmt ??= this.db.prepare('SELECT tags FROM devices WHERE id = ?')).get(deviceId) as { tags: string } | undefined;
    return r ? (JSON.parse(r.tags) as Record<string, string>) : {};
  }

  /** What the device last reported about its configuration (the devices table's reported state). */
  reportedConfig(deviceId: string): ReportedConfig | undefined {
    // Parsed here, not with json_extract: the same SQL on SQLite and PostgreSQL (docs/decisions/0040-postgresql.md).
    const r = this.db.prepare('SELECT reported FROM devices WHERE id = ?').get(deviceId) as { reported: string | null } | undefined;
    const c = r?.reported ? (JSON.parse(r.reported) as { config?: ReportedConfig | null }).config : undefined;
    return c ?? undefined;
  }

  /**
   * The version of `scope` a device is held at by a running or paused configuration rollout of that scope
   * it has not been told of yet (0: no document), or undefined when none holds it (decision 0045).
   */
  heldVersion(scope: string, deviceId: string): number | undefined {
    const r = this.heldStmt.get(deviceId, `config:${scope}`) as { config: string; notified_at: string | null } | undefined;
    if (!r || r.notified_at !== null) return undefined;
    return (JSON.parse(r.config) as { fromVersion: number }).fromVersion;
  }

  /**
   * The scopes that have a document, and those a running or paused configuration rollout holds (heldVersion's rollouts):
   * read once for the devices of one call (ConfigService.desiredReader).
   */
  scopes(): { documents: Set<string>; held: Set<string> } {
    const documents = this.db.prepare('SELECT DISTINCT scope FROM config_documents').pluck(true).all() as string[];
    const held = this.db.prepare("SELECT model FROM rollouts WHERE state IN ('running', 'paused') AND config IS NOT NULL").pluck(true).all() as string[];
    return { documents: new Set(documents), held: new Set(held.filter((m) => m.startsWith('config:')).map((m) => m.slice('config:'.length))) };
  }

  /** Whether any document was ever set (a hub without any sends no configuration in desired documents). */
  any(): boolean {
    return (this.anyStmt ??= this.db.prepare('SELECT 1 FROM config_documents LIMIT 1')).get() !== undefined;
  }
}
