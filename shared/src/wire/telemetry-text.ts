// The text a hub stores for each window of a telemetry batch, cut from the payload as the device sent
// it instead of serialising the parsed window again (docs/decisions/0048-stored-window-text.md).
// JSON is compositional: the text of one element of the batch's `windows` array parses, on its own,
// to exactly the value JSON.parse gave that element inside the batch. So when the batch passed the
// plain-loop check (fastTelemetryBatch: the parsed value is what zod returns, nothing stripped or
// defaulted), an element's text minus its `seq` member parses to the validated window minus `seq`,
// which is what the hub stored before. The agent sends `{...window, seq}` (seq last); the simulators
// `{seq, ...}` (first): both are cut without copying the rest; any other layout is left to
// JSON.stringify.
import type { TelemetryBatch } from './telemetry.js';

const QUOTE = 34;
const BACKSLASH = 92;
const COLON = 58;
const LBRACE = 123;
const RBRACE = 125;
const LBRACK = 91;
const RBRACK = 93;
/** What the span scanner looks at, by character code (0: nothing; one table load per character). */
const STR = 1;
const OPEN = 2;
const CLOSE = 3;
const CLASS = new Uint8Array(128);
CLASS[QUOTE] = STR;
CLASS[LBRACE] = OPEN;
CLASS[LBRACK] = OPEN;
CLASS[RBRACE] = CLOSE;
CLASS[RBRACK] = CLOSE;

/** The index of the quote that closes the string opened at `open`. */
function stringEnd(text: string, open: number): number {
  let j = text.indexOf('"', open + 1);
  for (;;) {
    let b = j - 1;
    while (text.charCodeAt(b) === BACKSLASH) b--;
    if ((j - 1 - b) % 2 === 0) return j; // an even run of backslashes: the quote is not escaped
    j = text.indexOf('"', j + 1);
  }
}

/** The index of the first character at or after `i` that is not JSON whitespace. */
function nextNonSpace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) return i;
    i++;
  }
}

/**
 * [start, end) of every element of the top-level object's `windows` array in `text`, which must be
 * JSON that JSON.parse accepted; null when the top level is not an object, `windows` is not an array
 * of objects, a top-level key is written with escapes, or `windows` occurs twice (JSON.parse would
 * keep the last: not worth following).
 */
export function windowSpans(text: string): number[] | null {
  const n = text.length;
  const spans: number[] = [];
  let depth = 0;
  let seen = 0;
  let inWindows = false;
  let start = -1;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    const t = c < 128 ? (CLASS[c] as number) : 0;
    if (t === 0) continue; // digits, letters, commas, ':' and whitespace are most of the text
    if (t === STR) {
      const j = stringEnd(text, i);
      if (depth === 1 && text.charCodeAt(nextNonSpace(text, j + 1)) === COLON) {
        const key = text.slice(i + 1, j);
        if (key.includes('\\')) return null;
        if (key === 'windows') {
          if (++seen > 1) return null;
          const k = nextNonSpace(text, nextNonSpace(text, j + 1) + 1);
          if (text.charCodeAt(k) !== LBRACK) return null;
          inWindows = true;
          depth = 2;
          i = k;
          continue;
        }
      }
      i = j;
    } else if (t === OPEN) {
      depth++;
      if (depth === 1) {
        if (c !== LBRACE) return null;
      } else if (inWindows && depth === 3) {
        if (c !== LBRACE) return null;
        start = i;
      }
    } else if (t === CLOSE) {
      if (inWindows && depth === 3) spans.push(start, i + 1);
      depth--;
      if (inWindows && depth === 1) inWindows = false;
    }
  }
  return seen === 1 ? spans : null;
}

/**
 * Per window of `batch` (parsed from `text` and accepted by fastTelemetryBatch), the JSON to store:
 * its text without the `seq` member, or undefined where that cannot be cut cheaply (then serialise
 * the window). Null when the payload's layout is not followed at all.
 */
export function storedWindowTexts(text: string, batch: TelemetryBatch): Array<string | undefined> | null {
  const spans = windowSpans(text);
  const ws = batch.windows;
  if (spans === null || spans.length !== ws.length * 2) return null;
  // \u escapes could spell a second "seq" key that a plain search misses (JSON.parse keeps the last): serialise.
  if (text.includes('\\u')) return null;
  const out = new Array<string | undefined>(ws.length);
  for (let i = 0; i < ws.length; i++) out[i] = withoutSeq(text, spans[2 * i] as number, spans[2 * i + 1] as number, (ws[i] as { seq: number }).seq);
  return out;
}

/**
 * The object text [start, end) without its `"seq":N` member when that is its last or first member,
 * written so, and the object has no other "seq" in it (a second member, a nested key or string).
 */
function withoutSeq(text: string, start: number, end: number, seq: number): string | undefined {
  const last = `,"seq":${seq}}`;
  if (text.endsWith(last, end)) {
    const at = end - last.length + 1; // its "seq"
    return text.indexOf('"seq"', start) === at ? `${text.slice(start, end - last.length)}}` : undefined;
  }
  const first = `{"seq":${seq},`;
  if (!text.startsWith(first, start)) return undefined;
  const again = text.indexOf('"seq"', start + first.length);
  return again === -1 || again >= end ? `{${text.slice(start + first.length, end)}` : undefined;
}

/** Stored texts by window object; entries go with the windows (a window is not changed after parsing, only copied: hub clock-offset.ts). */
const texts = new WeakMap<object, string>();

/** Remembers the stored text of each window of a batch parsed from `text` (see storedWindowTexts). */
export function rememberWindowTexts(text: string, batch: TelemetryBatch): void {
  const cut = storedWindowTexts(text, batch);
  if (cut === null) return;
  batch.windows.forEach((w, i) => {
    const t = cut[i];
    if (t !== undefined) texts.set(w, t);
  });
}

/** The JSON to store for a window (without its seq) that rememberWindowTexts saw, else undefined. */
export function windowText(w: object): string | undefined {
  return texts.get(w);
}
