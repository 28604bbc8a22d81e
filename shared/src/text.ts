// Escaping for human-readable output (CLI tables, status lines, error lines). Reasons, notes, names
// and messages come from other people and other machines: printed raw, a terminal escape could
// recolour or erase the screen and a newline could forge a second audit line (docs/security.md "Operators and their records").
// Every control character is shown as a visible escape instead; JSON output is not touched.

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\x1b': '\\e' };

// C0 controls, DEL, C1 controls, the line/paragraph separators and the bidi overrides/isolates
// (which reorder what follows them on the line).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** `s` with every control character replaced by a visible escape (`\n`, `\e`, `\x07`, `\u202e`), so it stays one inert line. */
export function escapeText(s: string): string {
  return s.replace(CONTROL, (ch) => {
    const named = NAMED[ch];
    if (named) return named;
    const code = ch.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** escapeText for each line of a multi-line text built by the program itself: its own newlines stay. */
export function escapeLines(text: string): string {
  return text.split('\n').map(escapeText).join('\n');
}

/** Characters of a name a client sent (an input, output, field, model or version) that a message echoes. */
export const ECHO_CHARS = 64;

/**
 * A name a client sent, quoted as JSON for a message and cut to ECHO_CHARS characters (`"xxxx…"`): an
 * error echoes a bounded part of what was sent, so a 200 KB name gets a line, not 200 KB of gRPC trailer
 * (docs/agent.md "Local API").
 */
export function echoText(s: string): string {
  return JSON.stringify(s.length > ECHO_CHARS ? `${s.slice(0, ECHO_CHARS)}…` : s);
}

/**
 * Why a JSON text did not parse: a leading UTF-8 byte order mark (as some Windows editors save files) is
 * named, since the parser's message shows it as an invisible character; else the parser's message.
 */
export function jsonParseProblem(text: string | Uint8Array, err: unknown, bomHint = ''): string {
  const bom = typeof text === 'string' ? text.charCodeAt(0) === 0xfeff : text[0] === 0xef && text[1] === 0xbb && text[2] === 0xbf;
  return bom ? `it starts with a UTF-8 byte order mark, EF BB BF${bomHint}` : (err as Error).message;
}

/**
 * jsonParseProblem for a file that holds a secret (a private, content or device key, a device secret).
 * V8 quotes the text around some faults (`Unexpected token 'd', ..."key": dUyNQsjjqH"... is not valid
 * JSON`), which put part of the key on a terminal, in CI output or the journal: that excerpt is left out.
 * Its messages that give a position quote no text and are kept.
 */
export function secretJsonProblem(text: string, err: unknown): string {
  const msg = jsonParseProblem(text, err);
  if (!/ is not valid JSON$/.test(msg)) return msg;
  return `${msg.startsWith('Unexpected token') ? 'an unexpected character' : 'not JSON text'}; the text is not quoted, as the file holds a secret`;
}

/**
 * Why a data file that holds a secret did not read: the read's own error (`text` undefined: EISDIR, EACCES), an
 * empty file (cut short by a crash or a full disk, or emptied: before, "Unexpected end of JSON input"), or
 * secretJsonProblem.
 */
export function secretFileProblem(text: string | undefined, err: unknown): string {
  if (text === undefined) return (err as Error).message;
  return text === '' ? 'it is empty (0 bytes)' : secretJsonProblem(text, err);
}
