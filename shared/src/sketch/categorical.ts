// Counts per vocabulary value; anything outside the vocabulary goes to `other`.
// Merging adds counts key by key, so it is exact, associative and commutative.
import { AppError } from '../errors.js';
import type { CategoricalSketch } from './schema.js';

export function emptyCategorical(): CategoricalSketch {
  return { counts: {}, other: 0 };
}

// defineProperty, not assignment: a vocabulary value such as "__proto__" must be
// an ordinary key, not a write to the object's prototype.
function bump(rec: Record<string, number>, key: string, by: number): void {
  if (Object.hasOwn(rec, key)) rec[key] = (rec[key] as number) + by;
  else Object.defineProperty(rec, key, { value: by, writable: true, enumerable: true, configurable: true });
}

/**
 * Counts `value` (mutating). A string counts under itself when it is in the
 * vocabulary; a number is the encoded index into the vocabulary (the manifest's
 * encoding: value i is vocabulary[i]). Anything else counts as `other`.
 */
export function addCategory(c: CategoricalSketch, vocabulary: readonly string[], value: string | number): void {
  if (typeof value === 'number') {
    const key = Number.isInteger(value) ? vocabulary[value] : undefined;
    if (key === undefined) c.other++;
    else bump(c.counts, key, 1);
    return;
  }
  if (typeof value !== 'string') {
    throw new AppError('INVALID_INPUT', `cannot count a categorical value of type ${typeof value}: expected a string or a vocabulary index`);
  }
  if (vocabulary.includes(value)) bump(c.counts, value, 1);
  else c.other++;
}

/** A new sketch holding both. */
export function mergeCategorical(a: CategoricalSketch, b: CategoricalSketch): CategoricalSketch {
  const counts: Record<string, number> = {};
  for (const [k, v] of Object.entries(a.counts)) bump(counts, k, v);
  for (const [k, v] of Object.entries(b.counts)) bump(counts, k, v);
  return { counts, other: a.other + b.other };
}

export function categoricalTotal(c: CategoricalSketch): number {
  let t = c.other;
  for (const v of Object.values(c.counts)) t += v;
  return t;
}

/** Counts in vocabulary order followed by `other`: a distribution for the drift functions. */
export function categoricalToDistribution(c: CategoricalSketch, vocabulary: readonly string[]): number[] {
  if (new Set(vocabulary).size !== vocabulary.length) {
    throw new AppError('INVALID_INPUT', 'vocabulary has duplicate values: expected each value once');
  }
  let inVocabulary = 0;
  const out = vocabulary.map((v) => {
    const n = Object.hasOwn(c.counts, v) ? (c.counts[v] as number) : 0;
    inVocabulary += n;
    return n;
  });
  // Keys outside the vocabulary (from a sketch made with another vocabulary) are not lost: they are "other" here.
  out.push(categoricalTotal(c) - inVocabulary);
  return out;
}
