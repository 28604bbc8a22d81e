// JSON.parse with a nesting bound. V8's JSON.parse itself copes with deep
// nesting, but everything after it that walks the value recursively (zod,
// canonical JSON for signatures, JSON.stringify) overflows the stack on a
// few hundred thousand levels, which surfaced as INTERNAL 500s. One linear
// scan of the text refuses such input as bad input first (docs/security.md).
import { AppError, type ErrorCode } from './errors.js';

/** Deeper than any document we define; far below what overflows a recursive walk. */
export const MAX_JSON_DEPTH = 64;

/** Depth of the deepest `[`/`{` nesting in JSON text (strings skipped), stopping once past `limit`. */
export function jsonDepth(text: string, limit = Infinity): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > max && (max = depth) > limit) return max;
    } else if (c === 93 || c === 125) depth--;
  }
  return max;
}

/**
 * Parses JSON text, refusing it with `code` when it is not JSON or nests deeper
 * than `maxDepth`; `what` names the document in the message.
 */
export function parseJsonBounded(text: string, what: string, opts: { code?: ErrorCode; maxDepth?: number } = {}): unknown {
  const code = opts.code ?? 'BAD_REQUEST';
  const maxDepth = opts.maxDepth ?? MAX_JSON_DEPTH;
  if (jsonDepth(text, maxDepth) > maxDepth) {
    throw new AppError(code, `${what} nests deeper than ${maxDepth} levels: expected at most ${maxDepth} levels of arrays and objects`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new AppError(code, `${what} is not JSON (${(err as Error).message})`);
  }
}
