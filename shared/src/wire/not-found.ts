// What a hub's NOT_FOUND for a missing thing names in its `details` (`{kind, id}`), so that a client picks its help
// by the kind rather than by the message's words (docs/decisions/0181-not-found-names-its-kind.md). Built by
// notFound() in shared/src/errors.ts, read by the CLI (hub/src/cli/not-found.ts); docs/hub.md "REST API".
import { z } from 'zod';

/**
 * The kinds of missing thing. A version's id is `NAME@VERSION` (model_version; config_version with the scope's
 * name, e.g. `fleet@3`); `route` is a path the API does not serve (`GET /api/v1/x`); `capture_chunks` a capture
 * whose chunks were purged; `blob` a stored bundle gone from the disk.
 */
export const NotFoundKind = z.enum([
  'device', 'rollout', 'deployment', 'token', 'enrollment_token', 'drift_report', 'alert_rule', 'alert',
  'model', 'model_version', 'capture', 'capture_chunks', 'config_version', 'blob', 'route',
]);
export type NotFoundKind = z.infer<typeof NotFoundKind>;

/** A NOT_FOUND's `details`: the kind and id asked for; `ids` when several were (a target's devices: the first 100 missing). */
export const NotFoundDetails = z.object({
  kind: NotFoundKind,
  id: z.union([z.string(), z.number()]),
  ids: z.array(z.string()).optional(),
});
export type NotFoundDetails = z.infer<typeof NotFoundDetails>;
