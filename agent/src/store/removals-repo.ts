// Models the hub removed from this box (docs/decisions/0066-models-leave-a-box-by-an-explicit-removal.md,
// docs/agent.md "Removed models"), and who put each model's active version there (`origin`): `hub` when
// the updater activated it from a desired document, `local` for an install, activate or rollback on the
// box. A removal is acted on only for a `hub` model; while its row is here the model is not served, its
// versions' rows and files are kept until `keep_until`, and the local API answers MODEL_REMOVED.
import { AppError } from '@edgefleet/shared/core';
import type { Db, Migration } from './db.js';

export type Origin = 'hub' | 'local';

/**
 * Agent migration 202 (sync's range: it reads the applied desired document). A model active before it
 * is `hub` when the last applied desired document names it (the updater put it there, or would switch
 * it back), else `local`.
 */
export const removalsMigration: Migration = {
  id: 202,
  name: 'model origin and removals (decision 0066)',
  up(db) {
    db.exec(`
      ALTER TABLE active_models ADD COLUMN origin TEXT NOT NULL DEFAULT 'local';
      CREATE TABLE model_removals (
        name TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        reason TEXT NOT NULL,
        stopped_at TEXT NOT NULL,
        keep_until TEXT NOT NULL
      );
    `);
    const hasKv = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sync_kv'").get();
    const raw = hasKv ? (db.prepare("SELECT value FROM sync_kv WHERE key = 'desired'").get() as { value: string } | undefined)?.value : undefined;
    if (!raw) return;
    let names: unknown[] = [];
    try {
      const models = (JSON.parse(raw) as { signed?: { models?: Array<{ name?: unknown }> } }).signed?.models;
      names = Array.isArray(models) ? models.map((m) => m?.name) : [];
    } catch {
      return; // an unreadable document names nothing: every model stays `local`
    }
    const set = db.prepare("UPDATE active_models SET origin = 'hub' WHERE name = ?");
    for (const n of names) if (typeof n === 'string') set.run(n);
  },
};

/** A model the hub removed: the document and entry that said so, when serving stopped, until when its files stay. */
export interface Removal {
  name: string;
  /** The desired document's seq. */
  seq: number;
  /** When the operator removed it (the hub's clock, ISO). */
  at: string;
  reason: string;
  /** When this box stopped serving it (its clock, ISO). */
  stoppedAt: string;
  /** Until when the versions' rows and files are kept (its clock, ISO). */
  keepUntil: string;
}

interface Row { name: string; seq: number; at: string; reason: string; stopped_at: string; keep_until: string }
const toRemoval = (r: Row): Removal => ({ name: r.name, seq: r.seq, at: r.at, reason: r.reason, stoppedAt: r.stopped_at, keepUntil: r.keep_until });

export class RemovalsRepo {
  constructor(private readonly db: Db) {}

  get(name: string): Removal | undefined {
    const r = this.db.prepare('SELECT * FROM model_removals WHERE name = ?').get(name) as Row | undefined;
    return r ? toRemoval(r) : undefined;
  }

  list(): Removal[] {
    return (this.db.prepare('SELECT * FROM model_removals ORDER BY keep_until, name').all() as Row[]).map(toRemoval);
  }

  put(r: Removal): void {
    this.db
      .prepare('INSERT INTO model_removals (name, seq, at, reason, stopped_at, keep_until) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET seq = excluded.seq, at = excluded.at, reason = excluded.reason, stopped_at = excluded.stopped_at, keep_until = excluded.keep_until')
      .run(r.name, r.seq, r.at, r.reason, r.stoppedAt, r.keepUntil);
  }

  /** The model is served again (activated) or forgotten. Returns whether it was removed. */
  clear(name: string): boolean {
    return this.db.prepare('DELETE FROM model_removals WHERE name = ?').run(name).changes > 0;
  }

  /**
   * A removal entry (`at`) for a model installed on the box itself was seen: true the first time for that
   * entry (a `removal_kept_local` event is due), false after (the hub repeats it in every document).
   */
  noteKeptLocal(name: string, at: string): boolean {
    const key = `removalKeptLocal:${name}`;
    const seen = (this.db.prepare('SELECT value FROM kv WHERE key = ?').get(key) as { value: string } | undefined)?.value;
    if (seen === at) return false;
    this.db.prepare('INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, at);
    return true;
  }
}

/** What the local API answers for a removed model (REST 410, gRPC NOT_FOUND, batch jobs). */
export function removedError(r: Removal): AppError {
  return new AppError('MODEL_REMOVED', `model "${r.name}" was removed from this box by the hub (desired document seq ${r.seq}, at ${r.at}, reason: ${JSON.stringify(r.reason)}): it is not served; its files are kept until ${r.keepUntil}, and a redeploy before then needs no download`, { details: { model: r.name, seq: r.seq, at: r.at, reason: r.reason, keepUntil: r.keepUntil } });
}
