// Canonical JSON (RFC 8785 style), without Node: the bytes every signature in edgefleet is computed
// over. Keys are sorted by UTF-16 code units, there is no whitespace, numbers use the ES Number
// serialisation, and values JSON cannot represent faithfully are refused instead of being dropped.
// The console (a browser bundle) checks signatures with it; canonical.ts adds bytes and hashes.
// https://www.rfc-editor.org/rfc/rfc8785
import { AppError } from './errors.js';

function fail(path: string, what: string): never {
  throw new AppError('INVALID_INPUT', `canonical JSON: ${what} at ${path}; expected only null, booleans, finite numbers, strings, arrays and plain objects`);
}

function write(v: unknown, path: string, out: string[], stack: Set<object>): void {
  if (v === null) { out.push('null'); return; }
  switch (typeof v) {
    case 'boolean': out.push(v ? 'true' : 'false'); return;
    case 'string': out.push(JSON.stringify(v)); return;
    case 'number':
      if (!Number.isFinite(v)) fail(path, `the number ${String(v)} is not representable`);
      // ES Number serialisation (RFC 8785 section 3.2.2.3); -0 becomes 0.
      out.push(JSON.stringify(v)); return;
    case 'bigint': return fail(path, 'a BigInt is not representable');
    case 'undefined': return fail(path, 'undefined is not representable');
    case 'function': return fail(path, 'a function is not representable');
    case 'symbol': return fail(path, 'a symbol is not representable');
    default: break;
  }
  const obj = v as object;
  if (stack.has(obj)) fail(path, 'a circular reference');
  const toJSON = (obj as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') { write((toJSON as () => unknown).call(obj), path, out, stack); return; }
  stack.add(obj);
  if (Array.isArray(obj)) {
    out.push('[');
    obj.forEach((item: unknown, i) => {
      if (i > 0) out.push(',');
      write(item, `${path}[${i}]`, out, stack);
    });
    out.push(']');
  } else {
    const proto = Object.getPrototypeOf(obj) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      fail(path, `an object of class ${(obj.constructor as { name?: string } | undefined)?.name ?? 'unknown'} is not representable`);
    }
    const rec = obj as Record<string, unknown>;
    // Default sort compares UTF-16 code units, which is what RFC 8785 section 3.2.3 asks for.
    const keys = Object.keys(rec).filter((k) => rec[k] !== undefined).sort();
    out.push('{');
    keys.forEach((k, i) => {
      if (i > 0) out.push(',');
      out.push(JSON.stringify(k), ':');
      write(rec[k], `${path}.${k}`, out, stack);
    });
    out.push('}');
  }
  stack.delete(obj);
}

/**
 * The canonical JSON text of `v`. Object properties whose value is undefined are
 * omitted (as optional fields are); NaN, Infinity, BigInt, undefined in arrays,
 * functions, symbols, cycles and class instances without toJSON are refused.
 */
export function canonicalJson(v: unknown): string {
  const out: string[] = [];
  write(v, '$', out, new Set());
  return out.join('');
}

