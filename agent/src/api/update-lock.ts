// The agent's own routes under /edgefleet/v1 on the local API (docs/agent.md "Update lock"): an app on
// the box asks that the model it uses is not switched under it for a while.
//   POST   /edgefleet/v1/update-lock {ttlSec, reason}  sets or renews it (ttlSec 1..UPDATE_LOCK_MAX_SEC)
//   GET    /edgefleet/v1/update-lock                   reads it, with the switches deferred now
//   DELETE /edgefleet/v1/update-lock                   removes it (a deferred switch is looked at at once)
// Validated by hand: the daemon does not load zod (docs/performance.md). Bodies are bounded.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '@edgefleet/shared/core';
import { UPDATE_LOCK_MAX_SEC, UPDATE_LOCK_REASON_MAX, type UpdateLock, type UpdateLockRepo } from '../store/update-lock-repo.js';
import { isJson, jsonText, mediaTypeRefusal, methodNotAllowed, noRoute, refuseContentEncoding, refuseUnknownFields } from './guards.js';

/** Largest update-lock body read. */
export const LOCAL_BODY_MAX = 4096;

export interface LocalRoutesDeps {
  lock: UpdateLockRepo;
  /** The lock was set or removed (the updater looks at a deferred switch again). */
  changed: () => void;
  /** Switches deferred now (on an enrolled box). */
  deferred: () => Array<{ model: string; version: string; code: string; message: string; until: string | null }>;
}

export type LocalRoutes = (req: IncomingMessage, res: ServerResponse, method: string, path: string) => Promise<void> | void;

const PATH = '/edgefleet/v1/update-lock';

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/**
 * The lock and the switches deferred now. With no lock (removed, or expired before the updater looked
 * again) a switch the lock deferred is not listed: it is being looked at again (recheck), and if a
 * maintenance window still defers it, the next GET shows it as OUTSIDE_WINDOW.
 */
function view(l: UpdateLock | null, deps: LocalRoutesDeps): unknown {
  const all = deps.deferred();
  if (l) return { locked: true, reason: l.reason, until: new Date(l.until).toISOString(), setAt: l.setAt, deferred: all };
  return { locked: false, deferred: all.filter((d) => d.code !== 'UPDATE_LOCKED') };
}

/**
 * Reads a JSON body of at most LOCAL_BODY_MAX bytes; `expected` ends the message of one that is not
 * JSON, and `empty` is what an empty body reads as (not JSON when not given).
 */
export function readSmallJson(req: IncomingMessage, expected: string, empty?: unknown): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (declared > LOCAL_BODY_MAX) return Promise.reject(new AppError('PAYLOAD_TOO_LARGE', `request body of ${declared} bytes is too large: expected at most ${LOCAL_BODY_MAX} bytes`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > LOCAL_BODY_MAX) {
        req.removeAllListeners('data');
        req.pause();
        reject(new AppError('PAYLOAD_TOO_LARGE', `request body is too large: expected at most ${LOCAL_BODY_MAX} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (size === 0 && empty !== undefined) return resolve(empty);
      try {
        resolve(JSON.parse(jsonText(Buffer.concat(chunks), size, 'request body')));
      } catch (err) {
        reject(err instanceof AppError ? err : new AppError('BAD_REQUEST', `request body is not JSON (${(err as Error).message}): expected ${expected}`));
      }
    });
    req.on('error', reject);
  });
}

/** Checks {ttlSec, reason}: BAD_REQUEST naming the field and what was expected. */
export function parseLockRequest(body: unknown): { ttlSec: number; reason: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AppError('BAD_REQUEST', 'expected a JSON object {"ttlSec": N, "reason": "..."}');
  const o = body as Record<string, unknown>;
  refuseUnknownFields(o, ['ttlSec', 'reason']);
  const ttl = o['ttlSec'];
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > UPDATE_LOCK_MAX_SEC) {
    throw new AppError('BAD_REQUEST', `ttlSec: expected a whole number of seconds from 1 to ${UPDATE_LOCK_MAX_SEC} (a day; renew the lock for longer), got ${JSON.stringify(ttl) ?? 'nothing'}`);
  }
  const reason = o['reason'];
  // Characters are code points: an emoji is one, not the two UTF-16 units of String.length.
  const chars = typeof reason === 'string' ? [...reason].length : 0;
  if (typeof reason !== 'string' || reason.trim() === '' || chars > UPDATE_LOCK_REASON_MAX) {
    const got = typeof reason === 'string' ? (reason.trim() === '' ? 'an empty one' : `${chars} characters`) : (JSON.stringify(reason)?.slice(0, 40) ?? 'nothing');
    throw new AppError('BAD_REQUEST', `reason: expected a non-empty string of at most ${UPDATE_LOCK_REASON_MAX} characters saying why (shown on the hub), got ${got}`);
  }
  return { ttlSec: ttl, reason: reason.trim() };
}

export function createLocalRoutes(deps: LocalRoutesDeps): LocalRoutes {
  return async (req, res, method, path) => {
    if (path !== PATH) throw noRoute(method, path, PATH);
    switch (method) {
      case 'GET':
        return send(res, 200, view(deps.lock.get(), deps));
      case 'POST': {
        if (!isJson(req.headers['content-type'])) throw mediaTypeRefusal(req.headers['content-type'], '"application/json"');
        refuseContentEncoding(req.headers['content-encoding']);
        const { ttlSec, reason } = parseLockRequest(await readSmallJson(req, '{"ttlSec": N, "reason": "..."}'));
        const l = deps.lock.set(ttlSec, reason);
        deps.changed();
        return send(res, 200, view(l, deps));
      }
      case 'DELETE':
        deps.lock.clear();
        deps.changed();
        return send(res, 200, view(null, deps));
      default:
        throw methodNotAllowed(method, path, ['GET', 'POST', 'DELETE']);
    }
  };
}
