// The live stream client: GET /api/v1/stream read with fetch (EventSource cannot send a bearer token),
// parsed with the shared SSE parser, reconnecting with Last-Event-ID so nothing is missed while the
// hub holds the events; a `reset` (or a new hub run, or the stream back after it was lost) tells the views to refetch. A stream that says
// nothing for three heartbeats is treated as dead and reopened. A stream the hub refuses (429: too many
// streams for the token or address; 503) is retried, and its code and message are shown meanwhile.
// The stream is also how the console knows whether the hub is there (docs/console.md "When the hub is
// unreachable"): what failed is reported as `Trouble` (unreachable, or answering with errors), with when
// the hub last answered and when the next attempt is; `retryNow` cuts the backoff short. An attempt the
// hub takes but never answers (a stopped process) is given up after STREAM_CONNECT_MS.
// With a `Visibility` (the web console: docs/console.md "Live updates and tabs"), the stream is closed
// while the tab is hidden and resumed with Last-Event-ID when it is shown: Chromium opens at most 6
// HTTP/1.1 connections per host for one browser profile, and a stream holds one for good, so a
// seventh tab would otherwise never load.
import { SseParser } from '@edgefleet/shared/browser';
import { refusalOf } from './api.js';
import { noteHubDate } from './hub-clock.js';
import type { StreamEvent, StreamEventType, StreamHello } from '@edgefleet/shared';

export type LiveState = 'connecting' | 'live' | 'offline' | 'paused';
/** The hub's answer when it refused the stream: its error code and message. */
export interface Refusal { code: string; message: string }

/**
 * Why the stream is not live when the hub itself is the matter: `unreachable` (no answer, or something in
 * front of it answered: a proxy's 502), `failing` (the hub answered with an error of its own, such as
 * NOT_READY or DATABASE_UNAVAILABLE). A stream refused for its numbers (RATE_LIMITED, OVERLOADED) is a Refusal.
 */
export interface Trouble {
  kind: 'unreachable' | 'failing';
  error: string;
  /** An open stream that ended or broke (not gone silent): a proxy's idle timeout does that too, so it counts once the next attempt fails as well. */
  soft?: boolean;
}

/** With the state `offline`: what failed, and when the next attempt starts (epoch ms). */
export interface Offline { refused?: Refusal; trouble?: Trouble; retryAt: number; attempt: number }

/** How long an attempt waits for the hub's answer to begin before it is given up (a stopped hub takes the connection and says nothing). */
export const STREAM_CONNECT_MS = 10_000;
/** The backoff between attempts: doubled from the first, up to the last. */
export const RETRY_MS = { first: 500, max: 10_000 } as const;

const NO_ANSWER_TEXT = 'UNREACHABLE: the hub did not answer (it may be restarting or unreachable); the console retries when it is back';
const ABORTED: Record<string, string> = {
  deadline: `TIMEOUT: the hub took the connection but did not answer within ${STREAM_CONNECT_MS / 1000} s (stopped or overloaded)`,
  silent: 'TIMEOUT: the hub\'s stream went silent (no heartbeat for three intervals): the hub stopped or the network lost it',
};

export interface LiveHandlers {
  hello(h: StreamHello): void;
  event(e: StreamEvent): void;
  /** Events were missed: refetch everything shown. */
  reset(): void;
  /** `offline` comes with what failed and when the next attempt is. */
  state(s: LiveState, offline?: Offline): void;
  /** The hub answered (the stream's hello, an event or a heartbeat): at most once a second. */
  contact(at: number): void;
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
  /** Ends the backoff's wait at once (retryNow), or null when not waiting. */
  private skipWait: (() => void) | null = null;

  constructor(private readonly token: string, private readonly on: LiveHandlers, private readonly visibility?: Visibility) {}

  start(): void {
    // Hidden: close the stream (the loop then waits); shown: the loop reconnects with Last-Event-ID.
    this.unwatch = this.visibility?.onChange(() => (this.visibility?.hidden() ? this.abort?.abort() : this.wake?.())) ?? null;
    this.loop().catch(() => this.on.state('offline', { trouble: { kind: 'unreachable', error: NO_ANSWER_TEXT }, retryAt: Date.now(), attempt: 0 }));
  }

  stop(): void {
    this.stopped = true;
    this.unwatch?.();
    this.abort?.abort();
    this.wake?.();
    this.skipWait?.();
  }

  /** The next attempt now rather than at the end of the backoff; a no-op while one is under way. */
  retryNow(): void {
    this.skipWait?.();
  }

  private async loop(): Promise<void> {
    let backoff: number = RETRY_MS.first;
    let attempt = 0;
    while (!this.stopped) {
      if (this.visibility?.hidden()) {
        this.gap = true;
        this.on.state('paused');
        await new Promise<void>((r) => { this.wake = r; });
        this.wake = null;
        backoff = RETRY_MS.first;
        continue;
      }
      this.on.state('connecting');
      const failed = await this.attempt(() => { backoff = RETRY_MS.first; attempt = 0; });
      if (failed === 'unauthorized') { this.on.unauthorized(); return; }
      if (this.stopped) return;
      this.gap = true;
      if (this.visibility?.hidden()) continue; // closed because the tab was hidden: pause, no backoff
      this.offline = true;
      attempt++;
      this.on.state('offline', { ...failed, retryAt: Date.now() + backoff, attempt });
      await new Promise<void>((r) => {
        const t = setTimeout(r, backoff);
        this.skipWait = () => { clearTimeout(t); r(); };
      });
      this.skipWait = null;
      backoff = Math.min(backoff * 2, RETRY_MS.max);
    }
  }

  /** One connection: read until it ends; what failed (nothing for a tab hidden or a stop), or `unauthorized`. */
  private async attempt(opened: () => void): Promise<{ refused?: Refusal; trouble?: Trouble } | 'unauthorized'> {
    const resumeFrom = this.lastId;
    const ac = new AbortController();
    this.abort = ac;
    const deadline = setTimeout(() => ac.abort('deadline'), STREAM_CONNECT_MS);
    const sent = Date.now();
    try {
      const res = await fetch('/api/v1/stream', {
        headers: { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...(resumeFrom ? { 'last-event-id': resumeFrom } : {}) },
        signal: ac.signal,
        cache: 'no-store',
      });
      clearTimeout(deadline);
      noteHubDate(res.headers.get('date'), sent, Date.now());
      if (res.status === 401) return 'unauthorized';
      if (res.ok && res.body) {
        opened();
        const ended = await this.read(res.body, ac, resumeFrom !== null).then(() => 'UNREACHABLE: the hub closed the stream (it may be stopping or restarting)', () => ABORTED[String(ac.signal.reason)] ?? NO_ANSWER_TEXT);
        return { trouble: { kind: 'unreachable', error: ended, ...(ac.signal.reason === 'silent' ? {} : { soft: true }) } };
      }
      const r = await refusalOf(res, 'read');
      // Refused for its numbers: the hub is there. An answer that is not the hub's (a proxy's page): it is not reached.
      if (res.status === 429 || r.code === 'OVERLOADED') return { refused: { code: r.code, message: r.message } };
      return { trouble: { kind: r.code.startsWith('HTTP_') ? 'unreachable' : 'failing', error: `${r.code}: ${r.message}` } };
    } catch {
      const why = typeof ac.signal.reason === 'string' ? ABORTED[ac.signal.reason] : undefined;
      return { trouble: { kind: 'unreachable', error: why ?? NO_ANSWER_TEXT } };
    } finally {
      clearTimeout(deadline);
    }
  }

  private async read(body: ReadableStream<Uint8Array>, ac: AbortController, resumed: boolean): Promise<void> {
    const parser = new SseParser();
    const dec = new TextDecoder();
    const reader = body.getReader();
    let heartbeatMs = 15_000;
    let lastData = Date.now();
    let told = 0;
    const watchdog = setInterval(() => { if (Date.now() - lastData > 3 * heartbeatMs) ac.abort('silent'); }, 1000);
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        lastData = Date.now();
        if (lastData - told >= 1000) { told = lastData; this.on.contact(lastData); }
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
            const missed = (this.epoch !== null && this.epoch !== h.epoch) || (this.gap && !resumed) || this.offline;
            this.gap = false;
            this.offline = false;
            this.epoch = h.epoch;
            this.on.hello(h);
            this.on.state('live'); // first: the views' reads wait for the hub to be known back (hub-health.ts)
            if (missed) this.on.reset();
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
