// The narrow database surface the hub's repositories use (docs/decisions/0040-postgresql.md): the
// synchronous subset of better-sqlite3 that SQLite satisfies unchanged and the PostgreSQL facade
// (store/pg/facade.ts) implements. Code outside store/db.ts and server/backup.ts uses only this.

export interface HubRunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

export interface HubStatement {
  run(...params: unknown[]): HubRunResult;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  iterate(...params: unknown[]): IterableIterator<unknown>;
  /** Rows as their first column's value. */
  pluck(toggle?: boolean): this;
  /** Rows as arrays of column values, in select order. */
  raw(toggle?: boolean): this;
}

/** `(...args) => result`, run in a transaction (nested calls use savepoints). */
export type HubTransaction<F extends (...args: never[]) => unknown> = (...args: F extends (...a: infer A) => unknown ? A : never) => ReturnType<F>;

export interface HubDb {
  /** Where it is: hub.db's path, or the PostgreSQL URL without its password. */
  readonly name: string;
  readonly inTransaction: boolean;
  prepare(sql: string): HubStatement;
  exec(sql: string): this;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the same shape as better-sqlite3's
  transaction<F extends (...args: any[]) => any>(fn: F): HubTransaction<F>;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  close(): this;
}

/** Which SQL a database speaks: migrations carry per-dialect overrides keyed by this. */
export type Dialect = 'sqlite' | 'postgres';

export function dialectOf(db: HubDb): Dialect {
  return (db as { dialect?: Dialect }).dialect === 'postgres' ? 'postgres' : 'sqlite';
}
