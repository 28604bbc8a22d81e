// An option given more than once (docs/cli.md "Options given more than once",
// docs/decisions/0178-an-option-given-twice-is-refused.md): a single-valued option given twice, or one value of a
// repeatable option given twice, is a usage error naming the option, not the last one kept silently (node's parseArgs).
import type { Command, OptionValue } from './command.js';

/** What parseArgs' tokens say of one option given (its long name and value). */
export interface OptionToken {
  name: string;
  value?: string | undefined;
}

const times = (n: number) => (n === 2 ? 'twice' : `${n} times`);

/**
 * The problems of options given more than once, and `values` with each repeatable option's repeats dropped (so its
 * checks name a malformed value or a key given twice once). An option declared `repeatValues` (a list matched by
 * position, one per --sample) may repeat a value.
 */
export function repeatProblems(cmd: Command, tokens: readonly OptionToken[], values: Record<string, OptionValue>): string[] {
  const given = new Map<string, Array<string | undefined>>();
  for (const t of tokens) given.set(t.name, [...(given.get(t.name) ?? []), t.value]);
  const problems: string[] = [];
  for (const [name, list] of given) {
    const spec = cmd.options[name];
    if (!spec || list.length < 2) continue;
    if (!spec.multiple) {
      const shown = list.filter((v): v is string => v !== undefined).map((v) => JSON.stringify(v));
      problems.push(`--${name} is given ${times(list.length)}${shown.length ? ` (${shown.join(', ')})` : ''}: expected it once`);
      continue;
    }
    if (spec.repeatValues) continue;
    const counts = new Map<string, number>();
    for (const v of list) if (v !== undefined) counts.set(v, (counts.get(v) ?? 0) + 1);
    for (const [v, n] of counts) if (n > 1) problems.push(`--${name} ${JSON.stringify(v)} is given ${times(n)}: expected each ${spec.value ?? (spec.type === 'integer' ? 'N' : 'VALUE')} once`);
    const v = values[name];
    if (Array.isArray(v)) values[name] = [...new Set<string | boolean>(v)] as OptionValue;
  }
  return problems;
}
