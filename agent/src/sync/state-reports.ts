// The box's reported state as the link sends it (docs/agent.md, docs/hub.md "What the hub accepts from
// devices"): retained, on connect and on every change, changes coalesced; the versions the last report
// listed installed (windows and events of a version not yet reported wait for a report first); and the
// outbox backlog's order of magnitude, whose change is a change of state. The link (client.ts) owns the
// connection; this owns what is said about the box and when.
import type { ReportedState } from '@edgefleet/shared';
import type { SyncDeps } from './sync-deps.js';

/** Changes of state within this long go out as one report. */
const COALESCE_MS = 250;

export interface StateReportsDeps {
  /** The state now (client.ts reportedState, which reads `outboxItems`). */
  build: () => ReportedState;
  /** Publishes a state report (retained); rejects when not connected. */
  publish: (payload: string) => Promise<void>;
  connected: () => boolean;
  /** Outbox entries not yet acked. */
  pending: () => number;
  models: Pick<SyncDeps['models'], 'listActive' | 'listVersions'>;
}

const magnitude = (n: number): number => (n === 0 ? 0 : Math.floor(Math.log10(n)) + 1);

export class StateReports {
  private timer: NodeJS.Timeout | null = null;
  /** name@version of every version the last state report listed installed. */
  private reportedInstalled = new Set<string>();
  /** The order of magnitude of the outbox backlog last reported (-1: none yet). */
  private outboxMagnitude = -1;

  constructor(private readonly d: StateReportsDeps) {}

  /** Outbox entries not yet acked, for a report: the magnitude reported is this one. */
  outboxItems(): number {
    const n = this.d.pending();
    this.outboxMagnitude = magnitude(n);
    return n;
  }

  /** Reports the state when the backlog's order of magnitude moved since the last report. */
  checkBacklog(): void {
    if (magnitude(this.d.pending()) !== this.outboxMagnitude) this.changed();
  }

  async publish(): Promise<void> {
    const st = this.d.build();
    await this.d.publish(JSON.stringify(st));
    this.reportedInstalled = new Set(st.models.flatMap((m) => m.installed.map((v) => `${m.name}@${v}`)));
  }

  /**
   * Windows and events name a version, and the hub counts only versions the box has reported installed:
   * a version installed since the last report (by `edgefleet-agent install` beside the daemon, say) is
   * reported before the outbox sends, not refused and lost.
   */
  async beforeOutbox(): Promise<void> {
    const models = this.d.models;
    const unreported = models.listActive().some((a) => models.listVersions(a.name).some((v) => !this.reportedInstalled.has(`${a.name}@${v.version}`)));
    if (unreported) await this.publish();
  }

  /** Coalesces state reports (at most one per COALESCE_MS); none while not connected (connect reports). */
  changed(): void {
    if (this.timer || !this.d.connected()) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.publish().catch(() => undefined);
    }, COALESCE_MS);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
