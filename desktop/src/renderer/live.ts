// The live stream client: GET /api/v1/stream read with fetch (EventSource cannot send a bearer token),
// parsed with the shared SSE parser, reconnecting with Last-Event-ID so nothing is missed while the
// hub holds the events; a `reset` (or a new hub run) tells the views to refetch. A stream that says
// nothing for three heartbeats is treated as dead and reopened.
import { SseParser } from '@edgefleet/shared/browser';
import type { StreamEvent, StreamEventType, StreamHello } from '@edgefleet/shared';

export type LiveState = 'connecting' | 'live' | 'offline';

export interface LiveHandlers {
  hello(h: StreamHello): void;
  event(e: StreamEvent): void;
  /** Events were missed: refetch everything shown. */
  reset(): void;
  state(s: LiveState): void;
  unauthorized(): void;
}

const EVENT_TYPES: ReadonlySet<string> = new Set<StreamEventType>(['device.presence', 'device.state', 'deployment.progress', 'audit', 'alert', 'rollout']);

export class Live {
  private stopped = false;
  private abort: AbortController | null = null;
  private lastId: string | null = null;
  private epoch: string | null = null;

  constructor(private readonly token: string, private readonly on: LiveHandlers) {}

  start(): void {
    this.loop().catch(() => this.on.state('offline'));
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
  }

  private async loop(): Promise<void> {
    let backoff = 500;
    while (!this.stopped) {
      this.on.state('connecting');
      const ac = new AbortController();
      this.abort = ac;
      try {
        const res = await fetch('/api/v1/stream', {
          headers: { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...(this.lastId ? { 'last-event-id': this.lastId } : {}) },
          signal: ac.signal,
          cache: 'no-store',
        });
        if (res.status === 401) { this.on.unauthorized(); return; }
        if (res.ok && res.body) {
          backoff = 500;
          await this.read(res.body, ac);
        }
      } catch {
        /* network error or aborted: retry below */
      }
      if (this.stopped) return;
      this.on.state('offline');
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 10_000);
    }
  }

  private async read(body: ReadableStream<Uint8Array>, ac: AbortController): Promise<void> {
    const parser = new SseParser();
    const dec = new TextDecoder();
    const reader = body.getReader();
    let heartbeatMs = 15_000;
    let lastData = Date.now();
    const watchdog = setInterval(() => { if (Date.now() - lastData > 3 * heartbeatMs) ac.abort(); }, 1000);
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        lastData = Date.now();
        for (const m of parser.push(dec.decode(value, { stream: true }))) {
          if (m.id) this.lastId = m.id;
          if (m.event === 'hello') {
            const h = JSON.parse(m.data) as StreamHello;
            heartbeatMs = h.heartbeatMs;
            // A new hub run: the ids we hold mean nothing to it, and what happened meanwhile is unknown.
            if (this.epoch !== null && this.epoch !== h.epoch) this.on.reset();
            this.epoch = h.epoch;
            this.on.hello(h);
            this.on.state('live');
          } else if (m.event === 'reset') {
            this.on.reset();
          } else if (EVENT_TYPES.has(m.event)) {
            this.on.event({ id: m.id ?? '', type: m.event, data: JSON.parse(m.data) } as StreamEvent);
          }
        }
      }
    } finally {
      clearInterval(watchdog);
    }
  }
}
