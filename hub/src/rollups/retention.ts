// Raw window retention (docs/drift.md "Retention"): summary windows older than `windowsDays` are
// deleted on a timer; the rollups made from them stay, so metrics and drift over any range stay
// exact. Off unless configured.
import type { Clock } from '../clock.js';
import type { LoggerPort } from '../mqtt/ports.js';
import type { RollupsRepo } from '../store/rollups-repo.js';

export interface RetentionOptions {
  windowsDays?: number | undefined;
  everyMs?: number | undefined;
}

/** The time from which every raw window is still stored (windows starting earlier may be deleted); -Infinity without retention. */
export function retainedFrom(clock: Clock, windowsDays: number | undefined): () => number {
  return () => (windowsDays ? clock.now().getTime() - windowsDays * 86_400_000 : -Infinity);
}

export class WindowRetention {
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: { rollups: RollupsRepo; clock: Clock; logger: LoggerPort }, private readonly opts: RetentionOptions) {}

  start(): void {
    if (!this.opts.windowsDays || this.timer) return;
    this.runOnce();
    this.timer = setInterval(() => this.runOnce(), this.opts.everyMs ?? 3600_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Deletes the expired windows now; returns how many. */
  runOnce(): number {
    if (!this.opts.windowsDays) return 0;
    const before = new Date(this.deps.clock.now().getTime() - this.opts.windowsDays * 86_400_000);
    try {
      const n = this.deps.rollups.expireWindows(before);
      if (n > 0) this.deps.logger.info({ deleted: n, before: before.toISOString() }, 'expired raw summary windows (rollups kept)');
      return n;
    } catch (err) {
      this.deps.logger.error({ err }, 'expiring raw summary windows failed');
      return 0;
    }
  }
}
