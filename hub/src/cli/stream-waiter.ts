// The operator CLI's view of the hub's live stream (GET /api/v1/stream, docs/hub.md "Live stream"):
// `--watch` commands wait for an event that concerns them instead of polling. The stream is read with
// the shared SSE parser and reopened with Last-Event-ID when it drops; a hub without the stream (404)
// or a refused one leaves the waiter in polling mode, where wait() is a plain sleep.
import { SseParser, type StreamEvent, type StreamEventType } from '@edgefleet/shared';

const TYPES: ReadonlySet<string> = new Set<StreamEventType>(['device.presence', 'device.state', 'deployment.progress', 'audit']);

export type StreamOpener = (lastEventId: string | null, signal: AbortSignal) => Promise<Response>;

export class StreamWaiter {
  private readonly ac = new AbortController();
  private wake: (() => void) | null = null;
  private pending = false;
  /** False until the stream said hello; false again if the hub has none. */
  live = false;

  constructor(private readonly open: StreamOpener, private readonly concerns: (e: StreamEvent) => boolean) {}

  start(): void {
    this.loop().catch(() => { this.live = false; });
  }

  stop(): void {
    this.ac.abort();
    this.poke();
  }

  /** Wakes a pending wait() now (SIGINT, or something the caller learned itself). */
  poke(): void {
    this.pending = true;
    this.wake?.();
  }

  /** Resolves at the next event that concerns the caller (or a reset), or after `maxMs`. */
  wait(maxMs: number): Promise<void> {
    if (this.pending) { this.pending = false; return Promise.resolve(); }
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.wake = null;
        this.pending = false;
        resolve();
      };
      const t = setTimeout(done, maxMs);
      this.wake = done;
    });
  }

  private async loop(): Promise<void> {
    let last: string | null = null;
    while (!this.ac.signal.aborted) {
      let res: Response | null = null;
      try {
        res = await this.open(last, this.ac.signal);
      } catch {
        res = null;
      }
      if (res && !res.ok && res.status !== 429 && res.status !== 503) { this.live = false; return; } // no stream here: poll
      if (res?.ok && res.body) {
        const parser = new SseParser();
        const dec = new TextDecoder();
        try {
          for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
            for (const m of parser.push(dec.decode(chunk, { stream: true }))) {
              if (m.id) last = m.id;
              if (m.event === 'hello') this.live = true;
              else if (m.event === 'reset') this.poke();
              else if (TYPES.has(m.event) && this.concerns({ id: m.id ?? '', type: m.event, data: JSON.parse(m.data) } as StreamEvent)) this.poke();
            }
          }
        } catch {
          /* dropped: reopen below */
        }
      }
      this.live = false;
      if (this.ac.signal.aborted) return;
      this.poke(); // we may have missed something while it was down: refetch once
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}
