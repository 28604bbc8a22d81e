// Restarts the remote configuration asks for, spaced so that they can never trip systemd's start limit
// (docs/decisions/0061-config-restarts-under-the-start-limit.md). The unit restarts the agent after every
// exit (Restart=always) but gives up for good after more than StartLimitBurst starts within
// StartLimitIntervalSec, which is how a program that cannot start stops being restarted; every start
// counts, the ones after a clean exit 75 included. So the agent keeps the times of its recent config
// restarts in DATA/config-restarts.json and, when the last RESTART_SPACING.max of them are within the
// window, keeps running with the settings it has (the new ones are stored, the state says `restarting`)
// until the oldest leaves it, then restarts. The wait is bounded by the window; a signal ends it and
// stops the agent as usual (the stored settings apply at the next start), and a newer configuration
// that needs no restart withdraws it (the agent goes on with what it runs). Exits of any other kind (a
// start that fails, a crash) are never delayed: a crash loop still reaches the start limit.
// Times are the monotonic clock (process.hrtime: CLOCK_MONOTONIC, what systemd counts with), which is
// the same for every process of one boot; times of another boot, or past now, are dropped.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '@edgefleet/shared/core';
import { readBootId } from './clock-mark.js';

/** packaging/systemd/edgefleet-agent.service's StartLimitIntervalSec, StartLimitBurst and RestartSec (config-restarts.test.ts reads the unit). */
export const START_LIMIT = { intervalMs: 120_000, burst: 5, restartSecMs: 2_000 } as const;

export interface RestartSpacing {
  /** Config restarts allowed within `windowMs`. */
  max: number;
  windowMs: number;
}

/**
 * At most 2 config restarts in a window a little longer than the unit's: a start counts when it begins,
 * and a restart's start comes after its stop (0 to `stopExitMs`) and RestartSec, so the window is
 * widened by the longest stop (and 5 s of scheduling slack) to keep any 3 of those starts more than
 * StartLimitIntervalSec apart. 2 and not more: the initial start, 2 config restarts and a configuration
 * that crashes the agent twice while starting before it is taken as failed (KILLED_STARTS_ALLOWED,
 * config-remote.ts) are the unit's 5 starts, so that rescue still fits under StartLimitBurst.
 */
export function restartSpacing(stopExitMs: number): RestartSpacing {
  return { max: 2, windowMs: START_LIMIT.intervalMs + stopExitMs + 5_000 };
}

export interface RestartClock {
  /** Monotonic time in ms, the same in every process of a boot. */
  monotonicMs(): number;
  /** This boot's id: times recorded in another boot are not comparable. */
  bootId: string;
}

export function systemRestartClock(): RestartClock {
  return { monotonicMs: () => Number(process.hrtime.bigint() / 1_000_000n), bootId: readBootId() };
}

const FILE = 'config-restarts.json';
export const configRestartsPath = (dataDir: string): string => join(dataDir, FILE);

interface Stored { boot: string; at: number[] }

/** This boot's recorded config restarts (monotonic ms, oldest first); none when the file is missing, broken or another boot's. */
export function readRestarts(dataDir: string, clock: RestartClock): number[] {
  let v: Partial<Stored>;
  try {
    v = JSON.parse(readFileSync(configRestartsPath(dataDir), 'utf8')) as Partial<Stored>;
  } catch {
    return [];
  }
  if (v.boot !== clock.bootId || !Array.isArray(v.at)) return [];
  const now = clock.monotonicMs();
  return v.at.filter((t): t is number => typeof t === 'number' && Number.isFinite(t) && t <= now).sort((a, b) => a - b);
}

/** How long to wait before a config restart now, so that at most `max` happen within any `windowMs`: 0 to `windowMs`. */
export function restartDelayMs(times: readonly number[], now: number, s: RestartSpacing): number {
  const recent = times.filter((t) => t <= now && now - t < s.windowMs).sort((a, b) => a - b);
  if (recent.length < s.max) return 0;
  const oldest = recent[recent.length - s.max]!;
  return Math.min(s.windowMs, Math.max(0, oldest + s.windowMs - now));
}

/** Adds a config restart at now to the record (keeping those within the window). */
export function recordRestart(dataDir: string, clock: RestartClock, s: RestartSpacing): void {
  const now = clock.monotonicMs();
  const at = [...readRestarts(dataDir, clock).filter((t) => now - t < s.windowMs), now].slice(-16);
  writeFileAtomic(configRestartsPath(dataDir), `${JSON.stringify({ boot: clock.bootId, at } satisfies Stored)}\n`, 0o600);
}

export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface RestartGateDeps {
  dataDir: string;
  clock: RestartClock;
  spacing: RestartSpacing;
  timers?: Timers;
  log(level: 'info' | 'warn', obj: object, msg: string): void;
  /** Stops the agent cleanly and exits with RESTART_EXIT_CODE (main.ts). */
  exit(): void;
}

/** One per process (main.ts): turns the configuration's restart requests into spaced exits. */
export class RestartGate {
  private timer: unknown;
  private settled = false;
  private readonly timers: Timers;

  constructor(private readonly d: RestartGateDeps) {
    this.timers = d.timers ?? realTimers;
  }

  /** Whether a restart waits for its turn. */
  get waiting(): boolean {
    return this.timer !== undefined;
  }

  /**
   * A restart is asked for: now, or after the wait the record calls for. Asked again while one waits, it
   * changes nothing: the agent starts with the settings stored last, whichever document asked.
   */
  request(): void {
    if (this.settled || this.timer !== undefined) return;
    const s = this.d.spacing;
    const delay = restartDelayMs(readRestarts(this.d.dataDir, this.d.clock), this.d.clock.monotonicMs(), s);
    if (delay === 0) return this.go();
    this.d.log('info', { waitMs: delay, max: s.max, windowMs: s.windowMs },
      `restart for the remote configuration in ${Math.ceil(delay / 1000)} s: at most ${s.max} in ${s.windowMs / 1000} s, under the service manager's start limit; serving with the current settings until then`);
    this.timer = this.timers.set(() => {
      this.timer = undefined;
      this.go();
    }, delay);
  }

  /**
   * A newer configuration needs no restart (it put back the running values of the settings that needed
   * one): a restart waiting for its turn is dropped, and a later request is spaced as usual. Returns
   * whether one was waiting; one already under way cannot be taken back.
   */
  withdraw(): boolean {
    if (this.settled || this.timer === undefined) return false;
    this.timers.clear(this.timer);
    this.timer = undefined;
    this.d.log('info', {}, 'restart for the remote configuration withdrawn: the newest configuration needs none');
    return true;
  }

  /** The agent stops for another reason (a signal): a waiting restart is dropped. Idempotent. */
  cancel(): void {
    this.settled = true;
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
  }

  private go(): void {
    this.settled = true;
    try {
      // Recorded before the stop: a stop cut short by its deadline (exit 1) still restarts, and counts.
      recordRestart(this.d.dataDir, this.d.clock, this.d.spacing);
    } catch (err) {
      this.d.log('warn', { err: (err as Error).message }, `could not record the restart in ${configRestartsPath(this.d.dataDir)}: restarting anyway`);
    }
    this.d.exit();
  }
}
