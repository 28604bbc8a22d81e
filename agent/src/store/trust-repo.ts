// The one trust document this agent is provisioned with (docs/architecture.md section 4).
import type { TrustDocument } from '@edgefleet/shared';
import { wire } from '../wire.js';
import type { Db } from './db.js';

export class TrustRepo {
  constructor(private readonly db: Db) {}

  /** The stored document, validated (call loadWire() first: only install, the hub link and the CLI need it). */
  get(): TrustDocument | undefined {
    const row = this.db.prepare('SELECT document FROM trust WHERE id = 1').get() as { document: string } | undefined;
    if (!row) return undefined;
    const w = wire();
    return w.parseWire(w.TrustDocument, JSON.parse(row.document), 'stored trust document');
  }

  /** Stores the document as received (signatures cover it before zod defaults); verify it first. */
  put(doc: unknown, version: number, at: Date = new Date()): void {
    this.db
      .prepare('INSERT INTO trust (id, version, document, updated_at) VALUES (1, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET version = excluded.version, document = excluded.document, updated_at = excluded.updated_at')
      .run(version, JSON.stringify(doc), at.toISOString());
  }
}
