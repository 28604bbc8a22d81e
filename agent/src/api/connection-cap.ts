// api.maxConnections on one REST listener (the TCP port, api.socket): docs/agent.md "Limits". node's own
// cap (net.Server.maxConnections) closes a connection over it on accept, unanswered: an app that opened
// one too many saw EPIPE or ECONNRESET and nothing saying why (600 at once on the socket: 344 cut so).
// So node's cap is set SPARE_CONNECTIONS higher, and a connection over api.maxConnections is answered
// 503 OVERLOADED naming the setting, then closed (its request is read, so the answer is not lost to a
// reset). Past the spares node closes them on accept, as before: the spares are bounded, and so is the
// time each is held (api.headersTimeoutMs for a request that never comes).
import type { Socket } from 'node:net';
import { AppError } from '@edgefleet/shared/core';

/** Connections over api.maxConnections held at once to be answered 503, per listener. */
export const SPARE_CONNECTIONS = 32;

export class ConnectionCap {
  private live = 0;
  private readonly over = new WeakSet<Socket>();

  /** `where` names the listener in the answer ("api.port 8701", "api.socket /run/edgefleet/agent.sock"). */
  constructor(private readonly max: number, private readonly where: () => string) {}

  /** What node's net.Server.maxConnections is set to. */
  get hardCap(): number {
    return this.max + SPARE_CONNECTIONS;
  }

  /** A connection accepted on this listener: counted, or marked to be answered 503 (`refusal`). */
  accept(s: Socket): void {
    if (this.live >= this.max) {
      this.over.add(s);
      return;
    }
    this.live++;
    s.once('close', () => { this.live--; });
  }

  /** The error to answer a request on `s` with, when `s` came over the cap. */
  refusal(s: Socket): AppError | undefined {
    if (!this.over.has(s)) return undefined;
    return new AppError('OVERLOADED', `${this.where()} holds ${this.max} connections (api.maxConnections): expected at most ${this.max} at once on it; retry once one closes, or send more requests on fewer connections (keep-alive)`);
  }
}
