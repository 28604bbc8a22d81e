// One timer that drains a queue (the outbox, the capture uploader): `kick(ms)` asks for a drain in
// `ms`; a pending drain that would run later (a resend timer) is brought forward, an earlier one is
// kept. A failing drain is reported and retried after `retryMs()`.
/**
 * When items in flight were sent (wall clock, for their resend after no ack): a send stamped after `now`
 * means the clock stepped back (NTP), and its wait starts again from now, not when the clock passes the
 * old time again, which could be days (docs/agent.md "Outbox").
 */
export function restartWaitsAhead<K>(sent: Map<K, number>, now: number): void {
  for (const [k, t] of sent) if (t > now) sent.set(k, now);
}

/**
 * The items due to be sent: never sent, or sent more than `resendAfterMs` ago with no ack (their resend).
 * `sent` holds when each item in flight was sent, by `keyOf`; its waits ahead of `now` restart first.
 */
export function dueItems<T, K>(items: readonly T[], keyOf: (item: T) => K, sent: Map<K, number>, now: number, resendAfterMs: number): T[] {
  restartWaitsAhead(sent, now);
  return items.filter((item) => {
    const at = sent.get(keyOf(item));
    return at === undefined || now - at > resendAfterMs;
  });
}

export class DrainTimer {
  private timer: NodeJS.Timeout | null = null;
  private timerAt = 0;

  constructor(
    private readonly drain: () => Promise<void>,
    private readonly onError: (err: unknown) => void,
    private readonly retryMs: () => number,
    /** Let the process exit while only this timer is pending. */
    private readonly unref = false,
  ) {}

  kick(ms = 0): void {
    const at = Date.now() + ms;
    if (this.timer) {
      if (this.timerAt <= at) return;
      clearTimeout(this.timer);
    }
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.drain().catch((err: unknown) => {
        this.onError(err);
        this.kick(this.retryMs());
      });
    }, ms);
    if (this.unref) this.timer.unref();
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
