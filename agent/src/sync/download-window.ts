// One download in flight (downloader.ts, docs/agent.md "Connecting to a hub"): the contiguous prefix
// that has arrived (`committed`), the blocks received beyond it, and the sliding window of block requests
// ahead of it. Pure bookkeeping: the downloader writes the blocks, commits the prefix and sends requests.

export interface ActiveDownload {
  sha256: string;
  size: number;
  fd: number;
  committed: number;
  /** offset -> length of blocks received beyond `committed`. */
  received: Map<number, number>;
  /** next offset not yet requested */
  nextOffset: number;
  lastCommit: number;
  stallTimer: NodeJS.Timeout | null;
  /** Stalls since a block last arrived (the next wait is stallMs doubled this many times). */
  stalls: number;
  /** Set by the download:mid test pause: no more requests while paused; the point is passed once. */
  halted?: boolean;
  midPaused?: boolean;
  resolve: (path: string) => void;
  reject: (err: unknown) => void;
  onProgress: ((received: number, size: number) => void) | undefined;
}

/** True for a block that was asked for, not yet received, and whole (a short one will be asked again). */
export function wantedBlock(a: ActiveDownload, offset: number, length: number, blockSize: number): boolean {
  if (offset < a.committed || offset >= a.nextOffset || offset % blockSize !== 0) return false;
  if (a.received.has(offset)) return false;
  return length === Math.min(blockSize, a.size - offset);
}

/** Moves the blocks that now follow the prefix into it; true when it grew. */
export function advancePrefix(a: ActiveDownload): boolean {
  let progressed = false;
  while (a.received.has(a.committed)) {
    const len = a.received.get(a.committed) as number;
    a.received.delete(a.committed);
    a.committed += len;
    progressed = true;
  }
  return progressed;
}

/** The blocks to ask for now to fill the window of `window` blocks past the prefix (none when it is full). */
export function nextRequest(a: ActiveDownload, window: number, blockSize: number): { offset: number; count: number } | undefined {
  const inFlightLimit = a.committed + window * blockSize;
  const start = a.nextOffset;
  while (a.nextOffset < a.size && a.nextOffset < inFlightLimit) a.nextOffset += blockSize;
  const end = Math.min(a.nextOffset, a.size);
  return end > start ? { offset: start, count: Math.ceil((end - start) / blockSize) } : undefined;
}

/** Forgets what is in flight: everything past the prefix is asked for again. */
export function rewind(a: ActiveDownload): void {
  a.received.clear();
  a.nextOffset = a.committed;
}
