// Values the operator CLI reads from its options, one parser each, so every command says the same
// thing about the same mistake: KEY=VALUE tags (a key given twice is refused, not the last one kept),
// durations ("90", "90s", "30m", "2h", "1d", "1h30m"), comma lists without repeats, and one of a
// closed list of words (naming the one likely meant).
import { parseDurationSec } from '@edgefleet/shared';
import { closest } from '@edgefleet/shared/cli';
import { UsageError, optStrings, parsePositiveInt, problemOf, usageProblem, type ParsedArgs } from '../args.js';

/** `--tag k=v` options as a tag map; `what` names the option in errors. An empty value is allowed unless `nonEmpty`. */
export function parseTagOptions(list: readonly string[], what = '--tag', opts: { nonEmpty?: boolean } = {}): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const t of list) {
    const i = t.indexOf('=');
    if (i <= 0 || (opts.nonEmpty && i === t.length - 1)) throw new UsageError(`${what} ${t}: expected KEY=VALUE (e.g. ${what} ring=canary)`);
    const k = t.slice(0, i);
    if (Object.hasOwn(tags, k)) throw new UsageError(`${what} ${k} is given twice (${k}=${tags[k]} and ${t}): expected each key once`);
    tags[k] = t.slice(i + 1);
  }
  return tags;
}

/** A duration in seconds: plain seconds or units (`90`, `30m`, `2h`, `1d`, `1h30m`). */
export function parseDuration(text: string, what: string): number {
  const sec = parseDurationSec(text);
  if (sec === null) throw new UsageError(`${what} ${text}: expected a duration such as 90s, 30m, 2h or 1d`);
  return sec;
}

/** `a,b,c` as a list; empty items dropped, a repeated one refused. */
export function parseList(text: string, what: string, expected: string): string[] {
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new UsageError(`${what} "${text}": expected ${expected}`);
  const seen = new Set<string>();
  for (const x of items) {
    if (seen.has(x)) throw new UsageError(`${what} "${text}": ${x} is given twice: expected each once`);
    seen.add(x);
  }
  return items;
}

/** One of `choices`; else `WHAT: expected one of …, got "X"`, with the choice likely meant. */
export function parseChoice<C extends string>(text: string, choices: readonly C[], what: string): C {
  const problem = choiceProblem(choices)(text);
  if (problem) throw new UsageError(`${what}: ${problem}`);
  return text as C;
}

/** An option's check (OptionSpec.check) for a word of `choices`: what was expected, what was given, the word likely meant. */
export function choiceProblem(choices: readonly string[]): (text: string) => string | undefined {
  return (text) => {
    if (choices.includes(text)) return undefined;
    const meant = closest(text, choices);
    return `expected one of ${choices.join(', ')}, got "${text}"${meant ? `; did you mean "${meant}"?` : ''}`;
  };
}

/** An option's check (OptionSpec.check) for a finite number. */
export function numberProblem(text: string): string | undefined {
  return text.trim() !== '' && Number.isFinite(Number(text)) ? undefined : `expected a number, got "${text}"`;
}

/** The values of a repeatable option its check passes: a key given twice is judged among these, the others named already. */
export function wellFormed(list: readonly string[], check: (text: string) => string | undefined): string[] {
  return list.filter((x) => check(x) === undefined);
}

/** An option's check (OptionSpec.check) for one `KEY=VALUE` tag; a key given twice is `tagKeysProblem`'s. */
export const tagCheck = problemOf((t) => parseTagOptions([t]));

/** A Command's check for a repeatable `--tag`: a key given twice, among the values tagCheck passed. */
export function tagKeysProblem(args: ParsedArgs, name = 'tag'): string | undefined {
  return usageProblem(() => parseTagOptions(wellFormed(optStrings(args, name), tagCheck), `--${name}`));
}

/** An option's check (OptionSpec.check) for a duration (parseDuration), the problem naming `--NAME`. */
export const durationCheck = (name: string) => problemOf((t) => parseDuration(t, `--${name}`));

/** A positive integer `--NAME` of at most `max`; `hint` says what to do for more (its problem names both). */
export function parseBoundedInt(text: string, name: string, max: number, hint: string): number {
  const n = parsePositiveInt(text, `--${name}`);
  if (n > max) throw new UsageError(`--${name} ${text}: expected at most ${max} ${hint}`);
  return n;
}
