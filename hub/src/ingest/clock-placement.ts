// Where the hub puts a time a device stamped (docs/operations.md "Clocks that are wrong"): the one function
// that places a window's start and an event's time alike, by the clock that recorded it as far as the hub can
// tell. By that clock's own offset when the device named an earlier clock the hub read
// (docs/decisions/0059-clock-marks.md); else, for a device whose present clock is off, by the rules of
// docs/decisions/0057-windows-placed-by-the-clock-that-recorded-them.md. No placement puts a window or event
// past the future tolerance when its own stamp is not.

/**
 * What the hub knows of one device's present clock. Readings whose offsets agree within skewMs are one clock;
 * `first` and `last` are the device times of its first and latest reading (its clock read `last` at hub time
 * `last - offset`). `before` is the clock read before it, when the hub saw the step (from hub.db after a restart).
 */
export interface Reading {
  offset: number;
  first: number;
  last: number;
  before: { offset: number; last: number } | null;
}

export interface PlacementLimits {
  /** Offsets within this are a right clock (ingest.clockSkewMs). */
  skewMs: number;
  /** Nothing is placed later than the hub's now plus this when its own stamp is not (ingest.futureToleranceMs). */
  futureMs: number;
}

/** Which clock stamped it: an earlier clock the device named and the hub read (its offset), else the present one when it is off. */
export interface StampClock {
  earlier: number | undefined;
  present: Reading | null;
}

/**
 * Where something the box stamped `stamp` goes on the hub's clock at hub time `nowMs`. `lengthMs`: a window's
 * length, whose start moves in whole lengths so it stays on the UTC grid; 0 for an event (not rounded).
 * Moved by the offset of the clock that stamped it; kept at its own stamp when that clock was right, or
 * when an earlier clock the hub cannot name stamped it. If the preferred placement is past the future
 * tolerance and the other is not, the other is used: the hub never refuses (and acks away) a window or event
 * because of its own shift. Both past it: the guard refuses it, as any device's.
 */
export function placeStamp(stamp: number, lengthMs: number, nowMs: number, by: StampClock, lim: PlacementLimits): number {
  if (by.earlier !== undefined) {
    return Math.abs(by.earlier) <= lim.skewMs ? stamp : choose(moveBy(by.earlier, stamp, lengthMs), stamp, nowMs, lim);
  }
  const r = by.present;
  if (r === null) return stamp;
  const moved = moveBy(r.offset, stamp, lengthMs);
  return recordedBefore(r, stamp, nowMs, lim.skewMs) ? choose(stamp, moved, nowMs, lim) : choose(moved, stamp, nowMs, lim);
}

/** `stamp` on the hub's clock for a clock `offset` ahead, in whole window lengths (a window stays on the UTC grid). */
function moveBy(offset: number, stamp: number, lengthMs: number): number {
  return stamp - (lengthMs > 0 ? Math.round(offset / lengthMs) * lengthMs : offset);
}

/** The preferred placement, unless it is past the future tolerance and the other one is not. */
function choose(preferred: number, other: number, nowMs: number, lim: PlacementLimits): number {
  const latest = nowMs + lim.futureMs;
  return preferred > latest && other <= latest ? other : preferred;
}

/**
 * Whether the box's present clock cannot have stamped `stamp`, so an earlier clock did
 * (docs/decisions/0057-windows-placed-by-the-clock-that-recorded-them.md).
 */
function recordedBefore(r: Reading, stamp: number, nowMs: number, skew: number): boolean {
  // Later than the clock reads now: a backlog from before it was reset (to 1970), or stamped after it was set right.
  if (stamp > nowMs + r.offset + skew) return true;
  // Unless the hub read this box's clock right before, it takes the clock as wrong all along.
  const b = r.before;
  if (!b || Math.abs(b.offset) > skew) return false;
  // The clock stepped after the hub last read the right one, at hub time b.last - b.offset, when the present
  // clock would have read that plus its offset: it stamped nothing earlier (a box that jumped ahead).
  if (stamp <= b.last - b.offset + r.offset - skew) return true;
  // A clock that resumed from no earlier than the last right reading (saved at shutdown) stamped nothing up to it.
  return r.first >= b.last - skew && stamp <= b.last;
}
