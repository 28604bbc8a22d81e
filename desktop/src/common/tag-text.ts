// Device tags as the console shows and edits them: `site=north ring=canary`, a value with a space, a
// comma, a quote or an `=` written as a JSON string (`note="hello world"`), so that every value the hub
// accepts (any text up to 256 characters, docs/hub.md "HTTP connections", Tags) survives a round trip through a text box.
// The hub checks keys and lengths; this only splits what was typed.

/** A value that needs no quotes: no space, comma, quote or backslash, and not empty. */
const BARE = /^[^\s,"\\]+$/;

/** One tag as text: `key=value`, or `key="a value"` where the value needs quoting. */
export function tagText(key: string, value: string): string {
  return `${key}=${BARE.test(value) ? value : JSON.stringify(value)}`;
}

/** All of a device's tags as one line, in the order given. */
export function formatTags(tags: Record<string, string>): string {
  return Object.entries(tags).map(([k, v]) => tagText(k, v)).join(' ');
}

const SEP = /[\s,]/;
const HELP = 'expected key=value, separated by spaces or commas (quote a value with spaces or commas: note="a b")';

/**
 * Tags typed as `k=v k2="v 2", k3=v3`. Throws an Error naming the part that is wrong: a part without
 * "=", an empty key, an unclosed quote, text straight after a closing quote, or a key given twice.
 */
export function parseTags(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && SEP.test(text[i] ?? '')) i++;
    if (i >= n) break;
    const start = i;
    while (i < n && text[i] !== '=' && !SEP.test(text[i] ?? '')) i++;
    const key = text.slice(start, i);
    if (text[i] !== '=') throw new Error(`tag "${key}": ${HELP}`);
    if (!key) throw new Error(`tag "${text.slice(start, Math.min(n, start + 40))}": the key is empty; ${HELP}`);
    i++; // past "="
    let value: string;
    if (text[i] === '"') {
      const open = i++;
      while (i < n && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      if (i >= n) throw new Error(`tag "${key}": the quote opened at ${text.slice(open, open + 20)}… is not closed`);
      i++; // past the closing quote
      try {
        value = JSON.parse(text.slice(open, i)) as string;
      } catch {
        throw new Error(`tag "${key}": ${text.slice(open, i)} is not a valid quoted value (escape a quote inside it as \\")`);
      }
      if (i < n && !SEP.test(text[i] ?? '')) throw new Error(`tag "${key}": expected a space or comma after the closing quote, got "${text[i]}"`);
    } else {
      const v0 = i;
      while (i < n && !SEP.test(text[i] ?? '')) i++;
      value = text.slice(v0, i);
      if (value.includes('"')) throw new Error(`tag "${key}": a quote may only open a value (note="a b"); got ${value}`);
    }
    if (Object.hasOwn(out, key)) throw new Error(`tag "${key}" is given twice: expected each key once`);
    out[key] = value;
  }
  return out;
}
