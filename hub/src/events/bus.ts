// The hub's event bus: parts publish typed events (StreamEventMap in shared/src/wire/stream.ts), the
// live stream (api/stream.ts) fans them out to clients. A bounded ring of recent events lets a client
// resume with Last-Event-ID; an id older than the ring, or from another hub run (epoch), gets `reset`.
// Publishing is synchronous and never throws into the publisher: a failing subscriber is logged and
// dropped, so ingest and the API never fail because of a console.
import { randomBytes } from 'node:crypto';
import { parseStreamId, type StreamEvent, type StreamEventMap, type StreamEventType, type StreamReset } from '@edgefleet/shared';

export interface BusOptions {
  /** Recent events kept for resumption (the ring's size). */
  capacity: number;
}
export const BUS_DEFAULTS: BusOptions = { capacity: 2048 };

export type BusListener = (e: StreamEvent) => void;

export class EventBus {
  /** Changes on each hub start: ids from an earlier run cannot be mistaken for this run's. */
  readonly epoch: string;
  private seq = 0;
  private readonly ring: StreamEvent[] = [];
  private readonly listeners = new Set<BusListener>();
  private readonly opts: BusOptions;

  constructor(opts: Partial<BusOptions> = {}, private readonly onListenerError?: (err: unknown) => void, epoch?: string) {
    this.opts = { ...BUS_DEFAULTS, ...opts };
    if (!Number.isInteger(this.opts.capacity) || this.opts.capacity < 1) throw new Error(`event bus capacity ${this.opts.capacity}: expected a positive integer`);
    this.epoch = epoch ?? randomBytes(4).toString('hex');
  }

  publish<K extends StreamEventType>(type: K, data: StreamEventMap[K]): StreamEvent {
    const e = { id: `${this.epoch}-${++this.seq}`, type, data } as StreamEvent;
    this.ring.push(e);
    if (this.ring.length > this.opts.capacity) this.ring.shift();
    for (const l of [...this.listeners]) {
      try {
        l(e);
      } catch (err) {
        this.listeners.delete(l);
        this.onListenerError?.(err);
      }
    }
    return e;
  }

  subscribe(l: BusListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  /** The id of the newest event (a client starting now resumes after it), or `EPOCH-0`. */
  lastId(): string {
    return `${this.epoch}-${this.seq}`;
  }

  /**
   * The events after `lastEventId`, oldest first; a reset when they are no longer all held (the
   * ring moved past it), the id is from another run, or it is malformed.
   */
  since(lastEventId: string): { events: StreamEvent[] } | { reset: StreamReset } {
    const id = parseStreamId(lastEventId);
    if (!id) return { reset: { reason: 'bad_id', lastEventId } };
    if (id.epoch !== this.epoch || id.seq > this.seq) return { reset: { reason: 'unknown_epoch', lastEventId } };
    const oldest = this.seq - this.ring.length; // ids oldest+1 .. seq are held
    if (id.seq < oldest) return { reset: { reason: 'too_old', lastEventId } };
    return { events: this.ring.slice(id.seq - oldest) };
  }
}
