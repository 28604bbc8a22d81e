// Model-level helpers for bundles: the reference profile's content id, and (from
// model-io.ts, which loads no zod so the agent's daemon can use it) the pure comparison
// of a model's actual inputs/outputs (as read from an ORT session by the caller)
// against the manifest's `io`.
import { canonicalJson, sha256Hex } from '../canonical.js';
import { parseWire } from '../wire/common.js';
import { Reference } from '../wire/manifest.js';

const ReferenceBody = Reference.omit({ id: true });
type ReferenceBodyInput = Omit<import('zod').input<typeof Reference>, 'id'>;

/** sha256 of the canonical JSON of the reference without its `id` (after schema defaults, so omitted defaults hash the same). */
export function referenceId(reference: ReferenceBodyInput & { id?: string }): string {
  const { id: _id, ...rest } = reference;
  return sha256Hex(canonicalJson(parseWire(ReferenceBody, rest, 'reference profile')));
}

/** The reference with its `id` filled in. */
export function withReferenceId(reference: ReferenceBodyInput): Reference {
  const body = parseWire(ReferenceBody, reference, 'reference profile');
  return { id: sha256Hex(canonicalJson(body)), ...body };
}

export * from './model-io.js';
