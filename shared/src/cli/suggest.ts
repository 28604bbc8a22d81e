// "Did you mean" for a bad command line (dispatch.ts): the one known word closest to a mistyped one;
// and for a field not known at its place (wire/unknown-fields.ts, infer/request.ts). zod-free.

/** Edit distance (insertions, deletions, substitutions, and a swap of two neighbours counting one). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate `word` most likely meant: the only one it is a prefix of, else the nearest within
 * a third of its length (at least 1 edit); none when two are equally near, none is near, or the word
 * is over 64 characters.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  // No command or option is this long: a pasted blob gets no guess (and no distance over its length).
  if (word.length > 64) return undefined;
  const known = [...new Set(candidates)].filter((c) => c !== word);
  const prefixed = known.filter((c) => c.startsWith(word));
  if (word.length >= 2 && prefixed.length === 1) return prefixed[0];
  const limit = Math.max(1, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestD = Infinity;
  let tie = false;
  for (const c of known) {
    const dist = editDistance(word, c);
    if (dist < bestD) { best = c; bestD = dist; tie = false; } else if (dist === bestD) tie = true;
  }
  return bestD <= limit && !tie ? best : undefined;
}

/** What follows a field's path in its refusal: the field most likely meant, and the fields expected there. */
export function unknownFieldText(key: string, known: readonly string[]): string {
  const guess = closest(key, known);
  return `unknown field${guess ? `; did you mean "${guess}"?` : ''} (expected one of ${known.join(', ')})`;
}
