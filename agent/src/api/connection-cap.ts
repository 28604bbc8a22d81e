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
// still closes connections on accept. Each is bounded in number and in time.
import type { Socket } from 'node:net';
import { AppError } from '@edgefleet/shared/core';

/** Connections over api.maxConnections waiting, unread, for one to close, per listener. */
export const WAITING_CONNECTIONS = 1024;

/** Connections refused at once past the waiting ones (their request read to answer it), per listener. */
export const SPARE_CONNECTIONS = 32;

/** Hands an accepted (paused) connection on: to be served, or `refused` to be answered the cap's error. */
export type HandConnection = (s: Socket, refused: boolean) => void;

export interface ConnectionCapOptions {
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

  constructor(private readonly o: ConnectionCapOptions) {}

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
      hand(s, true);
      return;
    }
    const timer = setTimeout(() => {
      this.waiting.delete(s);
      hand(s, true);
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
      w.hand(s, true);
    }
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
