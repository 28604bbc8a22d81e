// What a device search looks for, and when it is too short for the hub's trigram index: one definition for the
// hub, which answers GET /devices?q= (hub/src/store/device-search.ts, docs/decisions/0099-device-search-index.md),
// and the console, which holds a search the hub would refuse (docs/decisions/0115-console-holds-short-searches.md).

import { formatCount } from './count-text.js';

/** A term this long has trigrams: it is looked up by the index; a shorter one reads every row of device_search. */
export const SEARCH_INDEXED_FROM = 3;
/** The most devices a hub answers a search of 1–2 characters on, by reading each one's row (docs/decisions/0109-short-device-searches.md). */
export const SHORT_SEARCH_MAX_DEVICES = 10_000;
/**
 * GET /devices?q= counts a search's matches up to this many by the index; past it, a hub of more than
 * SHORT_SEARCH_MAX_DEVICES devices answers `total` this and `totalExact` false (at least this many match) rather
 * than read every match (docs/decisions/0123-device-search-count-capped.md).
 */
export const SEARCH_COUNT_MAX = 1_000;

const inJson = (s: string): string => JSON.stringify(s).slice(1, -1);
/** Lower case for ASCII letters only, as SQLite's LOWER and the hub's tag index. */
export const asciiLower = (s: string): string => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

/**
 * What a search looks for in the search text, in lower case (docs/hub.md "REST API"): `key=val…`, the key whole and the
 * value starting with what follows "=", as the tags JSON holds it (`"key":"val`); else the text itself, or, when it holds
 * a quote, a backslash or a control character, as the tags JSON writes them. One term is exact: an id and a version hold
 * only letters, digits and "._-+@", so a term with "=", a quote or a backslash can be in the tags JSON alone, and a term
 * holds no newline, the separator, so it never spans two parts.
 */
export function searchTerm(q: string): string {
  const s = asciiLower(q.trim());
  const eq = s.indexOf('=');
  return eq > 0 ? `"${inJson(s.slice(0, eq))}":"${inJson(s.slice(eq + 1))}` : inJson(s);
}

/** A search (not empty) too short for the trigram index: fewer than SEARCH_INDEXED_FROM characters as its term counts them. */
export const shortSearch = (q: string): boolean => q.trim() !== '' && [...searchTerm(q)].length < SEARCH_INDEXED_FROM;

/** A page's `total` as people read it: `1,000+` when the hub counted only that far (`totalExact` false), else the count. */
export const totalText = (total: number, exact: boolean): string => `${formatCount(total)}${exact ? '' : '+'}`;
