// Output for the operator CLI: small text layouts (key: value lines, tables,
// sizes) and a tiny progress bar for long jobs that draws on stderr only when
// stderr is a terminal. The command context and writers are @edgefleet/shared/cli's. Every value
// printed for people goes through escapeText (shared/src/text.ts): a reason with a terminal escape or
// a newline prints inert.
import { escapeLines, escapeText } from '@edgefleet/shared';
import type { Writer } from '@edgefleet/shared/cli';

export { StringWriter, type CliContext, type Writer } from '@edgefleet/shared/cli';

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

export interface ProgressOptions {
  /** What is being done, shown before the bar ("hashing model.onnx"). */
  label: string;
  /** Total units (bytes); 0 or unknown draws a counter without a bar. */
  total: number;
  /** Formats a unit count; bytes by default. */
  format?: (n: number) => string;
  /** Minimum change in whole percent between redraws, to keep the terminal quiet. */
  stepPercent?: number;
}

/**
 * A one-line progress bar redrawn in place with `\r`. It writes nothing when the
 * writer is not a TTY, so piped output and tests stay clean. `done()` ends the line.
 */
export class ProgressBar {
  private current = 0;
  private lastPercent = -1;
  private finished = false;
  private readonly enabled: boolean;
  private readonly format: (n: number) => string;
  private readonly step: number;

  constructor(private readonly out: Writer, private readonly opts: ProgressOptions) {
    this.enabled = out.isTTY === true;
    this.format = opts.format ?? formatBytes;
    this.step = opts.stepPercent ?? 1;
  }

  /** Adds `n` units of work done. */
  tick(n: number): void {
    this.update(this.current + n);
  }

  /** Sets the units of work done so far. */
  update(current: number): void {
    this.current = current;
    if (!this.enabled || this.finished) return;
    const pct = this.opts.total > 0 ? Math.min(100, Math.floor((current / this.opts.total) * 100)) : 0;
    if (this.lastPercent >= 0 && pct - this.lastPercent < this.step && pct < 100) return;
    this.lastPercent = pct;
    this.out.write(`\r${this.render(pct)}`);
  }

  /** Finishes the line; safe to call twice. */
  done(): void {
    if (this.finished) return;
    if (this.enabled) {
      if (this.opts.total > 0) this.current = this.opts.total;
      this.out.write(`\r${this.render(100)}\n`);
    }
    this.finished = true;
  }

  /** The text of the bar at `pct` percent (exposed for tests). */
  render(pct: number): string {
    const counter = this.opts.total > 0
      ? `${this.format(this.current)} / ${this.format(this.opts.total)}`
      : this.format(this.current);
    if (this.opts.total <= 0) return `${this.opts.label} ${counter}`;
    const cols = this.out.columns ?? 80;
    const width = Math.max(10, Math.min(30, cols - this.opts.label.length - counter.length - 12));
    const filled = Math.round((pct / 100) * width);
    return `${this.opts.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(pct).padStart(3)}% ${counter}`;
  }
}

/** A command's result: `value` as JSON for scripts (`--json`), else `text()` for people, escaped line by line. */
export function printResult(out: Writer, json: boolean, value: unknown, text: () => string): void {
  out.write(json ? `${JSON.stringify(value, null, 2)}\n` : escapeLines(text()));
}
