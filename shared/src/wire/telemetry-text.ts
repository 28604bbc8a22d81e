// The text a hub stores for each window of a telemetry batch, cut from the payload as the device sent
// it instead of serialising the parsed window again (docs/decisions/0048-stored-window-text.md).
// JSON is compositional: the text of one element of the batch's `windows` array parses, on its own,
// to exactly the value JSON.parse gave that element inside the batch. So when the batch passed the
// plain-loop check (fastTelemetryBatch: the parsed value is what zod returns, nothing stripped or
// defaulted), an element's text minus its `seq` member parses to the validated window minus `seq`,
// which is what the hub stored before. The agent sends `{...window, seq}` (seq last); the simulators
// `{seq, ...}` (first): both are cut in one copy of the bytes; any other layout is left to
// JSON.stringify.
import type { TelemetryBatch } from './telemetry.js';

const QUOTE = 34;
const BACKSLASH = 92;
const COLON = 58;
const LBRACE = 123;
const RBRACE = 125;
const LBRACK = 91;
const RBRACK = 93;
/** What the span scanner looks at, by byte (0: nothing; one table load per byte). */
const STR = 1;
const OPEN = 2;
const CLOSE = 3;
const CLASS = new Uint8Array(256);
CLASS[QUOTE] = STR;
CLASS[LBRACE] = OPEN;
CLASS[LBRACK] = OPEN;
CLASS[RBRACE] = CLOSE;
CLASS[RBRACK] = CLOSE;

/** The index of the first byte at or after `i` that is not JSON whitespace. */
function nextNonSpace(b: Uint8Array, i: number): number {
  for (;;) {
    const c = b[i];
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) return i;
    i++;
  }
}

/**
 * [start, end) of every element of the top-level object's `windows` array in `text`, given also as
 * its UTF-8 `bytes` (the payload: scanning bytes is cheaper than scanning characters). `text` must
 * be JSON that JSON.parse accepted. Null when the text is not all ASCII (byte and character offsets
 * would differ), the top level is not an object, `windows` is not an array of objects, a top-level
 * key is written with escapes, or `windows` occurs twice (JSON.parse would keep the last).
 */
export function windowSpans(text: string, bytes: Uint8Array): number[] | null {
  const n = bytes.length;
  if (text.length !== n) return null;
  const spans: number[] = [];
  let depth = 0;
  let seen = 0;
  let inWindows = false;
  let start = -1;
  for (let i = 0; i < n; i++) {
    const c = bytes[i] as number;
    const t = CLASS[c];
    if (t === 0) continue; // digits, letters, commas, ':' and whitespace are most of the text
    if (t === STR) {
      const open = i;
      for (i++; i < n; i++) {
        const d = bytes[i];
        if (d === QUOTE) break;
        if (d === BACKSLASH) i++; // the escaped character
      }
      if (depth === 1 && bytes[nextNonSpace(bytes, i + 1)] === COLON) {
        const key = text.slice(open + 1, i);
        if (key.includes('\\')) return null;
        if (key === 'windows') {
          if (++seen > 1) return null;
          const k = nextNonSpace(bytes, nextNonSpace(bytes, i + 1) + 1);
          if (bytes[k] !== LBRACK) return null;
          inWindows = true;
          depth = 2;
          i = k;
        }
      }
    } else if (t === OPEN) {
      depth++;
      if (depth === 1) {
        if (c !== LBRACE) return null;
      } else if (inWindows && depth === 3) {
        if (c !== LBRACE) return null;
        start = i;
      }
    } else {
      if (inWindows && depth === 3) spans.push(start, i + 1);
      depth--;
      if (inWindows && depth === 1) inWindows = false;
    }
  }
  return seen === 1 ? spans : null;
}

/**
 * Per window of `batch` (parsed from `text`, which is `bytes` in UTF-8, and accepted by
 * fastTelemetryBatch), the JSON to store:
 * its text without the `seq` member, or undefined where that cannot be cut cheaply (then serialise
 * the window). Null when the payload's layout is not followed at all.
 */
export function storedWindowTexts(text: string, bytes: Uint8Array, batch: TelemetryBatch): Array<string | undefined> | null {
  const spans = windowSpans(text, bytes);
  const ws = batch.windows;
  if (spans === null || spans.length !== ws.length * 2) return null;
  // \u escapes could spell a second "seq" key that a plain search misses (JSON.parse keeps the last): serialise.
  if (text.includes('\\u')) return null;
  const out = new Array<string | undefined>(ws.length);
  for (let i = 0; i < ws.length; i++) out[i] = withoutSeq(text, bytes, spans[2 * i] as number, spans[2 * i + 1] as number, (ws[i] as { seq: number }).seq);
  return out;
}

/**
 * The object text [start, end) without its `"seq":N` member when that is its last or first member,
 * written so, and the object has no other "seq" in it (a second member, a nested key or string).
 */
function withoutSeq(text: string, bytes: Uint8Array, start: number, end: number, seq: number): string | undefined {
  const last = `,"seq":${seq}}`;
  if (text.endsWith(last, end)) {
    const at = end - last.length + 1; // its "seq"
    return text.indexOf('"seq"', start) === at ? joined(bytes, LBRACE_NONE, start, end - last.length, RBRACE) : undefined;
  }
  const first = `{"seq":${seq},`;
  if (!text.startsWith(first, start)) return undefined;
  const again = text.indexOf('"seq"', start + first.length);
  return again === -1 || again >= end ? joined(bytes, LBRACE, start + first.length, end, LBRACE_NONE) : undefined;
}

const LBRACE_NONE = -1;
let scratch = Buffer.allocUnsafeSlow(8192);

/**
 * `before` (a byte, or none), bytes [from, to), `after` as one flat string of its own: not a slice of
 * the payload's text (that would keep the whole payload alive until the window is stored, and a
 * joined string is copied again when bound), built in a scratch buffer (ASCII: latin1 is exact).
 */
function joined(bytes: Uint8Array, before: number, from: number, to: number, after: number): string {
  const n = to - from + (before >= 0 ? 1 : 0) + (after >= 0 ? 1 : 0);
  if (scratch.length < n) scratch = Buffer.allocUnsafeSlow(n * 2);
  let k = 0;
  if (before >= 0) scratch[k++] = before;
  scratch.set(bytes.subarray(from, to), k);
  k += to - from;
  if (after >= 0) scratch[k++] = after;
  return scratch.toString('latin1', 0, k);
}

/**
 * Where a window object keeps its stored text: a non-enumerable property (not a WeakMap: its
 * ephemeron entries cost the garbage collector more than the cut saved), so JSON.stringify and
 * object spread leave it behind, and a copy of the window (hub clock-offset.ts moves a start that
 * way) has none. A window is not changed after parsing, only copied.
 */
const TEXT = Symbol('edgefleet.storedWindowText');

/** Remembers the stored text of each window of a batch parsed from `text` (`bytes` in UTF-8; see storedWindowTexts). */
export function rememberWindowTexts(text: string, bytes: Uint8Array, batch: TelemetryBatch): void {
  const cut = storedWindowTexts(text, bytes, batch);
  if (cut === null) return;
  const ws = batch.windows;
  for (let i = 0; i < ws.length; i++) {
    const t = cut[i];
    if (t !== undefined) Object.defineProperty(ws[i], TEXT, { value: t });
  }
}

/** The JSON to store for a window (without its seq) that rememberWindowTexts saw, else undefined. */
export function windowText(w: object): string | undefined {
  return (w as { [TEXT]?: string })[TEXT];
}
