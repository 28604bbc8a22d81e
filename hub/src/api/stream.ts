// GET /api/v1/stream: the hub's events as Server-Sent Events (docs/hub.md "Live stream"). Same bearer
// roles as every route (viewer reads). Bounded on every side a client could stretch: concurrent streams
// per token, per address and in all (429/503), the bytes queued for one client (a client that reads
// slower than the hub produces is dropped, not buffered for), and the resume backlog (the bus's ring).
// A comment line every heartbeatMs keeps proxies from closing an idle stream; stop() ends every stream.
import { AppError, StreamEventSchemas, StreamHello, StreamReset, type StreamEvent } from '@edgefleet/shared';
import type { EventBus } from '../events/bus.js';
import type { MetricsPort } from '../mqtt/ports.js';
import { clientAddress } from './auth-limit.js';
import { actor, type ApiDeps, type Ctx, type RouteDef } from './http.js';

export interface StreamLimits {
  perToken: number;
  perAddress: number;
  total: number;
  /** Bytes queued for one client past what its socket took; past it the client is dropped. */
  maxQueuedBytes: number;
  heartbeatMs: number;
}
export const STREAM_DEFAULTS: StreamLimits = { perToken: 8, perAddress: 16, total: 256, maxQueuedBytes: 1024 * 1024, heartbeatMs: 15_000 };

interface Client {
  tokenId: string;
  address: string;
  close(why: 'slow' | 'stop' | 'gone' | 'revoked'): void;
}

const enc = new TextEncoder();

/** One SSE frame. Payloads are JSON (no raw newlines), so one `data:` line each. */
export function sseFrame(event: string, data: unknown, id?: string): string {
  return `${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Open streams and their limits; one per hub. */
export class StreamHub {
  readonly limits: StreamLimits;
  private readonly clients = new Set<Client>();
  private stopped = false;

  /**
   * `tokenValid` is asked at every heartbeat: a stream opened with a token revoked since then ends
   * (the client's reconnect then gets 401).
   */
  constructor(readonly bus: EventBus, limits: Partial<StreamLimits> = {}, private readonly metrics?: MetricsPort, private readonly tokenValid?: (tokenId: string) => boolean) {
    this.limits = { ...STREAM_DEFAULTS, ...limits };
  }

  get open(): number {
    return this.clients.size;
  }

  /** Ends every stream (the hub is stopping); later requests are refused. */
  stop(): void {
    this.stopped = true;
    for (const c of [...this.clients]) c.close('stop');
  }

  private admit(tokenId: string, address: string): void {
    if (this.stopped) throw new AppError('NOT_READY', 'the hub is stopping');
    const l = this.limits;
    let byToken = 0;
    let byAddress = 0;
    for (const c of this.clients) {
      if (c.tokenId === tokenId) byToken++;
      if (c.address === address) byAddress++;
    }
    const refuse = (what: string) => {
      this.metrics?.inc('edgefleet_stream_refused_total', { reason: what });
      return new AppError(what === 'total' ? 'OVERLOADED' : 'RATE_LIMITED', `too many open streams ${what === 'total' ? 'on this hub' : `for this ${what}`}: at most ${what === 'token' ? l.perToken : what === 'address' ? l.perAddress : l.total}; close one (each console tab holds one)`);
    };
    if (this.clients.size >= l.total) throw refuse('total');
    if (byToken >= l.perToken) throw refuse('token');
    if (byAddress >= l.perAddress) throw refuse('address');
  }

  /** Opens a stream for an authorized request: hello, the missed events (or reset), then live events. */
  connect(c: Ctx): Response {
    const who = actor(c);
    const address = clientAddress(c.env);
    this.admit(who.id, address);
    const { bus, limits } = this;
    const last = c.req.header('last-event-id');
    let heartbeat: NodeJS.Timeout | null = null;
    let unsubscribe: (() => void) | null = null;
    let client: Client | null = null;
    const cleanup = () => {
      if (heartbeat) clearInterval(heartbeat);
      heartbeat = null;
      unsubscribe?.();
      unsubscribe = null;
      if (client) this.clients.delete(client);
      this.metrics?.set('edgefleet_stream_clients', this.clients.size);
    };
    const body = new ReadableStream<Uint8Array>({
      start: (ctl) => {
        let done = false;
        const send = (text: string): void => {
          if (done) return;
          ctl.enqueue(enc.encode(text));
          // desiredSize = maxQueuedBytes − bytes the socket has not taken yet.
          if ((ctl.desiredSize ?? 0) < 0) client?.close('slow');
        };
        client = {
          tokenId: who.id, address,
          close: (why) => {
            if (done) return;
            done = true;
            this.metrics?.inc('edgefleet_stream_closed_total', { reason: why });
            cleanup();
            if (why === 'slow') {
              // Drop the connection itself (the server then cancels this stream and its queue); an
              // error on the stream instead would be logged by the server as a failed response.
              const sock = socketOf(c.env);
              if (sock) sock.destroy();
              else ctl.error(new Error('stream client too slow'));
            } else if (why === 'stop' || why === 'revoked') ctl.close();
          },
        };
        this.clients.add(client);
        this.metrics?.set('edgefleet_stream_clients', this.clients.size);
        const hello: StreamHello = { role: who.role, epoch: bus.epoch, heartbeatMs: limits.heartbeatMs };
        send(`retry: 2000\n${sseFrame('hello', hello)}`);
        if (last) {
          const r = bus.since(last);
          if ('reset' in r) send(sseFrame('reset', r.reset, bus.lastId()));
          else for (const e of r.events) send(frameOf(e));
        }
        unsubscribe = bus.subscribe((e) => send(frameOf(e)));
        heartbeat = setInterval(() => {
          if (this.tokenValid && !this.tokenValid(who.id)) client?.close('revoked');
          else send(': heartbeat\n\n');
        }, limits.heartbeatMs);
        heartbeat.unref();
        c.req.raw.signal.addEventListener('abort', () => client?.close('gone'), { once: true });
      },
      cancel: () => client?.close('gone'),
    }, { highWaterMark: limits.maxQueuedBytes, size: (chunk) => chunk.byteLength });
    return new Response(body, {
      status: 200,
      headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' },
    });
  }
}

/** The request's socket under @hono/node-server (its `incoming` binding). */
function socketOf(env: unknown): { destroy(): void } | undefined {
  return (env as { incoming?: { socket?: { destroy(): void } } } | undefined)?.incoming?.socket;
}

function frameOf(e: StreamEvent): string {
  return sseFrame(e.type, e.data, e.id);
}

export const streamRoutes: RouteDef[] = [
  {
    method: 'get', path: '/stream', access: 'viewer', rawResponse: 'text/event-stream',
    events: { hello: StreamHello, reset: StreamReset, ...StreamEventSchemas },
    summary: 'Live events as Server-Sent Events: hello, then device.presence, device.state, deployment.progress and audit, each with an id '
      + '(EPOCH-SEQ). Resume with Last-Event-ID; an id older than the buffer or from another hub run gets a reset event (refetch). '
      + 'Limits: streams per token, per address and in all (429/503); a client that falls behind is dropped. Comment heartbeats keep it open',
    async handler(c, deps: ApiDeps) {
      if (!deps.streams) throw new AppError('NOT_READY', 'the live stream is not running on this hub');
      return deps.streams.connect(c);
    },
  },
];
