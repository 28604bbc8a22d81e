// Statements prepared once by their SQL, for a repository whose per-device or per-message methods would
// otherwise prepare theirs at every call (a deployment or an undeploy runs them once per device). Bounded:
// one entry per SQL text the repository writes (a few variants at most), not per call.
import type { Db } from './db.js';
import type { HubStatement } from './hub-db.js';

export class Statements {
  private readonly bySql = new Map<string, HubStatement>();

  constructor(private readonly db: Db) {}

  /** `sql` prepared, the first time only. */
  of(sql: string): HubStatement {
    let s = this.bySql.get(sql);
    if (!s) this.bySql.set(sql, (s = this.db.prepare(sql)));
    return s;
  }
}
