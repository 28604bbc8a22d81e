// Renewal of desired documents (docs/hub.md, decision 0011): a document expires, so each device's latest one
// is re-signed as a new seq before it does, every renewEveryMs, and each device keeps its newest few
// (store/desired-repo.ts). service.ts starts it, or the lease holder when there are several hubs.
import type { Store } from '../store/index.js';
import type { Clock } from '../clock.js';
import type { LoggerPort } from '../mqtt/ports.js';

export interface DeploymentOptions {
  /** Lifetime of a desired document. */
  desiredTtlMs: number;
  /** Re-sign documents that expire within this margin. */
  renewBeforeMs: number;
  /** How often to look for documents to re-sign. */
  renewEveryMs: number;
}

export const DEFAULT_DEPLOYMENT_OPTIONS: DeploymentOptions = {
  desiredTtlMs: 14 * 24 * 3600_000,
  renewBeforeMs: 7 * 24 * 3600_000,
  renewEveryMs: 3600_000,
};

export class DesiredRenewal {
  private timer: NodeJS.Timeout | null = null;

  /** `issue` builds, signs, stores and publishes the devices' next documents (DeploymentService.issueDesiredMany). */
  constructor(
    private readonly deps: { store: Store; clock: Clock; logger: LoggerPort },
    private readonly opts: DeploymentOptions,
    private readonly issue: (deviceIds: readonly string[]) => Promise<unknown>,
  ) {}

  /** Re-signs what is due now, then every renewEveryMs; prunes old documents. */
  async start(): Promise<void> {
    if (this.timer) return;
    await this.renewExpiring();
    this.pruneDocuments();
    this.timer = setInterval(() => {
      this.renewExpiring().then(() => this.pruneDocuments(), (err: unknown) => this.deps.logger.error({ err }, 'renewing desired documents failed'));
    }, this.opts.renewEveryMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Re-signs (as a new seq) every latest document that expires within the renewal margin; returns how many. */
  async renewExpiring(): Promise<number> {
    const { store, clock } = this.deps;
    const limit = clock.now().getTime() + this.opts.renewBeforeMs;
    const due = store.devices.list().filter((dev) => {
      if (dev.revoked) return false;
      const doc = store.desired.latest(dev.id);
      return !!doc && Date.parse(doc.signed.expires) <= limit;
    });
    await this.issue(due.map((d) => d.id));
    return due.length;
  }

  /** Each device keeps its newest KEEP_DOCUMENTS desired documents (store/desired-repo.ts); never throws. */
  private pruneDocuments(): void {
    try {
      const n = this.deps.store.desired.prune();
      if (n > 0) this.deps.logger.info({ deleted: n }, 'deleted old desired documents (each device keeps its newest 16)');
    } catch (err) {
      this.deps.logger.error({ err }, 'deleting old desired documents failed');
    }
  }
}
