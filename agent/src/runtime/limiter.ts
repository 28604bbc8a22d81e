// Per-model concurrency limit with a bounded FIFO queue: at most `limit` runs
// at once, at most `queue` waiting; past that, OVERLOADED (503 + Retry-After)
// instead of an unbounded backlog.
import { AppError } from '@edgefleet/shared/core';

export class Limiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private limit: number, private queue: number, private readonly what: string) {}

  /**
   * New limits (remote configuration): a higher limit lets waiters run now; a lower one takes effect as
   * runs finish; requests already queued past a lower queue stay queued.
   */
  setLimits(limit: number, queue: number): void {
    this.limit = limit;
    this.queue = queue;
    while (this.running < this.limit && this.waiting.length) {
      this.running++;
      this.waiting.shift()!();
    }
  }

  get depth(): number {
    return this.waiting.length;
  }

  get active(): number {
    return this.running;
  }

  /** True when acquire() would take a slot at once. */
  get free(): boolean {
    return this.running < this.limit;
  }

  /** True when acquire() would throw OVERLOADED: the API sheds such requests before reading their bodies. */
  get full(): boolean {
    return this.running >= this.limit && this.waiting.length >= this.queue;
  }

  /** The error acquire() throws when full. */
  overloaded(): AppError {
    return new AppError('OVERLOADED', `model "${this.what}" is overloaded: ${this.running} running and ${this.waiting.length} queued (limit ${this.limit} + queue ${this.queue}); retry later`);
  }

  /** Resolves when a slot is free; throws OVERLOADED when the queue is full. Pair with release(). */
  acquire(): Promise<void> | undefined {
    if (this.running < this.limit) {
      this.running++;
      return undefined;
    }
    if (this.waiting.length >= this.queue) throw this.overloaded();
    return new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    if (this.running > this.limit) {
      this.running--; // the limit was lowered: this slot is not handed on
      return;
    }
    const next = this.waiting.shift();
    if (next) next(); // the slot passes straight to the next waiter
    else this.running--;
  }
}
