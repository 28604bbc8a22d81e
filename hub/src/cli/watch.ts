// The live view of `deployments show --watch` and `rollout show --watch`: polls until `done` (or
// SIGINT). On a terminal the view is redrawn in place; otherwise a line is printed when the summary
// line changes, and the full view once at the end.
import type { CliContext } from './output.js';

export interface WatchSpec<T> {
  fetch(): Promise<T>;
  done(t: T): boolean;
  /** The full view. */
  render(t: T): string;
  /** One line for plain output (printed when it changes). */
  line(t: T): string;
  /** The status under the view on a terminal once done. */
  doneText(t: T): string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function watchUntil<T>(spec: WatchSpec<T>, ctx: CliContext, intervalMs: number): Promise<T> {
  const tty = ctx.stdout.isTTY === true;
  let interrupted = false;
  const onInt = () => { interrupted = true; };
  process.once('SIGINT', onInt);
  let lastLines = 0;
  let last = '';
  try {
    for (;;) {
      const t = await spec.fetch();
      const done = spec.done(t);
      if (tty) {
        const text = `${spec.render(t)}\n${done ? spec.doneText(t) : 'watching (Ctrl-C to stop)'} ${ctx.now().toISOString()}\n`;
        // Move up over the previous frame and clear to the end of the screen.
        ctx.stdout.write(`${lastLines ? `\x1b[${lastLines}F` : ''}\x1b[J${text}`);
        lastLines = text.split('\n').length - 1;
      } else {
        const line = spec.line(t);
        if (line !== last) ctx.stdout.write(`${ctx.now().toISOString()} ${line}\n`);
        last = line;
        if (done || interrupted) ctx.stdout.write(`\n${spec.render(t)}`);
      }
      if (done || interrupted) return t;
      await sleep(intervalMs);
    }
  } finally {
    process.off('SIGINT', onInt);
  }
}
