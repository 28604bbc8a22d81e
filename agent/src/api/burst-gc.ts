// One full garbage collection after a burst of large request bodies (issue 9, docs/performance.md
// "Memory after a burst"). The bodies of such a burst (strings, parsed arrays, their buffers) are
// garbage once answered, but an idle agent gives V8 no reason to run its next major collection, so
// RSS stayed tens of MB above its idle figure for minutes. When at least `thresholdBytes` of large
// bodies were read since the last collection and no body has been read for `quietMs`, the agent
// collects once, and once more a quiet period later: what the burst let go just after the first (streams
// refused before their message was read, closed late on a loaded box) is garbage too, and an idle agent
// would otherwise hold it. It needs `--expose-gc` (the systemd unit passes it); without it this does nothing.

export interface BurstGcOptions {
  /** Bodies at least this large count (smaller ones are ordinary traffic, collected as usual). */
  minBodyBytes: number;
  /** Bytes of counted bodies since the last collection that make one worth it. */
  thresholdBytes: number;
  /** How long no body has been in flight before collecting. */
  quietMs: number;
}

export const DEFAULT_BURST_GC: BurstGcOptions = { minBodyBytes: 128 * 1024, thresholdBytes: 64 * 1024 * 1024, quietMs: 2_000 };

export class BurstGc {
  private bytes = 0;
  private timer: NodeJS.Timeout | null = null;
  /** The second collection after a burst's, a quiet period later. */
  private followUp: NodeJS.Timeout | null = null;
  private readonly opts: BurstGcOptions;

  constructor(
    /** Request bytes held now: bodies being read, parsed tensors (the API's shared budget, budget.ts). */
    private readonly inflight: { readonly bytes: number },
    opts: Partial<BurstGcOptions> = {},
    private readonly gc: (() => void) | undefined = (globalThis as { gc?: () => void }).gc,
  ) {
    this.opts = { ...DEFAULT_BURST_GC, ...opts };
  }

  /** A body of `bytes` was read and let go (answered or refused). */
  released(bytes: number): void {
    if (!this.gc || bytes < this.opts.minBodyBytes) return;
    this.bytes += bytes;
    if (this.bytes >= this.opts.thresholdBytes) this.arm();
  }

  /** Whether a collection is waiting for the quiet period. */
  get pending(): boolean {
    return this.timer !== null;
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.followUp) clearTimeout(this.followUp); // the next burst's collection comes instead
    this.followUp = null;
    // unref: a pending collection never keeps the process alive or delays its stop.
    this.timer = setTimeout(() => this.fire(), this.opts.quietMs).unref();
  }

  private fire(): void {
    this.timer = null;
    if (this.inflight.bytes > 0) {
      this.arm(); // still busy: wait for the quiet
      return;
    }
    this.bytes = 0;
    this.gc?.();
    this.followUp = setTimeout(() => {
      this.followUp = null;
      if (this.inflight.bytes === 0) this.gc?.();
    }, this.opts.quietMs).unref();
  }
}
