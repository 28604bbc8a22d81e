// Which clock stamps the agent's times (docs/decisions/0059-clock-marks.md): the boot, and how many times
// the wall clock has stepped in it. A step is the wall clock moving against the monotonic one (which
// counts from boot and never steps) by more than STEP_MS: NTP setting a box that booted at 1970, an
// operator's `date -s`. Windows carry the mark of the clock that opened them, presence and state the
// present one, so the hub can place each window by the offset of the very clock that recorded it.
// The mark, the boot it belongs to and the clock's base (wall − monotonic) are kept in agent.db, so an
// agent restarted in the same boot on the same clock keeps its mark.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Database } from 'better-sqlite3';

/** A wall clock moving this much against the monotonic one is a new clock (NTP's slewing never does). */
export const STEP_MS = 2000;

const KEY = 'clockMark';

interface Stored { boot: string; n: number; base: number }

export interface ClockMarkDeps {
  /** agent.db (its sync_kv table); none: the mark lives in memory only. */
  db?: Database | undefined;
  /** Wall clock in ms (Date.now). */
  now?: () => number;
  /** Monotonic clock in ms since boot (process.hrtime). */
  monotonic?: () => number;
  /** This boot's id (Linux: /proc/sys/kernel/random/boot_id; elsewhere one per process). */
  bootId?: string;
}

/** The kernel's id of this boot, or a random one per process where there is none. */
export function readBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return randomUUID();
  }
}

export class ClockMarks {
  private readonly now: () => number;
  private readonly monotonic: () => number;
  private readonly boot: string;
  private state: Stored;

  constructor(private readonly d: ClockMarkDeps = {}) {
    this.now = d.now ?? Date.now;
    this.monotonic = d.monotonic ?? (() => Number(process.hrtime.bigint() / 1_000_000n));
    // 8 hex digits of the boot id name the boot: marks only need to differ between one box's boots.
    this.boot = (d.bootId ?? readBootId()).replace(/[^A-Za-z0-9]/g, '').slice(0, 8) || 'boot';
    const stored = this.load();
    const base = this.now() - this.monotonic();
    if (stored && stored.boot === this.boot) {
      this.state = Math.abs(base - stored.base) > STEP_MS ? { boot: this.boot, n: stored.n + 1, base } : stored;
    } else {
      this.state = { boot: this.boot, n: 0, base };
    }
    if (this.state !== stored) this.save();
  }

  /** The mark of the clock that reads now: `BOOT.N`, N counting the steps seen in this boot. */
  current(): string {
    const base = this.now() - this.monotonic();
    if (Math.abs(base - this.state.base) > STEP_MS) {
      this.state = { boot: this.boot, n: this.state.n + 1, base };
      this.save();
    }
    return `${this.state.boot}.${this.state.n}`;
  }

  private load(): Stored | null {
    try {
      const row = this.d.db?.prepare('SELECT value FROM sync_kv WHERE key = ?').get(KEY) as { value: string } | undefined;
      const v = row ? (JSON.parse(row.value) as Partial<Stored>) : null;
      return v && typeof v.boot === 'string' && Number.isSafeInteger(v.n) && Number.isFinite(v.base) ? (v as Stored) : null;
    } catch {
      return null; // no sync_kv yet, or an unreadable value: a new mark
    }
  }

  private save(): void {
    if (!this.d.db) return;
    this.d.db.exec('CREATE TABLE IF NOT EXISTS sync_kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    this.d.db.prepare('INSERT INTO sync_kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(KEY, JSON.stringify(this.state));
  }
}
