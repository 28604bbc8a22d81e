// Data capture over REST, served by the capture part (hub/src/capture; docs/hub.md "Data capture"):
// start a capture on a cohort, list and show them with per-device progress, stop one, page through
// its sealed chunks (ciphertext only: `edgefleet capture fetch` opens them with the key), and purge them.
import { AppError, notFound, Capture, CaptureChunkPage, CaptureChunksQuery as ChunksQuery, CaptureCreate, CaptureList, CaptureListQuery, CapturePurge, CaptureStopQuery as StopQuery } from '@edgefleet/shared';
import type { CaptureService } from '../capture/service.js';
import { actor, afterCommit, audit, idParam, jsonBody, queryOf, transact, type ApiDeps, type Ctx, type RouteDef } from './http.js';

function part(deps: ApiDeps): CaptureService {
  if (!deps.captures) throw new AppError('NOT_READY', 'the capture part is not running on this hub');
  return deps.captures;
}

/** Capture ids are at most 2^31 (CaptureId: they travel in desired documents). */
const captureId = (c: Ctx): number => idParam(c, 'id', 'capture', 2 ** 31);

export const captureRoutes: RouteDef[] = [
  {
    method: 'post', path: '/captures', access: 'operator', status: 201,
    summary: 'Ask a cohort (devices, tags or all) to capture a share of a model\'s requests, sealed to the operators\' capture key',
    body: CaptureCreate, response: Capture,
    async handler(c, deps) {
      const b = await jsonBody(c, CaptureCreate, 'capture request');
      const s = part(deps);
      const { id, docs } = await s.createStored(b, actor(c).name, (r) => audit(c, deps, 'capture.create', `capture ${r.id}`, b.reason, {
        id: r.id, model: b.model, version: b.version ?? null, target: b.target, rate: b.rate, maxRows: b.maxRows, durationSec: b.durationSec, features: b.features ?? null, devices: r.devices,
      }));
      await afterCommit(c, deps, 'capture.create', `capture ${id}`, 'publish desired state', () => deps.deployments?.publishDesired(docs));
      return s.view(id);
    },
  },
  {
    method: 'get', path: '/captures', access: 'viewer', query: CaptureListQuery, response: CaptureList,
    summary: 'Captures a page at a time, newest first (?limit=, default 100, at most 1000), each with its state (active, ended, stopped, purged) and rows and bytes received; `next` is the ?before= of the older page, null after the last',
    async handler(c, deps) {
      return part(deps).list(queryOf(c, CaptureListQuery, 'captures query'));
    },
  },
  {
    method: 'get', path: '/captures/:id', access: 'viewer',
    summary: 'One capture with every device\'s progress (pending, capturing, done, budget_full, stopped, expired, refused; rows, chunks, bytes)',
    response: Capture,
    async handler(c, deps) {
      const id = captureId(c);
      return part(deps).view(id);
    },
  },
  {
    method: 'delete', path: '/captures/:id', access: 'operator', query: StopQuery, response: Capture,
    summary: 'Stop a capture (?reason=): its devices stop sampling; rows they captured before still upload',
    async handler(c, deps) {
      const id = captureId(c);
      const q = queryOf(c, StopQuery, 'stop query');
      const s = part(deps);
      const docs = s.stopCapture(id, actor(c).name, q.reason, () => audit(c, deps, 'capture.stop', `capture ${id}`, q.reason, { id }));
      await afterCommit(c, deps, 'capture.stop', `capture ${id}`, 'publish desired state', () => deps.deployments?.publishDesired(docs));
      return s.view(id);
    },
  },
  {
    method: 'get', path: '/captures/:id/chunks', access: 'operator', query: ChunksQuery, response: CaptureChunkPage,
    summary: 'The capture\'s sealed chunks, a page at a time (?after=next), each page audited as capture.fetch; ciphertext only, opened by `edgefleet capture fetch` with the key',
    async handler(c, deps) {
      const id = captureId(c);
      const q = queryOf(c, ChunksQuery, 'chunks query');
      const s = part(deps);
      const cap = s.repo.get(id);
      if (cap.purged) throw notFound('capture_chunks', id, `capture ${id}'s chunks were purged at ${cap.purged.at} by ${cap.purged.by} (${cap.purged.reason}): nothing to fetch`);
      // Every page is audited (who took which ciphertext, and when), in the transaction that reads it: a
      // page whose entry cannot be written is not served. Auditing only a fetch's first page left the rest
      // unrecorded: the cursor is a chunk id (global, AUTOINCREMENT) that anyone can write, so the hub
      // cannot tell a continuation from a jump, and `after=1`, or the capture's first chunk id, read the
      // capture from (nearly) its start with no entry. One entry per page (up to capture pageBytes, 8 MiB)
      // keeps the log bounded by what is stored; `after`, `next` and the chunk count say which page it was.
      return transact(deps, () => {
        const page = s.repo.chunks(id, q.after ?? 0, s.opts.pageBytes);
        audit(c, deps, 'capture.fetch', `capture ${id}`, null, { id, after: q.after ?? null, next: page.next, chunks: page.chunks.length });
        return page;
      });
    },
  },
  {
    method: 'post', path: '/captures/:id/purge', access: 'operator', body: CapturePurge, response: Capture,
    summary: 'Delete an ended capture\'s sealed chunks (after fetching them): its record stays, its bytes stop counting against capture.maxBytesPerDevice',
    async handler(c, deps) {
      const id = captureId(c);
      const b = await jsonBody(c, CapturePurge, 'purge');
      return part(deps).purge(id, actor(c).name, b.reason, (bytes) => audit(c, deps, 'capture.purge', `capture ${id}`, b.reason, { id, bytes }));
    },
  },
];
