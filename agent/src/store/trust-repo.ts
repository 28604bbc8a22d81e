// The one trust document this agent is provisioned with (docs/architecture.md section 4).
import { parseWire, TrustDocument } from '@edgefleet/shared';
import type { Db } from './db.js';

export class TrustRepo {
  constructor(private readonly db: Db) {}

  get(): TrustDocument | undefined {
    const row = this.db.prepare('SELECT document FROM trust WHERE id = 1').get() as { document: string } | undefined;
    return row ? parseWire(TrustDocument, JSON.parse(row.document), 'stored trust document') : undefined;
  }

  /** Stores the document as received (signatures cover it before zod defaults); verify it first. */
  put(doc: unknown, version: number, at: Date = new Date()): void {
    this.db
      .prepare('INSERT INTO trust (id, version, document, updated_at) VALUES (1, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET version = excluded.version, document = excluded.document, updated_at = excluded.updated_at')
      .run(version, JSON.stringify(doc), at.toISOString());
  }
}
