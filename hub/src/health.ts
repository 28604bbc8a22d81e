// What the hub knows of one dependency (docs/hub.md "Health and readiness"): set by the events the hub
// already has (a lease renewal's outcome for the database, the broker link's connect and close), read
// by GET /api/v1/health and /ready without asking the dependency anything.
import type { DependencyState } from '@edgefleet/shared';
import type { Metrics } from './metrics.js';

export class DependencyWatch {
  private state: { ok: boolean; since: Date; error?: string };
  /** When the hub last heard how the dependency is (up() or down()), in ms of `now`. */
  private heardAt: number;

  /** `describe`: what a public answer says of a failure (default its message). */
  constructor(private readonly now: () => Date, up = true, error?: string, private readonly describe: (err: unknown) => string = messageOf) {
    this.state = { ok: up, since: now(), ...(up ? {} : { error: error ?? 'not started' }) };
    this.heardAt = this.state.since.getTime();
  }

  up(): void {
    this.heardAt = this.now().getTime();
    if (!this.state.ok) this.state = { ok: true, since: this.now() };
  }

  /** Down since the first failure; `error` is the latest one's. True when it was up until now. */
  down(err: unknown): boolean {
    const error = this.describe(err);
    const was = this.state.ok;
    this.heardAt = this.now().getTime();
    this.state = { ok: false, since: was ? this.now() : this.state.since, error };
    return was;
  }

  /** Milliseconds since the hub last heard how the dependency is. */
  age(): number {
    return this.now().getTime() - this.heardAt;
  }

  get(): DependencyState {
    const s = this.state;
    return { ok: s.ok, since: s.since.toISOString(), ...(s.error !== undefined ? { error: s.error } : {}) };
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A database failure as anyone may read it at GET /health: its code, not its message, which names the
 * server's address and user (the hub's log has it, `could not take or renew the hub lease`).
 */
export function databaseFailure(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return `${typeof code === 'string' ? code : 'failed'}: the hub's log says why ("could not take or renew the hub lease", "the database failed …")`;
}

/**
 * edgefleet_hub_database_up and edgefleet_hub_broker_up on /metrics: what GET /api/v1/ready says of each,
 * read at each scrape without asking the dependency (before, /metrics had no word of either being down).
 */
export function dependencyGauges(metrics: Metrics, dependencies: () => { database: DependencyState; broker: DependencyState }): void {
  metrics.describe('edgefleet_hub_database_up', 'gauge', "1 while the hub's database answers, 0 since a statement or lease renewal found it unreachable (GET /api/v1/ready says since when)");
  metrics.describe('edgefleet_hub_broker_up', 'gauge', "1 while the hub's MQTT broker listens (embedded) or its link to the external broker is up, else 0");
  metrics.onRender(() => {
    const d = dependencies();
    metrics.set('edgefleet_hub_database_up', d.database.ok ? 1 : 0);
    metrics.set('edgefleet_hub_broker_up', d.broker.ok ? 1 : 0);
  });
}
