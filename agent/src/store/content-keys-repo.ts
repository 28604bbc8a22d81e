// Content keys of encrypted bundles, as they arrived: sealed to this box's device key (from a desired
// document, or `edgefleet-agent install --key`). Stored sealed, so agent.db holds nothing that opens a
// model without DATA/device-key.json; opened in memory when a version loads (install/content-key.ts).
import type { SealedKey } from '@edgefleet/shared/core';
import type { Db, Migration } from './db.js';

export const contentKeysMigration: Migration = {
  id: 500,
  name: 'sealed content keys of encrypted bundles',
  up(db) {
    db.exec('CREATE TABLE content_keys (key_id TEXT PRIMARY KEY, sealed TEXT NOT NULL, added_at TEXT NOT NULL)');
  },
};

export class ContentKeysRepo {
  constructor(private readonly db: Db) {}

  /** Keeps the latest sealed copy of a content key (a re-sealed one replaces the old). */
  put(sealed: SealedKey, at: Date = new Date()): void {
    this.db
      .prepare('INSERT INTO content_keys (key_id, sealed, added_at) VALUES (?, ?, ?) ON CONFLICT(key_id) DO UPDATE SET sealed = excluded.sealed, added_at = excluded.added_at')
      .run(sealed.keyId, JSON.stringify(sealed), at.toISOString());
  }

  get(keyId: string): SealedKey | undefined {
    const row = this.db.prepare('SELECT sealed FROM content_keys WHERE key_id = ?').get(keyId) as { sealed: string } | undefined;
    return row ? (JSON.parse(row.sealed) as SealedKey) : undefined;
  }
}
