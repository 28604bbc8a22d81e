// Semantic version comparison (https://semver.org section 11) for agent minimum
// versions and model version ordering. Build metadata is ignored.
import { AppError } from './errors.js';

const RE = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?$/;

interface Parsed { core: [bigint, bigint, bigint]; pre: string[] }

function parse(v: string, what: string): Parsed {
  const m = RE.exec(v);
  if (!m) throw new AppError('INVALID_INPUT', `${what} ${JSON.stringify(v)} is not a semantic version; expected MAJOR.MINOR.PATCH[-prerelease][+build] such as 1.2.3`);
  return { core: [BigInt(m[1] as string), BigInt(m[2] as string), BigInt(m[3] as string)], pre: m[4] ? m[4].split('.') : [] };
}

/** True when `v` is a valid semantic version. */
export function isSemver(v: string): boolean {
  return RE.test(v);
}

function cmpIdent(a: string, b: string): -1 | 0 | 1 {
  const an = /^\d+$/.test(a);
  const bn = /^\d+$/.test(b);
  if (an && bn) { const x = BigInt(a); const y = BigInt(b); return x < y ? -1 : x > y ? 1 : 0; }
  if (an) return -1; // numeric identifiers have lower precedence than alphanumeric ones
  if (bn) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** -1, 0 or 1 as `a` has lower, equal or higher precedence than `b`; throws INVALID_INPUT on a bad version. */
export function compareSemver(a: string, b: string): -1 | 0 | 1 {
  const x = parse(a, 'version');
  const y = parse(b, 'version');
  for (let i = 0; i < 3; i++) {
    const p = x.core[i] as bigint;
    const q = y.core[i] as bigint;
    if (p !== q) return p < q ? -1 : 1;
  }
  // A version with a prerelease has lower precedence than the same version without one.
  if (x.pre.length === 0 || y.pre.length === 0) {
    return x.pre.length === y.pre.length ? 0 : x.pre.length === 0 ? 1 : -1;
  }
  const n = Math.min(x.pre.length, y.pre.length);
  for (let i = 0; i < n; i++) {
    const c = cmpIdent(x.pre[i] as string, y.pre[i] as string);
    if (c !== 0) return c;
  }
  return x.pre.length === y.pre.length ? 0 : x.pre.length < y.pre.length ? -1 : 1;
}

/** True when `version` is at least `min` (e.g. the agent's version against a manifest's minAgentVersion). */
export function satisfiesMin(version: string, min: string): boolean {
  return compareSemver(version, min) >= 0;
}
