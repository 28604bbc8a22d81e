// The live stream client: GET /api/v1/stream read with fetch (EventSource cannot send a bearer token),
// parsed with the shared SSE parser, reconnecting with Last-Event-ID so nothing is missed while the
// hub holds the events; a `reset` (or a new hub run, or the stream back after it was lost) tells the views to refetch. A stream that says
// nothing for three heartbeats is treated as dead and reopened. A stream the hub refuses (429: too many
// streams for the token or address; 503) is retried, and its code and message are shown meanwhile.
// With a `Visibility` (the web console: docs/console.md "Live updates and tabs"), the stream is closed
// while the tab is hidden and resumed with Last-Event-ID when it is shown: Chromium opens at most 6
// HTTP/1.1 connections per host for one browser profile, and a stream holds one for good, so a
// seventh tab would otherwise never load.
import { SseParser } from '@edgefleet/shared/browser';
import { refusalOf } from './api.js';
import type { StreamEvent, StreamEventType, StreamHello } from '@edgefleet/shared';

export type LiveState = 'connecting' | 'live' | 'offline' | 'paused';
/** The hub's answer when it refused the stream: its error code and message. */
export interface Refusal { code: string; message: string }

export interface LiveHandlers {
  hello(h: StreamHello): void;
  event(e: StreamEvent): void;
  /** Events were missed: refetch everything shown. */
  reset(): void;
  /** `refused`: with `offline`, why the hub refused the last attempt. */
  state(s: LiveState, refused?: Refusal): void;
  unauthorized(): void;
}

/** Whether the page is hidden, and its changes (document.visibilityState in the page; a fake in tests). */
export interface Visibility {
  hidden(): boolean;
  /** Calls `fn` on each change; returns the unsubscribe. */
  onChange(fn: () => void): () => void;
}

export function documentVisibility(): Visibility {
  return {
    hidden: () => document.visibilityState === 'hidden',
    onChange: (fn) => {
      document.addEventListener('visibilitychange', fn);
      return () => document.removeEventListener('visibilitychange', fn);
    },
  };
}

const EVENT_TYPES: ReadonlySet<string> = new Set<StreamEventType>(['device.presence', 'device.state', 'deployment.progress', 'audit', 'alert', 'rollout']);

export class Live {
  private stopped = false;
  private abort: AbortController | null = null;
  private lastId: string | null = null;
  private epoch: string | null = null;
  /** The stream was closed or never opened since the session's first load: events may have been missed. */
  private gap = false;
  /** Set while the loop waits for the page to be shown again. */
  private wake: (() => void) | null = null;
  /** The stream was lost or refused (not closed for a hidden tab) since it was last live. */
  private offline = false;
  private unwatch: (() => void) | null = null;

  constructor(private readonly token: string, private readonly on: LiveHandlers, private readonly visibility?: Visibility) {}

  start(): void {
    // Hidden: close the stream (the loop then waits); shown: the loop reconnects with Last-Event-ID.
    this.unwatch = this.visibility?.onChange(() => (this.visibility?.hidden() ? this.abort?.abort() : this.wake?.())) ?? null;
    this.loop().catch(() => this.on.state('offline'));
  }

  stop(): void {
    this.stopped = true;
    this.unwatch?.();
    this.abort?.abort();
    this.wake?.();
  }

  private async loop(): Promise<void> {
    let backoff = 500;
    while (!this.stopped) {
      if (this.visibility?.hidden()) {
        this.gap = true;
        this.on.state('paused');
        await new Promise<void>((r) => { this.wake = r; });
        this.wake = null;
        backoff = 500;
        continue;
      }
      this.on.state('connecting');
      let refused: Refusal | undefined;
      const resumeFrom = this.lastId;
      const ac = new AbortController();
      this.abort = ac;
      try {
        const res = await fetch('/api/v1/stream', {
          headers: { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...(resumeFrom ? { 'last-event-id': resumeFrom } : {}) },
          signal: ac.signal,
          cache: 'no-store',
        });
        if (res.status === 401) { this.on.unauthorized(); return; }
        if (res.ok && res.body) {
          backoff = 500;
          await this.read(res.body, ac, resumeFrom !== null);
        } else {
          const { code, message } = await refusalOf(res, 'read');
          refused = { code, message };
        }
      } catch {
        /* network error or aborted: retry below */
      }
      if (this.stopped) return;
      this.gap = true;
      if (this.visibility?.hidden()) continue; // closed because the tab was hidden: pause, no backoff
      this.offline = true;
      this.on.state('offline', refused);
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 10_000);
    }
  }

  private async read(body: ReadableStream<Uint8Array>, ac: AbortController, resumed: boolean): Promise<void> {
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
            // Likewise a reconnect without an id to resume from (no event had come: the hello carries
            // none) after a hidden tab, a tab opened hidden, or a lost connection.
            // And back after being offline: the events missed are resumed, but the views' reads that failed
            // meanwhile (UNREACHABLE, a proxy's 502, "the console retries when it is back") are not.
            if ((this.epoch !== null && this.epoch !== h.epoch) || (this.gap && !resumed) || this.offline) this.on.reset();
            this.gap = false;
            this.offline = false;
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
