// What the hub knows of one dependency (docs/hub.md "Health and readiness"): set by the events the hub
// already has (a lease renewal's outcome for the database, the broker link's connect and close), read
// by GET /api/v1/health and /ready without asking the dependency anything.
import type { DependencyState } from '@edgefleet/shared';

export class DependencyWatch {
  private state: { ok: boolean; since: Date; error?: string };

  constructor(private readonly now: () => Date, up = true, error?: string) {
    this.state = { ok: up, since: now(), ...(up ? {} : { error: error ?? 'not started' }) };
  }

  up(): void {
    if (!this.state.ok) this.state = { ok: true, since: this.now() };
  }

  /** Down since the first failure; `error` is the latest one's. */
  down(err: unknown): void {
    const error = err instanceof Error ? err.message : String(err);
    this.state = { ok: false, since: this.state.ok ? this.now() : this.state.since, error };
  }

  get(): DependencyState {
    const s = this.state;
    return { ok: s.ok, since: s.since.toISOString(), ...(s.error !== undefined ? { error: s.error } : {}) };
  }
}
