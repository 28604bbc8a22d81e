// A small argv parser: `--flag value`, `--flag=value`, boolean flags, positionals.
import { AppError } from '@edgefleet/shared/core';

export interface Parsed {
  positionals: string[];
  flags: Map<string, string | true>;
}

/** `booleans` are flags that take no value. Unknown flags are refused, naming the allowed ones. */
export function parseArgs(argv: readonly string[], allowed: readonly string[], booleans: readonly string[] = []): Parsed {
  const flags = new Map<string, string | true>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('--')) {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    if (!allowed.includes(name) && !booleans.includes(name)) {
      throw new AppError('BAD_REQUEST', `unknown option --${name}: expected one of ${[...allowed, ...booleans].map((x) => `--${x}`).join(', ') || '(none)'}`);
    }
    if (booleans.includes(name)) {
      flags.set(name, true);
      continue;
    }
    const value = eq >= 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new AppError('BAD_REQUEST', `option --${name} needs a value`);
    flags.set(name, value);
  }
  return { positionals, flags };
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}
