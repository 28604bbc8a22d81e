// Shapes in messages: an error echoes what was sent, but a bounded part of it, so a request with a
// shape of thousands of dims gets an answer of a line, not kilobytes (docs/agent.md "Local API").

/** How many dims of a shape a message shows. */
export const SHAPE_ECHO_DIMS = 16;
/** How many characters of a dim that is not a number a message shows. */
const DIM_ECHO_CHARS = 24;

function dimText(d: unknown): string {
  if (typeof d === 'number') return String(d);
  const text = JSON.stringify(d) ?? String(d);
  return text.length > DIM_ECHO_CHARS ? `${text.slice(0, DIM_ECHO_CHARS)}…` : text;
}

/**
 * A shape for a message: `[1, 12]`; past SHAPE_ECHO_DIMS dims the first ones, then how many there
 * are (`[1, 1, …, 1, … (5000 dims)]`). Dims that are not numbers are shown as JSON, cut short.
 */
export function shapeText(shape: readonly unknown[]): string {
  const shown = shape.slice(0, SHAPE_ECHO_DIMS).map(dimText).join(', ');
  return shape.length > SHAPE_ECHO_DIMS ? `[${shown}, … (${shape.length} dims)]` : `[${shown}]`;
}

/** Something sent where a shape was expected, for a message: a list as shapeText, else its JSON cut short. */
export function shapeValueText(v: unknown): string {
  return Array.isArray(v) ? shapeText(v) : dimText(v);
}
