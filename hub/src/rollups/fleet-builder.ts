// Fleet rows of closed hours and days built off the query path (docs/decisions/0038-fleet-rows-built-as-hours-close.md):
// a fleet row (store/rollups-repo.ts, `rollup_fleet`) is the sum of every device's rollup of a version's
// hour (day). Ingest deletes it whenever a batch changes the hour, so without this builder the first
// query over a long range (a wave's gates after a long bake, a fleet drift over 24 h) summed every device
// row of every hour itself: 3.4 s of CPU for 10,000 devices x 24 h. Once an hour has been closed for
// `graceMs`, the builder sums it on a timer, one row per turn of the event loop; a late window deletes
// the row again and the next run rebuilds it. Ingest is unchanged.
import type { Clock } from '../clock.js';
import type { LoggerPort } from '../mqtt/ports.js';
import { DAY_SEC, HOUR_SEC, type RollupsRepo } from '../store/rollups-repo.js';

export interface FleetBuilderOptions {
  /** How often the closed hours are checked (ms). Default 5 min. */
  everyMs?: number;
  /** An hour (day) is built once it ended this long ago (ms), so most late windows are in. Default 5 min. */
  graceMs?: number;
  /** Closed hours looked at, back from now; older ones are built by the first query that needs them. Default 48. */
  lookbackHours?: number;
}

const DEFAULTS = { everyMs: 300_000, graceMs: 300_000, lookbackHours: 48 };

export class FleetRowBuilder {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private readonly o: Required<FleetBuilderOptions>;

  constructor(private readonly deps: { rollups: RollupsRepo; clock: Clock; logger: LoggerPort }, opts: FleetBuilderOptions = {}) {
    this.o = { ...DEFAULTS, ...opts };
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.o.everyMs);
    this.timer.unref();
    this.tick();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * Builds up to `limit` missing fleet rows of closed hours and days with device rows in the lookback;
   * returns how many were built (0: none missing).
   */
  runOnce(limit = Infinity): number {
    const { rollups } = this.deps;
    const closedBy = this.deps.clock.now().getTime() - this.o.graceMs;
    let built = 0;
    for (const grain of [HOUR_SEC, DAY_SEC]) {
      const step = grain * 1000;
      const to = Math.floor(closedBy / step) * step; // the start of the first period not yet closed
      const from = Math.min(to, Math.floor((closedBy - this.o.lookbackHours * 3600_000) / step) * step);
      for (const { id, model, version } of rollups.allSeries()) {
        for (let t = to - step; t >= from; t -= step) {
          if (built >= limit) return built;
          if (rollups.fleetHas(id, grain, t) || !rollups.hasRows(id, grain, t)) continue;
          // fleet() sums and stores the missing row as it reads it.
          void [...rollups.fleet(rollups.requireSeries(model, version), [{ grain, from: t, to: t + step }])];
          built++;
        }
      }
    }
    return built;
  }

  /** One row per turn of the event loop until none is missing (or stopped). */
  private tick(): void {
    if (this.running) return;
    this.running = true;
    let total = 0;
    const step = () => {
      try {
        const n = this.timer ? this.runOnce(1) : 0;
        total += n;
        if (n > 0) {
          setImmediate(step);
          return;
        }
        if (total > 0) this.deps.logger.info({ built: total }, 'fleet rollup rows of closed hours built');
      } catch (err) {
        this.deps.logger.error({ err }, 'building fleet rollup rows failed');
      }
      this.running = false;
    };
    step();
  }
}
