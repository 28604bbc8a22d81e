// Enrollment tokens: stored as a hash with tags, expiry, a use budget and, once revoked, when and by
// whom. consume() checks and counts a use in one statement so two devices cannot both take the last
// use, nor take one after the token was revoked.
import { AppError, notFound, HISTORY_PAGE, type CreatedListQuery, type EnrollmentTokenInfo, type EnrollmentTokenList, type Tags } from '@edgefleet/shared';
import type { Db } from './db.js';
import type { Migration } from './migrations.js';
import { hashToken, newId, randomSecret } from './secrets.js';
import { createdPage } from './history-page.js';

/**
 * A leaked enrollment token (up to 1,000,000 uses, 366 days) could only wait to expire: revocation
 * (POST /enrollment-tokens/{id}/revoke) stops it at once; the row stays, as API tokens' do, for the audit trail.
 */
export const ENROLLMENT_REVOKE_MIGRATION: Migration = {
  version: 9,
  name: 'enrollment token revocation',
  sql: `
    ALTER TABLE enrollment_tokens ADD COLUMN revoked_at TEXT;
    ALTER TABLE enrollment_tokens ADD COLUMN revoked_by TEXT;
  `,
};

interface Row {
  id: string;
  token_hash: string;
  tags: string;
  expires_at: string;
  max_uses: number;
  uses: number;
  created_at: string;
  created_by: string;
  note: string | null;
  revoked_at: string | null;
  revoked_by: string | null;
}

export class EnrollmentRepo {
  constructor(private readonly db: Db) {}

  create(opts: { tags: Tags; expires: Date; maxUses: number; note?: string | undefined; createdBy: string; at: Date }): EnrollmentTokenInfo & { token: string } {
    const id = newId('et');
    const token = `eft_${randomSecret()}`;
    this.db
      .prepare('INSERT INTO enrollment_tokens (id, token_hash, tags, expires_at, max_uses, created_at, created_by, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(id, hashToken(token), JSON.stringify(opts.tags), opts.expires.toISOString(), opts.maxUses, opts.at.toISOString(), opts.createdBy, opts.note ?? null);
    return { ...this.get(id), token };
  }

  get(id: string): EnrollmentTokenInfo {
    const r = this.db.prepare('SELECT * FROM enrollment_tokens WHERE id = ?').get(id) as Row | undefined;
    if (!r) throw notFound('enrollment_token', id, `no enrollment token "${id}"`);
    return toInfo(r);
  }

  /** A page of enrollment tokens, newest first, and the cursor of the older page (GET /enrollment-tokens). */
  list(q: CreatedListQuery = { limit: HISTORY_PAGE.defaultLimit }): EnrollmentTokenList {
    const page = createdPage<Row>(this.db, 'enrollment_tokens', q);
    return { tokens: page.rows.map(toInfo), next: page.next };
  }

  /**
   * Revokes a token: enrollments with it are refused from now on (devices it enrolled keep their
   * credentials). Call it inside the write's transaction. NOT_FOUND for an unknown id, CONFLICT when revoked already.
   */
  revoke(id: string, by: string, at: Date): EnrollmentTokenInfo {
    const t = this.get(id);
    if (t.revoked) throw new AppError('CONFLICT', `enrollment token ${id} was revoked already, at ${t.revoked.at} by ${t.revoked.by}`);
    this.db.prepare('UPDATE enrollment_tokens SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL').run(at.toISOString(), by, id);
    return this.get(id);
  }

  /** The token's info if it is known, not revoked and not expired, without taking a use (a re-run of an enrollment). */
  check(token: string, at: Date): EnrollmentTokenInfo {
    return toInfo(this.valid(token, at));
  }

  /** The token's row, or UNAUTHENTICATED saying why it cannot enroll (unknown, revoked, expired). */
  private valid(token: string, at: Date): Row {
    const r = this.db.prepare('SELECT * FROM enrollment_tokens WHERE token_hash = ?').get(hashToken(token)) as Row | undefined;
    if (!r) throw new AppError('UNAUTHENTICATED', 'enrollment token not recognised: ask an operator for a valid one (edgefleet enroll-token create)');
    refuseRevoked(r);
    if (Date.parse(r.expires_at) <= at.getTime()) {
      throw new AppError('UNAUTHENTICATED', `enrollment token ${r.id} expired at ${r.expires_at}: ask an operator for a new one`);
    }
    return r;
  }

  /** Takes one use of the token or throws UNAUTHENTICATED saying why (unknown, revoked, expired, used up). */
  consume(token: string, at: Date): EnrollmentTokenInfo {
    const r = this.valid(token, at);
    // `revoked_at IS NULL` here too: a revocation committed since the read above wins (PostgreSQL reads committed rows).
    const res = this.db.prepare('UPDATE enrollment_tokens SET uses = uses + 1 WHERE id = ? AND uses < max_uses AND revoked_at IS NULL').run(r.id);
    if (res.changes === 0) {
      refuseRevoked(this.db.prepare('SELECT * FROM enrollment_tokens WHERE id = ?').get(r.id) as Row);
      throw new AppError('UNAUTHENTICATED', `enrollment token ${r.id} is used up (${r.max_uses} of ${r.max_uses} uses): ask an operator for a new one`);
    }
    return this.get(r.id);
  }
}

function refuseRevoked(r: Row): void {
  if (r.revoked_at === null) return;
  throw new AppError('UNAUTHENTICATED', `enrollment token ${r.id} was revoked at ${r.revoked_at}: ask an operator for a new one (edgefleet enroll-token create)`);
}

function toInfo(r: Row): EnrollmentTokenInfo {
  return {
    id: r.id,
    tags: JSON.parse(r.tags) as Tags,
    expires: r.expires_at,
    maxUses: r.max_uses,
    uses: r.uses,
    created: r.created_at,
    createdBy: r.created_by,
    note: r.note,
    revoked: r.revoked_at === null ? null : { at: r.revoked_at, by: r.revoked_by ?? '' },
  };
}
