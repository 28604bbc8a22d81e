// Tag keys no device carries (docs/drift.md): a `by=tag:KEY` of metrics and drift, or an alert rule's
// `scope.tags`, naming one (a typo: `sit` for `site`) would put every device in one group "(none)", or
// match no device and leave the rule without a value for ever, silently. Both say so instead, with the key
// likely meant and the keys devices carry. A hub without devices yet takes any key.
import { closest } from '@edgefleet/shared/cli';
import type { Db } from '../store/db.js';

/**
 * Why `key` is no tag key any device carries, or null when one does (or there is no device). `keys` are
 * the keys devices carry; `form` writes a key as the caller spells it (`tag:site`, `site`), `expected` what
 * the caller takes (default `form('KEY')`).
 */
export function tagKeyProblem(keys: ReadonlySet<string>, anyDevice: boolean, key: string, form: (k: string) => string, expected = form('KEY')): string | null {
  if (!anyDevice || keys.has(key)) return null;
  const known = [...keys].sort();
  const guess = closest(key, known);
  return `no device has a tag ${JSON.stringify(key)}${guess ? `; did you mean "${form(guess)}"?` : ''} (expected ${expected} with a key devices carry: ${known.length ? known.join(', ') : 'no device has tags'})`;
}

/** tagKeyProblem read from hub.db's tag index (device_tags): the keys once, not every device's tags. */
export function storedTagKeyProblem(db: Db, key: string, form: (k: string) => string, expected?: string): string | null {
  if (db.prepare('SELECT 1 FROM device_tags WHERE key = ? LIMIT 1').get(key)) return null;
  const anyDevice = !!db.prepare('SELECT 1 FROM devices LIMIT 1').get();
  const keys = new Set((db.prepare('SELECT DISTINCT key FROM device_tags').all() as Array<{ key: string }>).map((r) => r.key));
  return tagKeyProblem(keys, anyDevice, key, form, expected);
}
