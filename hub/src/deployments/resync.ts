// Desired documents still on their way, published again (external broker; docs/hub.md "Several hubs").
// With an external broker the only copy a device gets is the broker's retained message, and no hub
// serves documents on connect. Two things can leave a device without its latest document: a hub that
// stored documents and was killed before publishing them (a lease holder mid-rollout), and two hubs
// publishing documents for one device at once (the broker may keep the older one retained). The lease
// holder runs this: at once when it takes the lease (every unapplied document), then every `everyMs`
// for documents issued at least `settleMs` ago that the device has still not reported applying, each
// (device, seq) once per holder, so an offline device's document is not sent again and again.
import type { DesiredDocument } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import type { Clock } from '../clock.js';
import type { LoggerPort } from '../mqtt/ports.js';

export interface ResyncOptions {
  everyMs: number;
  settleMs: number;
}

export const DEFAULT_RESYNC_OPTIONS: ResyncOptions = { everyMs: 60_000, settleMs: 10_000 };

export interface ResyncDeps {
  store: Store;
  publish(docs: readonly DesiredDocument[]): Promise<void>;
  clock: Clock;
  logger: LoggerPort;
}

export class DesiredResync {
  private readonly opts: ResyncOptions;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  /** device → the seq this holder last published again (bounded by the devices). */
  private readonly sent = new Map<string, number>();

  constructor(private readonly deps: ResyncDeps, opts: Partial<ResyncOptions> = {}) {
    this.opts = { ...DEFAULT_RESYNC_OPTIONS, ...opts };
  }

  /** Publishes every unapplied document now, then looks again every everyMs. */
  async start(): Promise<void> {
    if (this.timer) return;
    this.sent.clear();
    this.timer = setInterval(() => {
      this.run(this.opts.settleMs).catch((err: unknown) => this.deps.logger.error({ err }, 'publishing unapplied desired documents again failed'));
    }, this.opts.everyMs);
    this.timer.unref();
    await this.run(0);
  }

  /**
   * Stops the timer. A pass in progress is not waited for: it read the store before its first await,
   * and its publishes end with the link (whose stop has its own deadline).
   */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One pass: documents issued at least `olderThanMs` ago, not yet published again by this holder. Returns how many went out. */
  run(olderThanMs: number): Promise<number> {
    this.running ??= this.pass(olderThanMs).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async pass(olderThanMs: number): Promise<number> {
    const { store, clock, logger } = this.deps;
    const before = clock.now().getTime() - olderThanMs;
    const due = store.desired.unapplied().filter((u) => Date.parse(u.issuedAt) <= before && this.sent.get(u.deviceId) !== u.seq);
    const docs = due.map((u) => store.desired.latest(u.deviceId)).filter((d): d is DesiredDocument => d !== undefined);
    await this.deps.publish(docs);
    for (const d of docs) this.sent.set(d.signed.deviceId, d.signed.seq);
    if (docs.length) logger.info({ devices: docs.length }, 'published again the desired documents devices have not applied');
    return docs.length;
  }
}
