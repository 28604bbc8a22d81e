// Statements over a list of device ids, set-based where a loop ran one statement per id (a deployment to the whole
// fleet: docs/decisions/0188-deployment-commit-set-based.md). `IN (?, ...)`, not json_each: the same SQL on SQLite and
// PostgreSQL (docs/decisions/0040-postgresql.md). At most IN_CHUNK ids a statement, each chunk padded (its last id
// repeated, which changes no result) to one of a few sizes, so each statement is prepared once per size, not per call.
import type { HubDb, HubStatement } from './hub-db.js';

/** Ids bound in one statement at most. */
export const IN_CHUNK = 500;
const SIZES = [1, 4, 25, 100, IN_CHUNK];

export class InList {
  private readonly stmts = new Map<number, HubStatement>();

  /** `sql(size)`: the statement for `size` ids (InList.marks for `IN (...)`). */
  constructor(private readonly db: Pick<HubDb, 'prepare'>, private readonly sql: (size: number) => string) {}

  /** `?, ?, ...` `size` times. */
  static marks(size: number, each = '?'): string {
    return Array<string>(size).fill(each).join(', ');
  }

  /** Each chunk of `ids` (padded) with its statement, in order. */
  *chunks(ids: readonly string[]): Generator<[HubStatement, string[]]> {
    for (let i = 0; i < ids.length; i += IN_CHUNK) {
      const chunk = ids.slice(i, i + IN_CHUNK);
      const size = SIZES.find((s) => s >= chunk.length) ?? IN_CHUNK;
      const last = chunk[chunk.length - 1] as string;
      while (chunk.length < size) chunk.push(last);
      let st = this.stmts.get(size);
      if (!st) this.stmts.set(size, (st = this.db.prepare(this.sql(size))));
      yield [st, chunk];
    }
  }
}
