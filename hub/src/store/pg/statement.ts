// One prepared statement of the PostgreSQL facade (store/pg/facade.ts; docs/decisions/0040-postgresql.md):
// better-sqlite3's run/get/all/iterate, pluck and raw over the facade's blocking call, with its rows
// shaped as better-sqlite3 returns them.
import type { HubRunResult, HubStatement } from '../hub-db.js';
import type { Translated } from './dialect.js';
import type { Request } from './worker.js';

/** What a statement needs of the facade: the cached translation and the blocking call to the worker. */
export interface StatementRunner {
  translate(sql: string): Translated & { name: string };
  call(req: Request): { rows: unknown[]; rowCount: number };
}

/** A bytea column arrives as a plain Uint8Array from the worker; the repositories expect a Buffer as from SQLite. */
function fromWire(v: unknown): unknown {
  return v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v;
}

export class PgStatement implements HubStatement {
  private mode: 'object' | 'pluck' | 'raw' = 'object';
  constructor(private readonly db: StatementRunner, private readonly sql: string) {}

  pluck(toggle = true): this {
    this.mode = toggle ? 'pluck' : 'object';
    return this;
  }

  raw(toggle = true): this {
    this.mode = toggle ? 'raw' : 'object';
    return this;
  }

  private query(params: unknown[]): { rows: unknown[]; rowCount: number; t: Translated } {
    const t = this.db.translate(this.sql);
    const r = this.db.call({ op: 'query', sql: t.sql, params, name: t.name || null, array: this.mode !== 'object' });
    return { ...r, t };
  }

  private shape(row: unknown): unknown {
    if (this.mode === 'object') {
      const o = row as Record<string, unknown>;
      for (const k of Object.keys(o)) o[k] = fromWire(o[k]);
      return o;
    }
    const a = (row as unknown[]).map(fromWire);
    return this.mode === 'pluck' ? a[0] : a;
  }

  run(...params: unknown[]): HubRunResult {
    const r = this.query(params);
    const first = r.rows[0] as Record<string, unknown> | unknown[] | undefined;
    const id = r.t.returning && first ? (Array.isArray(first) ? first[0] : first[r.t.returning]) : 0;
    return { changes: r.rowCount, lastInsertRowid: id as number | bigint };
  }

  get(...params: unknown[]): unknown {
    const r = this.query(params);
    return r.rows.length ? this.shape(r.rows[0]) : undefined;
  }

  all(...params: unknown[]): unknown[] {
    return this.query(params).rows.map((row) => this.shape(row));
  }

  iterate(...params: unknown[]): IterableIterator<unknown> {
    return this.all(...params)[Symbol.iterator]();
  }
}
