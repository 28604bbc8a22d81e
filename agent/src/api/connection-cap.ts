// api.maxConnections on one listener of the local API (the TCP port, api.socket; REST and gRPC each):
// docs/agent.md "Limits", docs/decisions/0104-connections-over-the-cap.md.
// node's own cap (net.Server.maxConnections) closes a connection over it on accept, unanswered: an app
// that opened one too many saw EPIPE, ECONNRESET or a bare gRPC UNAVAILABLE and nothing saying why.
// So the listener accepts connections paused (nothing read), and a REST one over api.maxConnections
// waits, unread, for a connection to close: then it is served in its turn. One that waits
// api.headersTimeoutMs (the time a client may take to send its headers anyway), or finds
// WAITING_CONNECTIONS already waiting, is refused: its request is answered 503 OVERLOADED naming the
// setting. A gRPC one does not wait (`waiting: 0`): it is refused at once, each of its calls answered
// UNAVAILABLE so (./grpc/refused.ts). node's cap is set above all of them, SPARE_CONNECTIONS past the waiting ones: past that it
// still closes connections on accept. Each is bounded in number and in time. /metrics shows each
// listener's connections, those waiting and those refused (ConnectionCaps, docs/agent.md "Limits").
import type { Server, Socket } from 'node:net';
import { AppError } from '@edgefleet/shared/core';

/** Connections over api.maxConnections waiting, unread, for one to close, per listener. */
export const WAITING_CONNECTIONS = 1024;

/** Connections refused at once past the waiting ones (their request read to answer it), per listener. */
export const SPARE_CONNECTIONS = 32;

/** Hands an accepted (paused) connection on: to be served, or `refused` to be answered the cap's error. */
export type HandConnection = (s: Socket, refused: boolean) => void;

export interface ConnectionCapOptions {
  /** The listener's setting, its label on /metrics: api.port, api.socket, api.grpc.port, api.grpc.socket. */
  listener: string;
  /** api.maxConnections. */
  max: number;
  /** Names the listener in the answer ("api.port 8701", "api.socket /run/edgefleet/agent.sock"). */
  where: () => string;
  /** How long one over the cap waits for a slot before it is refused (api.headersTimeoutMs). */
  waitMs: number;
  /** How many may wait at once: WAITING_CONNECTIONS, or 0 (gRPC: refused at once, ./grpc/refused.ts). */
  waiting: number;
  /** How to need fewer connections, for the answer: "(keep-alive)", "(one channel)". */
  fewer: string;
}

export class ConnectionCap {
  private live = 0;
  /** In the order they came: the first is served when a slot frees. */
  private readonly waiting = new Map<Socket, { timer: NodeJS.Timeout; hand: HandConnection }>();

  /** Connections refused since start: answered the cap's error, or closed on accept by node past hardCap. */
  readonly refused = { answered: 0, closed: 0 };

  constructor(private readonly o: ConnectionCapOptions) {}

  get listener(): string {
    return this.o.listener;
  }

  /** Connections served now (at most api.maxConnections). */
  get liveCount(): number {
    return this.live;
  }

  /** Caps `server` at hardCap (node closes a connection over it on accept) and counts those it closes. */
  watch(server: Server): void {
    server.maxConnections = this.hardCap;
    server.on('drop', () => this.refused.closed++);
  }

  /** What node's net.Server.maxConnections (and the listen backlog) is set to. */
  get hardCap(): number {
    return this.o.max + this.o.waiting + SPARE_CONNECTIONS;
  }

  /** Connections over the cap waiting for a slot now. */
  get waitingCount(): number {
    return this.waiting.size;
  }

  /** A connection accepted paused on this listener: handed on now, once a slot frees, or refused. */
  accept(s: Socket, hand: HandConnection): void {
    if (this.live < this.o.max) {
      this.serve(s, hand);
      return;
    }
    if (this.waiting.size >= this.o.waiting) {
      this.refuse(s, hand);
      return;
    }
    const timer = setTimeout(() => {
      this.waiting.delete(s);
      this.refuse(s, hand);
    }, this.o.waitMs);
    this.waiting.set(s, { timer, hand });
    // Destroyed while it waits (the stop's last cut): no longer waiting.
    s.once('close', () => {
      clearTimeout(timer);
      this.waiting.delete(s);
    });
  }

  /** Every connection still waiting is refused now (the listener stops: no slot will be given). */
  refuseWaiting(): void {
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const [s, w] of waiting) {
      clearTimeout(w.timer);
      this.refuse(s, w.hand);
    }
  }

  private refuse(s: Socket, hand: HandConnection): void {
    this.refused.answered++;
    hand(s, true);
  }

  /** The error a refused connection's requests (calls) are answered with. */
  refusal(): AppError {
    const { max, waitMs, waiting, fewer } = this.o;
    const waited = waiting === 0 ? '' : `, and no slot freed for this one within ${waitMs} ms (api.headersTimeoutMs; at most ${waiting} wait)`;
    return new AppError('OVERLOADED', `${this.o.where()} holds ${max} connections (api.maxConnections)${waited}: expected at most ${max} at once on it; retry once one closes, or send more requests on fewer connections ${fewer}`);
  }

  private serve(s: Socket, hand: HandConnection): void {
    this.live++;
    s.once('close', () => {
      this.live--;
      const next = this.waiting.entries().next();
      if (next.done) return;
      const [w, { timer, hand: handNext }] = next.value;
      this.waiting.delete(w);
      clearTimeout(timer);
      this.serve(w, handNext);
    });
    hand(s, false);
  }
}

/**
 * Every listener's cap, REST's and gRPC's, for one set of series on /metrics: the connections each
 * serves, those waiting for a slot (REST) and those refused, answered (503 OVERLOADED, gRPC UNAVAILABLE)
 * or closed on accept. An app seeing slow answers or 503s can tell a full cap from a busy model.
 */
export class ConnectionCaps {
  private readonly caps: ConnectionCap[] = [];

  add(o: ConnectionCapOptions): ConnectionCap {
    const c = new ConnectionCap(o);
    this.caps.push(c);
    return c;
  }

  metrics(): string {
    const l: string[] = [];
    const series = (name: string, type: string, help: string, rows: Array<[string, number]>) => {
      l.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...rows.map(([labels, v]) => `${name}{${labels}} ${v}`));
    };
    const each = (f: (c: ConnectionCap) => Array<[string, number]>) => this.caps.flatMap(f);
    series('edgefleet_agent_api_connections', 'gauge', 'Local API connections served now, per listener (at most api.maxConnections each).',
      each((c) => [[`listener="${c.listener}"`, c.liveCount]]));
    series('edgefleet_agent_api_connections_waiting', 'gauge', 'REST connections over api.maxConnections waiting, unread, for a slot, per listener.',
      each((c) => [[`listener="${c.listener}"`, c.waitingCount]]));
    series('edgefleet_agent_api_connections_refused_total', 'counter', 'Connections over api.maxConnections refused, per listener: answered (REST 503 OVERLOADED, gRPC UNAVAILABLE) or closed on accept past those.',
      each((c) => [[`listener="${c.listener}",how="answered"`, c.refused.answered], [`listener="${c.listener}",how="closed"`, c.refused.closed]]));
    return `${l.join('\n')}\n`;
  }
}
