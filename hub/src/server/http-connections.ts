// Open HTTP connections to the hub, capped in all and per remote address (docs/hub.md "HTTP
// connections", docs/security.md). Without a cap, anyone who can reach the API port could hold
// connections (a header or body byte now and then keeps one open for HTTP_IDLE_MS each time) until the
// process runs out of file descriptors, which it shares with the devices' MQTT connections and the
// database. One address past its share gets a 503 naming the limit and the connection is closed; past
// the total, node closes new connections on accept (server.maxConnections).
import type { Server, Socket } from 'node:net';
import { AppError } from '@edgefleet/shared/core';
import type { Metrics } from '../metrics.js';
import type { LoggerPort } from '../mqtt/ports.js';

export interface HttpConnectionLimits {
  /** Connections open at once over all clients. */
  maxConnections: number;
  /** Connections open at once from one remote address (clients behind one NAT or proxy share it). */
  maxConnectionsPerAddress: number;
}

/** Which limit refused a connection (the label of edgefleet_hub_http_connections_refused_total). */
export type RefusedBy = 'per_address' | 'total';

export const HTTP_CONNECTION_DEFAULTS: HttpConnectionLimits = { maxConnections: 8192, maxConnectionsPerAddress: 256 };

/** The answer a connection past its address's share gets before it is closed. */
function refusal(address: string, limit: number): string {
  const e = new AppError('RATE_LIMITED', `too many open connections from ${address}: at most ${limit} (http.maxConnectionsPerAddress); close idle ones or retry later`);
  const body = JSON.stringify({ error: e.toJSON() });
  return `HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nretry-after: 1\r\nconnection: close\r\n\r\n${body}`;
}

/**
 * Holds `server`'s connections to `limits`; returns how many each address has open. A refused
 * connection never reaches the HTTP server's own connection listener (so no request on it is parsed
 * or served): that listener is wrapped.
 */
export function capConnections(server: Server, limits: HttpConnectionLimits, refused?: (limit: RefusedBy, address: string) => void): () => ReadonlyMap<string, number> {
  server.maxConnections = limits.maxConnections;
  // Node closes a connection past maxConnections on accept and says so with 'drop' (its remote address in data).
  server.on('drop', (data?: { remoteAddress?: string }) => refused?.('total', data?.remoteAddress ?? ''));
  const open = new Map<string, number>();
  const http = server.listeners('connection') as Array<(sock: Socket) => void>;
  server.removeAllListeners('connection');
  server.on('connection', (sock: Socket) => {
    const address = sock.remoteAddress ?? '';
    const n = open.get(address) ?? 0;
    if (n >= limits.maxConnectionsPerAddress) {
      sock.on('error', () => undefined);
      // The answer, then the connection closed once it is written (what the client sends is not read).
      sock.end(refusal(address, limits.maxConnectionsPerAddress), () => sock.destroy());
      refused?.('per_address', address);
      return;
    }
    open.set(address, n + 1);
    sock.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
    for (const l of http) l.call(server, sock);
  });
  return () => open;
}

/**
 * Counts refused HTTP connections in `metrics` (edgefleet_hub_http_connections_refused_total by limit) and logs
 * at most one warning a minute naming the limit and the last address (docs/hub.md "HTTP connections").
 */
export function connectionRefusals(metrics: Metrics, logger: LoggerPort, now: () => number = Date.now): (limit: RefusedBy, address: string) => void {
  metrics.describe('edgefleet_hub_http_connections_refused_total', 'counter', 'HTTP connections refused for too many open ones, by the limit that refused them (per_address, total)');
  let loggedAt = -Infinity;
  let since = 0;
  return (limit, address) => {
    metrics.inc('edgefleet_hub_http_connections_refused_total', { limit });
    since++;
    if (now() - loggedAt < 60_000) return;
    logger.warn({ limit, address, refused: since }, limit === 'total' ? 'HTTP connections refused: http.maxConnections open' : 'HTTP connections refused: one address holds http.maxConnectionsPerAddress');
    loggedAt = now();
    since = 0;
  };
}
