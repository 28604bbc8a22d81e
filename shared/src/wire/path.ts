// How a value's place in a wire document is named in errors (parseWire, unknown-field hints).

/** A zod issue's path as parseWire names it: `windows[0].latency.counts`, or `(root)`. */
export function describePath(path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return '(root)';
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
}
