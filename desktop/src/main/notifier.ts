// Native notifications for the console's new alerts (docs/console.md "Desktop app"): the renderer asks
// over the `notify` channel; main decides whether to show it. A key already shown is not shown again
// (the last MAX_KEYS keys are remembered), and at most `max` notifications are shown per `windowMs`, so
// a storm of alerts (a fleet-wide outage fires one per model and site) cannot flood the desktop: the
// ones held back are counted and the next one shown says how many were not. Clock injected for tests.
import type { IpcRequest } from '../common/ipc.js';

export type NotifyVerdict = 'shown' | 'duplicate' | 'rate_limited' | 'unsupported';

export interface NotificationPort {
  /** Shows a native notification; `onClick` runs when the user clicks it. False when the OS has none. */
  show(title: string, body: string, onClick: () => void): boolean;
}

export const NOTIFY_DEFAULTS = { max: 5, windowMs: 60_000, maxKeys: 1000 } as const;

export class Notifier {
  private readonly keys = new Map<string, true>();
  private shownAt: number[] = [];
  private held = 0;

  constructor(
    private readonly port: NotificationPort,
    private readonly now: () => number = Date.now,
    private readonly limits: { max: number; windowMs: number; maxKeys: number } = NOTIFY_DEFAULTS,
  ) {}

  /**
   * Decides and (when allowed) shows; `open` focuses the sender's window on the request's link. Keys
   * are remembered per `scope` (the sender's origin): each hub numbers its own alerts, so `alert:3`
   * of one hub is not `alert:3` of another open at the same time. The rate limit is for the desktop.
   */
  notify(req: IpcRequest<'notify'>, open: (link: string | undefined) => void, scope = ''): NotifyVerdict {
    if (req.key !== undefined) {
      const key = `${scope} ${req.key}`;
      if (this.keys.has(key)) return 'duplicate';
      this.keys.set(key, true);
      if (this.keys.size > this.limits.maxKeys) this.keys.delete(this.keys.keys().next().value as string);
    }
    const t = this.now();
    this.shownAt = this.shownAt.filter((at) => t - at < this.limits.windowMs);
    if (this.shownAt.length >= this.limits.max) {
      this.held++;
      return 'rate_limited';
    }
    const more = this.held > 0 ? `\n(and ${this.held} more not shown: see the console)` : '';
    const link = req.link;
    if (!this.port.show(req.title, `${req.body}${more}`.slice(0, 1100), () => open(link))) return 'unsupported';
    this.held = 0;
    this.shownAt.push(t);
    return 'shown';
  }

  /** How many keys are remembered (bounded by maxKeys). */
  get rememberedKeys(): number {
    return this.keys.size;
  }
}
