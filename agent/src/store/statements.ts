// Prepared statements kept per connection. better-sqlite3 compiles the SQL again on every prepare(),
// and the summaries' write path and retention's passes run the same few statements once a window:
// compiling took a tenth of a months-long run's CPU (docs/performance.md "Retention passes").
import type Database from 'better-sqlite3';

const cache = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/** The statement for `sql` on `db`, compiled once; `pluck`: it returns the first column of each row. */
export function prepared(db: Database.Database, sql: string, pluck = false): Database.Statement {
  let m = cache.get(db);
  if (!m) cache.set(db, (m = new Map()));
  const key = `${pluck ? 'p' : 'r'}${sql}`;
  let s = m.get(key);
  if (!s) m.set(key, (s = pluck ? db.prepare(sql).pluck() : db.prepare(sql)));
  return s;
}

const runners = new WeakMap<Database.Database, (fn: () => unknown) => unknown>();

/** Runs `fn` in a transaction on `db` (a savepoint inside one), with one transaction function per connection. */
export function inTransaction<T>(db: Database.Database, fn: () => T): T {
  let run = runners.get(db);
  if (!run) runners.set(db, (run = db.transaction((f: () => unknown) => f())));
  return run(fn) as T;
}
