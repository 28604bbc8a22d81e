// Output for the operator CLI: small text layouts (key: value lines, tables,
// sizes); the progress bar for long jobs (drawn on stderr only when stderr is a terminal), the command
// context and writers are @edgefleet/shared/cli's. Every value
// printed for people goes through escapeText (shared/src/text.ts): a reason with a terminal escape or
// a newline prints inert.
import { escapeLines, escapeText } from '@edgefleet/shared';
import type { Writer } from '@edgefleet/shared/cli';

export { ProgressBar, StringWriter, endProgressLine, waitNote, type CliContext, type ProgressOptions, type Writer } from '@edgefleet/shared/cli';

/** Lines of `key: value` with the keys padded to one column. */
export function keyValues(rows: ReadonlyArray<readonly [string, string]>, indent = ''): string {
  const safe = rows.map(([k, v]) => [escapeText(k), escapeText(v)] as const);
  const width = Math.max(0, ...safe.map(([k]) => k.length));
  return safe.map(([k, v]) => `${indent}${`${k}:`.padEnd(width + 2)}${v}\n`).join('');
}

/** A plain text table: a header row and rows, columns padded to their widest cell. */
export function table(header: readonly string[], cells: ReadonlyArray<readonly string[]>, indent = ''): string {
  const rows = cells.map((r) => r.map(escapeText));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    indent + cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd() + '\n';
  return line(header) + rows.map(line).join('');
}

/** `1536` -> `1.5 KiB`. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** Shortens a 64-hex id for people: the first 12 characters. */
export function shortId(id: string): string {
  return id.length > 16 ? id.slice(0, 12) : id;
}

/** A command's result: `value` as JSON for scripts (`--json`), else `text()` for people, escaped line by line. */
export function printResult(out: Writer, json: boolean, value: unknown, text: () => string): void {
  out.write(json ? `${JSON.stringify(value, null, 2)}\n` : escapeLines(text()));
}
