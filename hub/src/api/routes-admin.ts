// API tokens (admin) and the audit log (viewer).
import { z } from 'zod';
import { AppError, AuditList, AuditQuery, isLoggedAction, unknownActionText, Reason, TokenCreate, TokenCreated, TokenInfo, TokenList, TokenListQuery } from '@edgefleet/shared';
import { actor, audit, jsonBody, param, queryOf, transact, type RouteDef } from './http.js';

export const adminRoutes: RouteDef[] = [
  {
    method: 'post', path: '/tokens', access: 'admin', status: 201,
    summary: 'Create an API token with a role; the token is shown once', body: TokenCreate, response: TokenCreated,
    async handler(c, deps) {
      const b = await jsonBody(c, TokenCreate, 'token request');
      return transact(deps, () => {
        const t = deps.store.tokens.create(b.name, b.role, actor(c).name, deps.clock.now());
        audit(c, deps, 'token.create', t.id, null, { name: t.name, role: t.role });
        return t;
      });
    },
  },
  {
    method: 'get', path: '/tokens', access: 'admin',
    summary: 'API tokens (without the token values) a page at a time, newest first (?limit=, default 100, at most 1000); `next` is the ?before= of the older page, null after the last',
    query: TokenListQuery, response: TokenList,
    async handler(c, deps) {
      return deps.store.tokens.list(queryOf(c, TokenListQuery, 'tokens query'));
    },
  },
  {
    method: 'post', path: '/tokens/:id/revoke', access: 'admin', summary: 'Revoke an API token (it stops working at once; the last admin token cannot be revoked)',
    body: z.object({ reason: Reason }), response: TokenInfo,
    async handler(c, deps) {
      const id = param(c, 'id');
      const b = await jsonBody(c, z.object({ reason: Reason }), 'token revocation');
      return transact(deps, () => {
        const t = deps.store.tokens.revoke(id, deps.clock.now());
        audit(c, deps, 'token.revoke', id, b.reason, { name: t.name, role: t.role });
        return t;
      });
    },
  },
  {
    method: 'get', path: '/audit', access: 'viewer', summary: 'The audit log a page at a time (oldest first, or newest first with ?order=desc), filtered by actor, action, target and since; `next` is the cursor of the following page (?after=, or ?before= with order=desc)',
    query: AuditQuery, response: AuditList,
    async handler(c, deps) {
      const q = queryOf(c, AuditQuery, 'audit query');
      // A misspelt action would answer an empty page, read as "nobody did that": refused instead.
      if (q.action && !isLoggedAction(q.action) && !deps.store.audit.hasAction(q.action)) throw new AppError('INVALID_INPUT', unknownActionText(q.action));
      return deps.store.audit.page(q);
    },
  },
];
