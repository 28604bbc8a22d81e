// One timer that drains a queue (the outbox, the capture uploader): `kick(ms)` asks for a drain in
// `ms`; a pending drain that would run later (a resend timer) is brought forward, an earlier one is
// kept. A failing drain is reported and retried after `retryMs()`.
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
