// Per-model concurrency limit with a bounded FIFO queue: at most `limit` runs
// at once, at most `queue` waiting; past that, OVERLOADED (503 + Retry-After)
// instead of an unbounded backlog. The queue is a doubly linked list of
// Waiters, so a request whose client has gone leaves it in O(1) (withdraw())
// without running (docs/agent.md "Limits").
import { AppError } from '@edgefleet/shared/core';

/** A place in a limiter's queue: `grant` is called when a run slot passes to it (its holder then pairs it with release()). */
export class Waiter {
  /** @internal */ prev: Waiter | undefined = undefined;
  /** @internal */ next: Waiter | undefined = undefined;
  /** @internal */ queued = false;

  constructor(readonly grant: () => void) {}
}

export class Limiter {
  private running = 0;
  private head: Waiter | undefined;
  private tail: Waiter | undefined;
  private count = 0;

  constructor(private limit: number, private queue: number, private readonly what: string) {}

  /**
   * New limits (remote configuration): a higher limit lets waiters run now; a lower one takes effect as
   * runs finish; requests already queued past a lower queue stay queued.
   */
  setLimits(limit: number, queue: number): void {
    this.limit = limit;
    this.queue = queue;
    while (this.running < this.limit && this.head) {
      this.running++;
      this.grantNext();
    }
  }

  get depth(): number {
    return this.count;
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
    return this.running >= this.limit && this.count >= this.queue;
  }

  /** The error acquire() throws when full. */
  overloaded(): AppError {
    return new AppError('OVERLOADED', `model "${this.what}" is overloaded: ${this.running} running and ${this.count} queued (limit ${this.limit} + queue ${this.queue}); retry later`);
  }

  /** Resolves when a slot is free; throws OVERLOADED when the queue is full. Pair with release(). */
  acquire(): Promise<void> | undefined {
    if (this.tryAcquire()) return undefined;
    if (this.full) throw this.overloaded();
    return new Promise<void>((resolve) => this.enqueue(new Waiter(resolve)));
  }

  /** Takes a slot when one is free (true; pair with release()), else false and nothing changes. */
  tryAcquire(): boolean {
    if (this.running >= this.limit) return false;
    this.running++;
    return true;
  }

  /** Queues `w` behind the others (when no slot was free); OVERLOADED when the queue is full. */
  enqueue(w: Waiter): void {
    if (this.count >= this.queue) throw this.overloaded();
    w.queued = true;
    w.prev = this.tail;
    if (this.tail) this.tail.next = w;
    else this.head = w;
    this.tail = w;
    this.count++;
  }

  /** Takes `w` out of the queue before it is granted a slot: false when it is not queued (granted already, or withdrawn). */
  withdraw(w: Waiter): boolean {
    if (!w.queued) return false;
    this.unlink(w);
    return true;
  }

  release(): void {
    if (this.running > this.limit) {
      this.running--; // the limit was lowered: this slot is not handed on
      return;
    }
    // The slot passes straight to the next waiter.
    if (!this.grantNext()) this.running--;
  }

  private grantNext(): boolean {
    const w = this.head;
    if (!w) return false;
    this.unlink(w);
    w.grant();
    return true;
  }

  private unlink(w: Waiter): void {
    const { prev, next } = w;
    if (prev) prev.next = next;
    else this.head = next;
    if (next) next.prev = prev;
    else this.tail = prev;
    w.prev = w.next = undefined;
    w.queued = false;
    this.count--;
  }
}
