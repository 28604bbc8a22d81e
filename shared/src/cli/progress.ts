// Progress of long work for the three programs (docs/cli.md "Progress"): a one-line bar (or a counter when
// the total is unknown) redrawn in place on a terminal at most a few times a second, and a note saying what a
// command waits for. Both write nothing when the writer is not a terminal, so piped output, CI logs and tests
// stay clean (docs/decisions/0182-progress-on-a-terminal-only.md).
import { formatBytes } from '../disk-text.js';
import { escapeText } from '../text.js';
import type { Writer } from './command.js';

export interface ProgressOptions {
  /** What is being done, shown before the bar ("hashing", "pushing"). */
  label: string;
  /** Total units (bytes by default); 0 or unknown draws a counter without a bar. */
  total: number;
  /** Formats a unit count; bytes by default. */
  format?: (n: number) => string;
  /** Minimum change in whole percent between redraws (default 1). */
  stepPercent?: number;
  /** Minimum milliseconds between redraws (default 200: five a second at most). */
  intervalMs?: number;
  /** A monotonic clock in milliseconds (default performance.now; a fake one in tests). */
  now?: () => number;
}

/** Writers a bar has drawn on without ending its line yet. */
const openLines = new WeakSet<Writer>();

/**
 * Ends a bar's line left unfinished on `out` (a command failing or stopped mid-way, a message written meanwhile),
 * so what is written next starts a line of its own instead of trailing the bar. Nothing when no bar is open.
 */
export function endProgressLine(out: Writer): void {
  if (!openLines.has(out)) return;
  openLines.delete(out);
  out.write('\n');
}

/**
 * A one-line progress bar redrawn in place with `\r`. It writes nothing when the writer is not a TTY.
 * `done()` ends the line.
 */
export class ProgressBar {
  private current = 0;
  private lastPercent = -1;
  private lastDrawn = Number.NEGATIVE_INFINITY;
  private finished = false;
  private readonly enabled: boolean;
  private readonly format: (n: number) => string;
  private readonly step: number;
  private readonly interval: number;
  private readonly now: () => number;

  constructor(private readonly out: Writer, private readonly opts: ProgressOptions) {
    this.enabled = out.isTTY === true;
    this.format = opts.format ?? formatBytes;
    this.step = opts.stepPercent ?? 1;
    this.interval = opts.intervalMs ?? 200;
    this.now = opts.now ?? (() => performance.now());
  }

  /** Adds `n` units of work done. */
  tick(n: number): void {
    this.update(this.current + n);
  }

  /** Sets the units of work done so far. */
  update(current: number): void {
    this.current = current;
    if (!this.enabled || this.finished) return;
    const pct = this.percent();
    // A counter (no total) redraws on time alone; a bar when it moved a step too.
    const moved = this.opts.total <= 0 || this.lastPercent < 0 || pct - this.lastPercent >= this.step;
    const t = this.now();
    if (!moved || t - this.lastDrawn < this.interval) return;
    this.lastPercent = pct;
    this.lastDrawn = t;
    openLines.add(this.out);
    this.out.write(`\r${this.render(pct)}`);
  }

  /** Finishes the line (at 100% when there is a total); safe to call twice. */
  done(): void {
    if (this.finished) return;
    if (this.enabled) {
      if (this.opts.total > 0) this.current = this.opts.total;
      this.out.write(`\r${this.render(this.percent())}\n`);
      openLines.delete(this.out);
    }
    this.finished = true;
  }

  private percent(): number {
    return this.opts.total > 0 ? Math.min(100, Math.floor((this.current / this.opts.total) * 100)) : 0;
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

/**
 * Says on a terminal what a command now waits for, where no bytes can be counted (the hub checking a pushed
 * bundle, onnxruntime loading a model, SQLite copying or checking hub.db): one line ending in "…", escaped
 * (a path or name with a terminal escape prints inert).
 */
export function waitNote(out: Writer, text: string): void {
  if (out.isTTY !== true) return;
  endProgressLine(out);
  out.write(`${escapeText(text)}…\n`);
}

/**
 * What long work reports to as it goes: a bar per step with bytes to count (`label`, their total), and a note for a
 * step with none (`note`: SQLite copying hub.db, onnxruntime loading a model). The work takes one, the command draws it.
 */
export type Progress = ((label: string, totalBytes: number) => { tick(n: number): void; done(): void }) & { note?: (text: string) => void };
/** Progress that shows nothing (the default of work run outside a command: the agent's updater, tests). */
export const quietProgress: Progress = () => ({ tick: () => undefined, done: () => undefined });
/** Progress drawn on `out` when it is a terminal, nothing when it is not: ProgressBar and waitNote. */
export const progressOn = (out: Writer): Progress => Object.assign((label: string, total: number) => new ProgressBar(out, { label, total }), { note: (text: string) => waitNote(out, text) });
