// How long the agent waits before its next attempt to reach the broker (docs/agent.md "Connecting to a
// hub"): sync.reconnectMs after a connection that worked, doubling with each failed attempt up to
// RECONNECT_MAX_MS (or 30 × reconnectMs if that is less), each wait jittered by ±25 % so boxes that lost
// one hub do not come back in step. A connection "worked" when it stayed up at least as long as that
// longest wait: one that drops sooner (a flapping link that carries a CONNECT and little else) counts
// as a failed attempt, so such a box backs off instead of reconnecting, and sending its presence and
// state and receiving its documents again, every reconnectMs for as long as the link flaps. And which
// connection errors to log: a new one at once, the same one again once per ERROR_LOG_MS.

export const RECONNECT_MAX_MS = 60_000;
export const ERROR_LOG_MS = 10 * 60_000;

export class ReconnectBackoff {
  private wait: number;
  private readonly max: number;
  private logged: { message: string; at: number } | null = null;
  /** When the current connection was made (null: none is up). */
  private upSince: number | null = null;

  constructor(private readonly base: number, private readonly random: () => number = Math.random) {
    this.wait = base;
    this.max = Math.max(base, Math.min(RECONNECT_MAX_MS, 30 * base));
  }

  /** Connected at `now`: the next loss is logged. */
  connected(now: number): void {
    this.upSince = now;
    this.logged = null;
  }

  /**
   * A connection closed or an attempt failed at `now`: the wait before the next attempt. After a
   * connection that stayed up at least the longest wait, that is `base` again.
   */
  failed(now: number): number {
    if (this.upSince !== null && now - this.upSince >= this.max) this.wait = this.base;
    this.upSince = null;
    const next = Math.round(this.wait * (0.75 + 0.5 * this.random()));
    this.wait = Math.min(this.max, this.wait * 2);
    return Math.max(1, Math.min(this.max, next));
  }

  shouldLog(message: string, now: number): boolean {
    if (this.logged && this.logged.message === message && now - this.logged.at < ERROR_LOG_MS) return false;
    this.logged = { message, at: now };
    return true;
  }
}
