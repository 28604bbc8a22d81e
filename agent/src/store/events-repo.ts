// Local event log (install results, rollbacks, bit rot, …). Events get a local
// seq here; the sync part later moves them to its outbox and sends them.
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
      return { ...e, at, seq: Number(r.lastInsertRowid) };
    })();
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
