// The embedded broker's listeners (embedded.ts, docs/mqtt.md): MQTT on TCP, on TLS when given a
// certificate, and over WebSocket (subprotocol "mqtt") when given a port. Each hands its connections to
// the same handler, so authentication, ACL and limits are the same on all three.
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { Connection } from 'aedes';
import { listenError } from '@edgefleet/shared';
import type { FleetLinkAddress } from './ports.js';

/**
 * Connections the kernel queues for accept() (capped by net.core.somaxconn, 4096 on current Linux).
 * Node's default, 511, overflowed when 10,000 devices reconnected at once: the kernel dropped the
 * handshakes past it and the devices waited out SYN retransmits (docs/performance.md "Reconnect storm").
 */
export const LISTEN_BACKLOG = 4096;

export interface ListenOptions {
  tcpPort: number;
  host: string;
  tls?: { port: number; cert: string | Buffer; key: string | Buffer };
  wsPort?: number;
}

/** The servers listening, each set as soon as it listens (a start that fails part way leaves the others to close). */
export interface Listeners {
  tcp: net.Server | null;
  tls: tls.Server | null;
  ws: http.Server | null;
  wss: WebSocketServer | null;
}

export function noListeners(): Listeners {
  return { tcp: null, tls: null, ws: null, wss: null };
}

/** Opens the listeners `o` asks for into `l`, in order TCP, TLS, WebSocket; resolves when all listen. */
export async function openListeners(l: Listeners, o: ListenOptions, handle: (conn: Connection) => void): Promise<void> {
  const tcp = net.createServer(handle);
  l.tcp = tcp;
  tcp.listen({ port: o.tcpPort, host: o.host, backlog: LISTEN_BACKLOG });
  await listening(tcp, o.tcpPort, o.host, 'mqttPort (--mqtt-port)');
  if (o.tls) {
    const server = tls.createServer({ cert: o.tls.cert, key: o.tls.key }, handle);
    l.tls = server;
    server.listen(o.tls.port, o.host);
    await listening(server, o.tls.port, o.host, 'mqttsPort (--mqtts-port)');
  }
  if (o.wsPort !== undefined) {
    // MQTT over WebSocket (subprotocol "mqtt"), same authentication, ACL and limits as TCP.
    const server = http.createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' });
      res.end('this port speaks MQTT over WebSocket (subprotocol "mqtt")\n');
    });
    const wss = new WebSocketServer({ server, handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false) });
    l.wss = wss;
    wss.on('connection', (ws, req) => {
      const stream = createWebSocketStream(ws);
      // The rate limiter keys on the remote address, as for TCP.
      Object.defineProperty(stream, 'remoteAddress', { value: req.socket.remoteAddress });
      stream.on('error', () => ws.terminate());
      handle(stream as unknown as Connection);
    });
    l.ws = server;
    server.listen(o.wsPort, o.host);
    await listening(server, o.wsPort, o.host, 'wsPort (--ws-port)');
  }
}

/** Resolves once `server` listens; a refusal the config can cure names the setting (shared listen-error.ts). */
async function listening(server: net.Server, port: number, host: string, setting: string): Promise<void> {
  try {
    await once(server, 'listening');
  } catch (err) {
    throw listenError(err as NodeJS.ErrnoException, port, host, { port: setting, host: 'host (--host)' }, 'hub');
  }
}

/**
 * Drops the WebSocket clients and stops every listener accepting, now; the promise resolves when each
 * server has closed (its TCP and TLS connections end with the broker, which the caller closes meanwhile).
 */
export function closeListeners(l: Listeners): Promise<void> {
  for (const c of l.wss?.clients ?? []) c.terminate();
  l.wss?.close();
  l.ws?.closeAllConnections();
  const servers = [l.ws, l.tls, l.tcp].filter((s): s is net.Server => s !== null);
  return Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => undefined);
}

/** Where the listeners listen; throws when TCP does not. */
export function listenerAddress(l: Listeners): FleetLinkAddress {
  const a = l.tcp?.address();
  if (!a || typeof a === 'string') throw new Error('the embedded broker is not listening');
  const out: FleetLinkAddress = { mqtt: `mqtt://${a.address}:${a.port}` };
  const t = l.tls?.address();
  if (t && typeof t !== 'string') out.mqtts = `mqtts://${t.address}:${t.port}`;
  const w = l.ws?.address();
  if (w && typeof w !== 'string') out.ws = `ws://${w.address}:${w.port}`;
  return out;
}
