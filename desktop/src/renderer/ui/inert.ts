// Device-reported strings (reasons, capabilities, event messages, refusals) drawn inert: a bidi override or
// isolate (U+202A-202E, U+2066-2069) would reorder the rest of a row's text as it is drawn (an id read
// backwards, a reason made to say something else). Each is shown as a visible escape, `\u202e`, as the CLI
// prints it (docs/security.md "Operators and their records"); the browser draws every other control as nothing.

const BIDI = /[\u202a-\u202e\u2066-\u2069]/g;

/** `s` with each bidi control replaced by its escape (`\u202e`), the CLI's escapeText form. */
export function inert(s: string): string {
  return s.replace(BIDI, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
