// The models this agent serves, for an app to discover them (docs/agent.md "Local API"): OIP v2 has no
// way to list them (`GET /v2` names the server only), so an app had to know each name beforehand, or
// read it from the error of an unknown one. Served as the index of the model repository extension of
// Triton's OIP v2 server, which Triton's clients call (`get_model_repository_index()`):
// `POST /v2/repository/index` with an optional `{"ready": bool}` → `[{name, version, state, reason}]`,
// and as `GET` for curl. Only the index: models come and go by install, activate and the hub, not by
// load and unload calls.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '@edgefleet/shared/core';
import type { ModelRuntime } from '../runtime/runtime.js';
import { isJson, mediaTypeRefusal, methodNotAllowed, refuseContentEncoding, refuseUnknownFields } from './guards.js';
import { isGet, send } from './reply.js';
import { readSmallJson } from './update-lock.js';

export const REPOSITORY_INDEX_PATH = '/v2/repository/index';

export interface IndexEntry { name: string; version: string; state: 'READY'; reason: string }

/** Every model served now with its active version, by name. */
export function repositoryIndex(runtime: Pick<ModelRuntime, 'names' | 'active'>): IndexEntry[] {
  return [...runtime.names()].sort().flatMap((name) => {
    const v = runtime.active(name);
    return v ? [{ name, version: v.version, state: 'READY' as const, reason: '' }] : [];
  });
}

/** Answers GET or POST /v2/repository/index; what the headers alone refuse is thrown at once. */
export function serveRepositoryIndex(req: IncomingMessage, res: ServerResponse, runtime: Pick<ModelRuntime, 'names' | 'active'>): Promise<void> | void {
  if (isGet(req.method)) return send(res, 200, repositoryIndex(runtime));
  if (req.method !== 'POST') throw methodNotAllowed(req.method ?? '', REPOSITORY_INDEX_PATH, ['GET', 'HEAD', 'POST']);
  const length = req.headers['content-length'];
  const empty = length === '0' || (length === undefined && req.headers['transfer-encoding'] === undefined);
  if (!empty && !isJson(req.headers['content-type'])) {
    throw mediaTypeRefusal(req.headers['content-type'], '"application/json" (or no body)');
  }
  refuseContentEncoding(req.headers['content-encoding']);
  return readSmallJson(req, '{"ready": true} or no body', {}).then((body) => {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AppError('BAD_REQUEST', `${REPOSITORY_INDEX_PATH}: expected a JSON object {"ready": true|false} or no body`);
    const o = body as Record<string, unknown>;
    refuseUnknownFields(o, ['ready']);
    if (o['ready'] !== undefined && typeof o['ready'] !== 'boolean') throw new AppError('BAD_REQUEST', `ready: expected true or false, got ${JSON.stringify(o['ready'])}`);
    // Every model listed is ready: only a loaded and warmed version is served, so "ready" filters nothing.
    send(res, 200, repositoryIndex(runtime));
  });
}
