// How a count is said to people (pure: the console renderer; docs/console.md "Using it"): whole numbers with
// a comma between thousands, `1,234,567`, the same in every browser whatever its locale (an operator reads
// the same figure in the console, the CLI's JSON and a colleague's screenshot).

/** `1234567` as `1,234,567`; a fraction keeps its decimals (`1,234.5`); NaN and infinities as String() says them. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const [whole = '', frac] = String(Math.abs(n)).split('.');
  // String() writes 1e21 and up in exponent form: those are left as they are.
  if (!/^\d+$/.test(whole)) return String(n);
  const grouped = whole.replace(/\B(?=(\d{3})+$)/g, ',');
  return `${n < 0 ? '-' : ''}${grouped}${frac === undefined ? '' : `.${frac}`}`;
}

/** `n` and its noun, singular for one: `1 device`, `12,000 devices`. */
export function countOf(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}
