// Rollup expiry (docs/decisions/0063-rollups-expire-by-grain.md): a device's hourly rollups are deleted
// once they are `retention.hourlyRollupDays` old, its daily ones after `retention.dailyRollupDays` (when
// set). Before deleting, the retention run records the horizon: the UTC midnight from which hourly
// (daily) rows are whole. Every query plans its range against the recorded horizon
// (rollups/query.ts `planRanges`): before the hourly horizon it reads whole days, before the daily one
// nothing. So no query ever reads a grain that is being deleted, and answers stay exact over the range
// they report. The horizon only moves forward (a hub clock stepped back does not bring deleted rows back
// into plans), and it lives in the database, so every hub of a cluster plans against the same one.
import type { Db } from '../store/db.js';
import type { Migration } from '../store/migrations.js';

export const ROLLUP_HORIZON_MIGRATION: Migration = {
  version: 23,
  name: 'rollup horizon: from when hourly and daily rollups are whole',
  sql: `
    CREATE TABLE rollup_horizon (
      grain INTEGER PRIMARY KEY,
      whole_from INTEGER NOT NULL
    );
  `,
};

/** ms since the epoch from which each grain's device rollups are whole; -Infinity: never deleted. */
export interface RollupHorizon {
  hourlyFrom: number;
  dailyFrom: number;
}

export const NO_HORIZON: RollupHorizon = { hourlyFrom: -Infinity, dailyFrom: -Infinity };

// store/rollups-repo.ts's grains (not imported: that module reads the horizon from here).
const HOUR_SEC = 3600;
const DAY_SEC = 86_400;
const DAY_MS = DAY_SEC * 1000;
/** Rollup rows deleted per step. */
export const DELETE_BATCH = 2000;

/** The horizon recorded in the database (one small-table read: queries call it each time). */
export function readHorizon(db: Db): RollupHorizon {
  const h = { ...NO_HORIZON };
  for (const r of db.prepare('SELECT grain, whole_from FROM rollup_horizon').all() as Array<{ grain: number; whole_from: number }>) {
    if (Number(r.grain) === HOUR_SEC) h.hourlyFrom = Number(r.whole_from);
    if (Number(r.grain) === DAY_SEC) h.dailyFrom = Number(r.whole_from);
  }
  return h;
}

export interface RollupExpiryOptions {
  /** Hourly device rollups are deleted this many days after their day ends (whole days). Undefined: kept. */
  hourlyDays?: number | undefined;
  /** Daily device rollups (and hourly ones) likewise. Undefined: kept. */
  dailyDays?: number | undefined;
}

/** The horizon the options ask for at `now`: UTC midnights `days` whole days back (-Infinity: kept). */
export function wantedHorizon(now: number, o: RollupExpiryOptions): RollupHorizon {
  const at = (days: number | undefined) => (days === undefined ? -Infinity : Math.floor(now / DAY_MS) * DAY_MS - Math.ceil(days) * DAY_MS);
  const hourlyFrom = at(o.hourlyDays);
  const dailyFrom = at(o.dailyDays);
  // Hourly rows never outlive the daily ones (a day without its row could not be read at all).
  return { hourlyFrom: Math.max(hourlyFrom, dailyFrom), dailyFrom };
}

export class RollupExpiry {
  constructor(private readonly db: Db) {}

  /**
   * Records `want` where it is later than the recorded horizon (never moves it back); returns the
   * horizon now in force. Call before deleting: from then on no query plans reads of the rows to go.
   */
  advance(want: RollupHorizon): RollupHorizon {
    const put = this.db.prepare(
      'INSERT INTO rollup_horizon (grain, whole_from) VALUES (?, ?) ON CONFLICT (grain) DO UPDATE SET whole_from = excluded.whole_from WHERE excluded.whole_from > rollup_horizon.whole_from',
    );
    this.db.transaction(() => {
      if (Number.isFinite(want.hourlyFrom)) put.run(HOUR_SEC, want.hourlyFrom);
      if (Number.isFinite(want.dailyFrom)) put.run(DAY_SEC, want.dailyFrom);
    })();
    return readHorizon(this.db);
  }

  /**
   * Deletes up to DELETE_BATCH device rollups of one grain and model version before the horizon (and
   * the fleet rows before it); returns the rows deleted and their grain, null when none is left. Small
   * deletes keep each turn short (2,000 rows: ~10 ms; docs/drift.md "Retention").
   */
  step(h: RollupHorizon): { grain: number; rows: number } | null {
    const series = this.db.prepare('SELECT id FROM rollup_series ORDER BY id').pluck(true).all() as number[];
    const del = this.db.prepare('DELETE FROM rollups WHERE id IN (SELECT id FROM rollups WHERE series = ? AND grain = ? AND start < ? LIMIT ?)');
    // Per series, on the (series, grain, start) index of each table: a step probes, it does not scan.
    const delFleet = this.db.prepare('DELETE FROM rollup_fleet WHERE series = ? AND grain = ? AND start < ?');
    for (const [grain, before] of [[HOUR_SEC, h.hourlyFrom], [DAY_SEC, h.dailyFrom]] as const) {
      if (!Number.isFinite(before)) continue;
      for (const id of series) {
        delFleet.run(id, grain, before);
        const rows = del.run(id, grain, before, DELETE_BATCH).changes;
        if (rows > 0) return { grain, rows };
      }
    }
    return null;
  }
}
