// API tokens: bearer tokens stored as sha256 with a name (the audit actor, unique) and a role.
import { AppError, notFound, HISTORY_PAGE, type ApiRole, type CreatedListQuery, type TokenInfo, type TokenList } from '@edgefleet/shared';
import type { Db } from './db.js';
import { dialectOf } from './hub-db.js';
import { createdPage } from './history-page.js';
import { hashToken, newId, randomSecret } from './secrets.js';

interface Row {
  id: string;
  name: string;
  role: ApiRole;
  created_at: string;
  created_by: string;
  revoked_at: string | null;
}

export class TokensRepo {
  constructor(private readonly db: Db) {}

  /**
   * Creates a token. Names are unique among all tokens, revoked ones included: the audit log shows the
   * name (with the id), so one name must always mean one token. Call it inside the write's transaction.
   */
  create(name: string, role: ApiRole, createdBy: string, at: Date): TokenInfo & { token: string } {
    const taken = this.db.prepare('SELECT id, revoked_at FROM api_tokens WHERE name = ?').get(name) as { id: string; revoked_at: string | null } | undefined;
    if (taken) {
      throw new AppError('CONFLICT', `an API token named "${name}" already exists (${taken.id}${taken.revoked_at ? ', revoked' : ''}): token names are unique; choose another name`);
    }
    const id = newId('tok');
    const token = `efa_${randomSecret()}`;
    this.db
      .prepare('INSERT INTO api_tokens (id, token_hash, name, role, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)')
      .run(id, hashToken(token), name, role, at.toISOString(), createdBy);
    return { ...this.get(id), token };
  }

  /**
   * Stores `token` as the first admin token when the table is empty, else nothing (first-start.ts: hubs
   * starting at once on a new data dir all offer the same token file's; hubs with data dirs of their own
   * offer different tokens). One statement that writes first: on SQLite it waits for another process's
   * write instead of failing on a snapshot read before it, and SQLite's one writer serialises the rest.
   * PostgreSQL (READ COMMITTED) lets two transactions both find the table empty and both insert: the
   * table is locked first (SHARE ROW EXCLUSIVE conflicts with itself and with inserts, not with reads;
   * held to the commit), so the second waits for the first's commit and then finds its token. Returns the
   * new token's id, or null when the table had a token already. Call it inside the write's transaction.
   */
  createFirstAdmin(token: string, at: Date): string | null {
    const id = newId('tok');
    const created = this.db.transaction(() => {
      if (dialectOf(this.db) === 'postgres') this.db.prepare('LOCK TABLE api_tokens IN SHARE ROW EXCLUSIVE MODE').run();
      return this.db.prepare(
        `INSERT INTO api_tokens (id, token_hash, name, role, created_at, created_by)
         SELECT ?, ?, 'admin', 'admin', ?, 'hub' WHERE NOT EXISTS (SELECT 1 FROM api_tokens)
         ON CONFLICT (token_hash) DO NOTHING`,
      ).run(id, hashToken(token), at.toISOString()).changes > 0;
    })();
    return created ? id : null;
  }

  get(id: string): TokenInfo {
    const r = this.db.prepare('SELECT * FROM api_tokens WHERE id = ?').get(id) as Row | undefined;
    if (!r) throw notFound('token', id, `no API token "${id}"`);
    return toInfo(r);
  }

  /** A page of tokens, newest first, and the cursor of the older page (GET /tokens). */
  list(q: CreatedListQuery = { limit: HISTORY_PAGE.defaultLimit }): TokenList {
    const page = createdPage<Row>(this.db, 'api_tokens', q);
    return { tokens: page.rows.map(toInfo), next: page.next };
  }

  /** Revokes a token (kept for the audit trail); revoking the last admin token is refused. */
  revoke(id: string, at: Date): TokenInfo {
    const t = this.get(id);
    if (t.revoked) throw new AppError('CONFLICT', `API token "${id}" (${t.name}) is already revoked`);
    if (t.role === 'admin') {
      const admins = (this.db.prepare("SELECT COUNT(*) AS n FROM api_tokens WHERE role = 'admin' AND revoked_at IS NULL").get() as { n: number }).n;
      if (admins <= 1) throw new AppError('CONFLICT', `"${t.name}" is the last admin token: create another admin token before revoking it`);
    }
    this.db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ?').run(at.toISOString(), id);
    return this.get(id);
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM api_tokens').get() as { n: number }).n;
  }

  /** The token's identity, or undefined for an unknown or revoked token. */
  lookup(token: string): TokenInfo | undefined {
    const r = this.db.prepare('SELECT * FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL').get(hashToken(token)) as Row | undefined;
    return r ? toInfo(r) : undefined;
  }
}

function toInfo(r: Row): TokenInfo {
  return { id: r.id, name: r.name, role: r.role, created: r.created_at, createdBy: r.created_by, revoked: r.revoked_at !== null };
}
