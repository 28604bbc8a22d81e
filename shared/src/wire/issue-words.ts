// How a refused setting reads in a CONFIG_INVALID message (the agent's and the hub's config, `config set`):
// the key, what was expected in plain words, and the value given ("summaries.windowSec: expected a
// number, got "abc""). zod's own wording ("Invalid input: expected number, received string") names only
// the type it received; the schemas' own messages ("expected at most 65535 ...") are kept as they are.

const NOUNS: Record<string, string> = { number: 'a number', int: 'a whole number', string: 'a string', boolean: 'true or false', object: 'an object', array: 'an array', record: 'an object' };
const BOUNDS: Record<string, string> = { '>': 'above', '>=': 'at least', '<': 'below', '<=': 'at most' };

/** A zod default message in plain words; any other message unchanged. */
export function plainIssue(message: string): string {
  let m = /^Invalid input: expected (\w+), received \w+$/.exec(message);
  if (m) return `expected ${NOUNS[m[1]!] ?? m[1]}`;
  m = /^Too (?:small|big): expected (\w+) to (?:be|have) ([<>]=?)(\S+)( \w+)?$/.exec(message);
  if (m && m[1] === 'string' && m[2] === '>=' && m[3] === '1') return 'expected a non-empty string';
  if (m) return `expected ${m[1] === 'number' || m[1] === 'int' ? `${NOUNS[m[1]]} ` : ''}${BOUNDS[m[2]!]} ${m[3]}${m[4] ?? ''}`;
  m = /^Invalid option: expected one of (.+)$/.exec(message);
  if (m) return `expected one of ${m[1]!.split('|').join(', ')}`;
  return message;
}

/**
 * ", got "wsam"": the refused value at `path` of `root`, so an error shows what was read. Not for an
 * unknown key, a missing value, a message that names it already, or a secret (a token, a password, a key
 * file, a database URL that may hold a password): those are never echoed to a log.
 */
export function givenText(root: unknown, path: readonly PropertyKey[], message: string): string {
  if (message.startsWith('unknown field') || /\bgot\b/.test(message)) return '';
  if (path.some((p) => typeof p === 'string' && /token|secret|password|key|database/i.test(p))) return '';
  let v: unknown = root;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  if (v === undefined) return '';
  const text = JSON.stringify(v) ?? String(v);
  return `, got ${text.length > 80 ? `${text.slice(0, 77)}...` : text}`;
}
