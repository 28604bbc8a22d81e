// Local event log (install results, rollbacks, bit rot, …). Events get a local
// seq here; the sync part later moves them to its outbox and sends them. The log keeps the newest
// EVENTS_KEEP events (and each model's latest switch, which the policy guard reads at start): a box
// that runs for years records events for ever (docs/agent.md "Database").
import type { EventKind } from '@edgefleet/shared';
import type { Db } from './db.js';

export interface AgentEvent {
  seq: number;
  at: string;
  kind: EventKind;
  model?: string | undefined;
  version?: string | undefined;
  code?: string | undefined;
  message: string;
  data?: Record<string, unknown> | undefined;
}

/** Events kept in agent.db's `events` table: the newest ones (the hub holds the history it was sent). */
export const EVENTS_KEEP = 10_000;
/** The log is cut back to EVENTS_KEEP every this many events, so it holds at most EVENTS_KEEP + EVENTS_PRUNE_EVERY (plus one switch per model). */
export const EVENTS_PRUNE_EVERY = 500;

export type NewEvent = Omit<AgentEvent, 'seq' | 'at'> & { at?: string };

interface Row { seq: number; at: string; kind: string; model: string | null; version: string | null; code: string | null; message: string; data: string | null }

export class EventsRepo {
  /** `forward` also queues each event for the hub (the outbox), in the same transaction. */
  constructor(private readonly db: Db, private readonly forward?: (e: Omit<AgentEvent, 'seq'>) => void) {}

  add(e: NewEvent): AgentEvent {
    const at = e.at ?? new Date().toISOString();
    return this.db.transaction(() => {
      const r = this.insert(at, e);
      this.forward?.({ ...e, at });
      const seq = Number(r.lastInsertRowid);
      if (seq % EVENTS_PRUNE_EVERY === 0) this.prune(seq);
      return { ...e, at, seq };
    })();
  }

  /** Forgets events older than the newest EVENTS_KEEP, except each model's latest switch (lastSwitch). */
  private prune(newest: number): void {
    this.db
      .prepare("DELETE FROM events WHERE seq <= ? AND seq NOT IN (SELECT MAX(seq) FROM events WHERE kind IN ('activated', 'rolled_back') AND model IS NOT NULL GROUP BY model)")
      .run(newest - EVENTS_KEEP);
  }

  private insert(at: string, e: NewEvent) {
    return this.db
      .prepare('INSERT INTO events (at, kind, model, version, code, message, data) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(at, e.kind, e.model ?? null, e.version ?? null, e.code ?? null, e.message, e.data ? JSON.stringify(e.data) : null);
  }

  list(opts: { afterSeq?: number; kind?: EventKind; limit?: number } = {}): AgentEvent[] {
    const rows = this.db
      .prepare(`SELECT * FROM events WHERE seq > ? ${opts.kind ? 'AND kind = ?' : ''} ORDER BY seq LIMIT ?`)
      .all(...[opts.afterSeq ?? 0, ...(opts.kind ? [opts.kind] : []), opts.limit ?? 1000]) as Row[];
    return rows.map(toEvent);
  }

  /** The newest activation or rollback of a model (tells a forward switch from a rollback made by another process). */
  lastSwitch(model: string): AgentEvent | undefined {
    const r = this.db
      .prepare("SELECT * FROM events WHERE model = ? AND kind IN ('activated', 'rolled_back') ORDER BY seq DESC LIMIT 1")
      .get(model) as Row | undefined;
    return r ? toEvent(r) : undefined;
  }
}

function toEvent(r: Row): AgentEvent {
  return {
    seq: r.seq,
    at: r.at,
    kind: r.kind as EventKind,
    model: r.model ?? undefined,
    version: r.version ?? undefined,
    code: r.code ?? undefined,
    message: r.message,
    data: r.data ? (JSON.parse(r.data) as Record<string, unknown>) : undefined,
  };
}
