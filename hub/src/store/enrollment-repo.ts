// Enrollment tokens: stored as a hash with tags, expiry and a use budget.
// consume() checks and counts a use in one statement so two devices cannot
// both take the last use.
import { AppError, type EnrollmentTokenInfo, type Tags } from '@edgefleet/shared';
import type { Db } from './db.js';
import { hashToken, newId, randomSecret } from './secrets.js';

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
    if (!r) throw new AppError('NOT_FOUND', `no enrollment token "${id}"`);
    return toInfo(r);
  }

  list(): EnrollmentTokenInfo[] {
    return (this.db.prepare('SELECT * FROM enrollment_tokens ORDER BY created_at, id').all() as Row[]).map(toInfo);
  }

  /** Takes one use of the token or throws UNAUTHENTICATED saying why (unknown, expired, used up). */
  /** The token's info if it is known and not expired, without taking a use (a re-run of an enrollment). */
  check(token: string, at: Date): EnrollmentTokenInfo {
    return this.get(this.valid(token, at).id);
  }

  private valid(token: string, at: Date): Row {
    const r = this.db.prepare('SELECT * FROM enrollment_tokens WHERE token_hash = ?').get(hashToken(token)) as Row | undefined;
    if (!r) throw new AppError('UNAUTHENTICATED', 'enrollment token not recognised: ask an operator for a valid one (edgefleet enroll-token create)');
    if (Date.parse(r.expires_at) <= at.getTime()) {
      throw new AppError('UNAUTHENTICATED', `enrollment token ${r.id} expired at ${r.expires_at}: ask an operator for a new one`);
    }
    return r;
  }

  consume(token: string, at: Date): EnrollmentTokenInfo {
    const r = this.valid(token, at);
    const res = this.db.prepare('UPDATE enrollment_tokens SET uses = uses + 1 WHERE id = ? AND uses < max_uses').run(r.id);
    if (res.changes === 0) {
      throw new AppError('UNAUTHENTICATED', `enrollment token ${r.id} is used up (${r.max_uses} of ${r.max_uses} uses): ask an operator for a new one`);
    }
    return this.get(r.id);
  }
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
  };
}
