// One timer that drains a queue (the outbox, the capture uploader): `kick(ms)` asks for a drain in
// `ms`; a pending drain that would run later (a resend timer) is brought forward, an earlier one is
// kept. A failing drain is reported and retried after `retryMs()`.
/** Node's longest timer: a longer one fires at once. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * An item sent and not yet acked: when its wait for the ack began and how many times it was sent. The wait
 * begins when the broker took the message (its PUBACK), not when it was handed to the link: a message that
 * takes longer than `resendAfterMs` to cross a slow link, or to be taken by a broker that is behind, was
 * sent again the moment it arrived, before its ack could, doubling what a busy hub or a metered link had
 * to carry (docs/decisions/0186-resends-wait-from-the-broker-and-back-off.md).
 */
export interface Flight {
  at: number;
  sends: number;
}

/** A resend waits at most this many times `resendAfterMs` (the 4th and later ones). */
export const RESEND_BACKOFF_MAX = 8;

/** How long an item waits for its ack before it is sent again: `resendAfterMs`, doubling with each resend, at most RESEND_BACKOFF_MAX times it. */
export function resendWait(f: Flight, resendAfterMs: number): number {
  return Math.min(MAX_TIMER_MS, resendAfterMs * Math.min(RESEND_BACKOFF_MAX, 2 ** Math.max(0, f.sends - 1)));
}

/**
 * A wait stamped after `now` means the clock stepped back (NTP): it starts again from now, not when the
 * clock passes the old time again, which could be days (docs/agent.md "Outbox").
 */
export function restartWaitsAhead<K>(sent: Map<K, Flight>, now: number): void {
  for (const f of sent.values()) if (f.at > now) f.at = now;
}

/**
 * The items due to be sent: never sent, or waiting for their ack longer than resendWait (their resend).
 * `sent` holds the items in flight by `keyOf`; its waits ahead of `now` restart first.
 */
export function dueItems<T, K>(items: readonly T[], keyOf: (item: T) => K, sent: Map<K, Flight>, now: number, resendAfterMs: number): T[] {
  restartWaitsAhead(sent, now);
  return items.filter((item) => {
    const f = sent.get(keyOf(item));
    return f === undefined || now - f.at > resendWait(f, resendAfterMs);
  });
}

/** Ms until the first item in flight is due for its resend (0 when one is due), or undefined when none is in flight. */
export function nextResendIn<K>(sent: Map<K, Flight>, now: number, resendAfterMs: number): number | undefined {
  let next: number | undefined;
  for (const f of sent.values()) {
    const inMs = Math.max(0, f.at + resendWait(f, resendAfterMs) - now + 1);
    if (next === undefined || inMs < next) next = inMs;
  }
  return next;
}

/** Marks `keys` sent (again) at `now`: a resend counts towards the item's backoff. */
export function markSent<K>(sent: Map<K, Flight>, keys: Iterable<K>, now: number): void {
  for (const k of keys) {
    const f = sent.get(k);
    if (f) {
      f.at = now;
      f.sends++;
    } else sent.set(k, { at: now, sends: 1 });
  }
}

/** The broker took them (PUBACK): their wait for the ack starts now. Keys acked meanwhile are left out. */
export function markTaken<K>(sent: Map<K, Flight>, keys: Iterable<K>, now: number): void {
  for (const k of keys) {
    const f = sent.get(k);
    if (f) f.at = now;
  }
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
    ms = Math.min(ms, MAX_TIMER_MS);
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
