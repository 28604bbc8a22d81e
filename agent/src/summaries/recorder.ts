// The PredictionRecorder the runtime calls on every prediction. In memory only:
// per model version one open WindowAcc (typed arrays) for the current UTC-aligned
// window; when a record falls past its end the window is moved to `closed`, and
// a timer (or flush()/stop()) writes the closed windows to SQLite in one
// transaction. The request path never touches SQLite. With a checkpoint interval
// and a sink that can persist, the same timer also saves the open windows every
// interval, replacing the previous checkpoint in the transaction that writes
// closed windows, so a kill -9 loses at most that interval
// (docs/agent-summaries.md "Crashes").
//
// Reading the wall clock costs ~75 ns on some VMs, a tenth of the recording
// budget, so with the real clock (none injected) and the timer running the
// request path skips it while every open window is still more than a guard
// (two timer periods + 1 s) from its end: the timer re-decides each tick. Near a
// window's end, and with an injected clock, every record reads the clock, so
// records land in the window of their own time exactly. As a backstop against
// a stalled timer, every 4096th record reads the clock anyway.
import { alignWindowStart } from '@edgefleet/shared/core';
import type { Manifest, SummaryWindow } from '@edgefleet/shared';
import type { ManifestLookup, PredictionRecorder, RecordedTensor } from '../runtime/recorder.js';
import { WindowAcc } from './acc.js';
import type { ShadowTally } from './shadow-tally.js';
import { buildPlan, type VersionPlan } from './layout.js';
import { mergeHeld } from './held.js';

export interface Clock {
  now(): number;
}

/** Where closed windows go (SummaryStore in the agent). */
export interface WindowSink {
  writeWindows(windows: readonly SummaryWindow[]): void;
  /** Writes `closed` and replaces the open windows' checkpoint with `open`, in one transaction. */
  persist?(closed: readonly SummaryWindow[], open: readonly SummaryWindow[]): void;
}

export interface SummaryRecorderOptions {
  sink: WindowSink;
  manifestOf: ManifestLookup;
  clock?: Clock;
  /** The mark of the clock that reads now (clock-mark.ts): each window carries the one it opened under. */
  clockMark?: () => string;
  windowSec?: number;
  /** How often the timer writes windows that have ended (default 1 s). */
  flushIntervalMs?: number;
  /**
   * Skip the clock on records far from a window's end (default: true when no clock
   * is injected). Off, every record reads the clock.
   */
  coarseClock?: boolean;
  /** Save the open windows this often (ms; 0 or no sink.persist: only on close and stop). */
  checkpointMs?: number;
  /** Called when a write fails (the windows are kept and retried on the next tick). */
  onError?: (err: unknown) => void;
  /** Offered every answered request after it is recorded (the shadow runner, agent/src/shadow/runner.ts). */
  shadow?: ShadowSampler;
}

/** Takes a sample of an answered request for a shadow run, counting it in the request's window. */
export interface ShadowSampler {
  /** `window`: the open window of the request, whose shadowTally(candidate) counts the sample. */
  offer(model: string, version: string, feeds: readonly RecordedTensor[], outputs: readonly RecordedTensor[], window: ShadowTallies): void;
}

export interface ShadowTallies {
  shadowTally(candidate: string): ShadowTally;
}

interface VersionState {
  plan: VersionPlan | null; // null: the manifest is unknown, count and latency only
  acc: WindowAcc;
}

const UNKNOWN_PLAN = (model: string, version: string): VersionPlan => ({
  model, version, referenceId: undefined, features: [], outputs: [], inputs: [], rowInput: null, rowStride: 1, binsLength: 0, dense: null, task: null,
});

export class SummaryRecorder implements PredictionRecorder {
  private readonly clock: Clock;
  private windowSec: number;
  private readonly states = new Map<string, Map<string, VersionState>>();
  private closed: WindowAcc[] = [];
  /** Closed windows a refused write left, oldest first, merged coarser past HELD_WINDOWS (held.ts). */
  private held: SummaryWindow[] = [];
  private timer: NodeJS.Timeout | null = null;
  // one-entry cache: most traffic goes to one model version
  private lastModel = '';
  private lastVersion = '';
  private lastState: VersionState | null = null;
  /** True: every record reads the clock; false: the open windows are far from their end (see the header). */
  private exactClock = true;
  private readonly coarse: boolean;
  private readonly guardMs: number;
  private records = 0;
  private checkpointMs: number;
  private lastCheckpointAt = Number.NEGATIVE_INFINITY;
  /** JSON of the open windows last saved: an idle box does not rewrite the same checkpoint. */
  private lastCheckpoint = '[]';

  constructor(private readonly opts: SummaryRecorderOptions) {
    this.clock = opts.clock ?? { now: () => Date.now() };
    this.windowSec = opts.windowSec ?? 60;
    alignWindowStart(0, this.windowSec); // throws a clear error on a bad window length
    this.coarse = opts.coarseClock ?? opts.clock === undefined;
    this.guardMs = 2 * (opts.flushIntervalMs ?? 1000) + 1000;
    this.checkpointMs = opts.sink.persist ? (opts.checkpointMs ?? 0) : 0;
  }

  /**
   * A new window length (remote configuration, docs/agent.md "Remote configuration"): the open windows
   * keep theirs and close at their end; windows opened after that have the new length.
   */
  setWindowSec(sec: number): void {
    alignWindowStart(0, sec); // a clear error on a bad length, before anything changes
    this.windowSec = sec;
  }

  /** How often the open windows are saved (0: only on close and stop). */
  setCheckpointMs(ms: number): void {
    if (!(Number.isInteger(ms) && ms >= 0)) throw new Error(`invalid checkpoint interval ${String(ms)} ms: expected an integer >= 0`);
    this.checkpointMs = this.opts.sink.persist ? ms : 0;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.opts.flushIntervalMs ?? 1000);
    this.timer.unref();
    this.decideClock(this.clock.now());
  }

  /** Stops the timer and writes every window, the open ones included. Idempotent. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.exactClock = true;
    this.flush();
  }

  /** Registers a manifest ahead of traffic (optional: manifestOf is asked on first sight otherwise). */
  register(manifest: Manifest): void {
    this.stateFor(manifest.name, manifest.version, manifest);
  }

  record(model: string, version: string, feeds: readonly RecordedTensor[], outputs: readonly RecordedTensor[], latencyMs: number): void {
    const acc = this.current(model, version);
    acc.add(feeds, outputs, latencyMs);
    if (this.opts.shadow) this.opts.shadow.offer(model, version, feeds, outputs, acc);
  }

  recordError(model: string, version: string, code: string, latencyMs: number): void {
    this.current(model, version).addError(code, latencyMs);
  }

  /**
   * A label for an earlier prediction of this version (feedback/route.ts), counted in the window open
   * now: the window the label arrives in (docs/drift.md "Accuracy").
   */
  recordLabel(model: string, version: string, classes: number, label: number, predicted: number): void {
    this.current(model, version).addLabel(classes, label, predicted);
  }

  /**
   * Saves the open windows now, when checkpointing is on (docs/agent-summaries.md "Crashes"): the
   * feedback endpoint's save before it answers that labels were counted (agent/src/feedback/saver.ts).
   */
  checkpoint(): void {
    if (this.checkpointMs <= 0) return;
    this.lastCheckpointAt = this.clock.now();
    this.write(true);
  }

  /** Writes windows that have ended by now. Called by the timer; cheap when nothing closed. */
  tick(): void {
    const now = this.clock.now();
    this.closeEnded(now);
    this.decideClock(now);
    if (this.checkpointMs > 0 && Math.abs(now - this.lastCheckpointAt) >= this.checkpointMs) {
      this.lastCheckpointAt = now;
      this.write(true);
    } else {
      this.write(false);
    }
  }

  /** Closes every window (open ones too, e.g. on stop) and writes them. */
  flush(): void {
    this.closeEnded(Number.POSITIVE_INFINITY);
    this.write(false);
  }

  /** Windows held in memory: open ones and closed ones not yet written (for tests and the CLI). */
  pending(): SummaryWindow[] {
    const open = [...this.states.values()].flatMap((m) => [...m.values()].map((s) => s.acc));
    return [...this.held, ...[...this.closed, ...open].filter((a) => !a.isEmpty()).map((a) => a.toWire())];
  }

  private current(model: string, version: string): WindowAcc {
    let st = this.lastState;
    if (st === null || model !== this.lastModel || version !== this.lastVersion) {
      st = this.stateFor(model, version, undefined);
      this.lastModel = model;
      this.lastVersion = version;
      this.lastState = st;
    }
    const acc = st.acc;
    if (!this.exactClock && (++this.records & 4095) !== 0) return acc;
    const now = this.clock.now();
    if (now < acc.endMs && now >= acc.startMs) return acc;
    // Past the end (or the clock stepped back): close it and open the window holding now.
    if (!acc.isEmpty()) this.closed.push(acc);
    st.acc = new WindowAcc(acc.plan, alignWindowStart(now, this.windowSec), this.windowSec, this.opts.clockMark?.());
    return st.acc;
  }

  private stateFor(model: string, version: string, manifest: Manifest | undefined): VersionState {
    let byVersion = this.states.get(model);
    if (!byVersion) {
      byVersion = new Map();
      this.states.set(model, byVersion);
    }
    const have = byVersion.get(version);
    if (have && (have.plan !== null || manifest === undefined)) return have;
    const m = manifest ?? this.opts.manifestOf(model, version);
    const plan = m ? buildPlan(m) : null;
    const startMs = alignWindowStart(this.clock.now(), this.windowSec);
    if (have) {
      // The manifest arrived after traffic: close what was counted without it.
      if (!have.acc.isEmpty()) this.closed.push(have.acc);
      have.plan = plan;
      have.acc = new WindowAcc(plan ?? UNKNOWN_PLAN(model, version), startMs, this.windowSec, this.opts.clockMark?.());
      return have;
    }
    const st: VersionState = { plan, acc: new WindowAcc(plan ?? UNKNOWN_PLAN(model, version), startMs, this.windowSec, this.opts.clockMark?.()) };
    byVersion.set(version, st);
    return st;
  }

  /** Coarse mode only while the timer runs and every open window ends more than the guard after `now`. */
  private decideClock(now: number): void {
    let far = this.coarse && this.timer !== null;
    for (const byVersion of this.states.values()) {
      for (const st of byVersion.values()) {
        if (!far) break;
        if (!(now >= st.acc.startMs && now < st.acc.endMs - this.guardMs)) far = false;
      }
    }
    // A version first seen later opens its window from the clock in stateFor(), so it needs no check here.
    this.exactClock = !(far && now + this.guardMs < alignWindowStart(now, this.windowSec) + this.windowSec * 1000);
  }

  /**
   * Closes the windows that ended by `now`. A version whose window ended empty is forgotten (its next
   * request opens a window again, stateFor): a box that has run many versions keeps state only for
   * those that served within a window, not one window per version ever seen, renewed for ever.
   */
  private closeEnded(now: number): void {
    for (const [model, byVersion] of this.states) {
      for (const [version, st] of byVersion) {
        if (st.acc.endMs > now) continue;
        if (st.acc.isEmpty()) {
          byVersion.delete(version);
          if (this.lastState === st) this.lastState = null;
          continue;
        }
        this.closed.push(st.acc);
        st.acc = new WindowAcc(st.acc.plan, alignWindowStart(Math.min(now, this.clock.now()), this.windowSec), this.windowSec, this.opts.clockMark?.());
      }
      if (byVersion.size === 0) this.states.delete(model);
    }
  }

  /** Versions with an open window in memory (tests: the bound above). */
  get openVersions(): number {
    let n = 0;
    for (const byVersion of this.states.values()) n += byVersion.size;
    return n;
  }

  /** Writes the closed windows; with `checkpoint` (or whenever checkpointing is on and some closed) also the open ones. */
  private write(checkpoint: boolean): void {
    let open: SummaryWindow[] | null = null;
    let openJson = this.lastCheckpoint;
    if (this.checkpointMs > 0 && (checkpoint || this.closed.length > 0)) {
      open = [...this.states.values()].flatMap((m) => [...m.values()].filter((st) => !st.acc.isEmpty()).map((st) => st.acc.toWire()));
      openJson = JSON.stringify(open);
      if (this.closed.length === 0 && this.held.length === 0 && openJson === this.lastCheckpoint) return;
    }
    if (this.closed.length === 0 && this.held.length === 0 && open === null) return;
    const batch = this.closed;
    this.closed = [];
    // Sealed now: a shadow run finishing later is not counted in a window already handed to a write.
    for (const a of batch) a.seal();
    const closed = [...this.held, ...batch.map((a) => a.toWire())];
    try {
      if (open !== null) this.opts.sink.persist!(closed, open);
      else this.opts.sink.writeWindows(closed);
      this.lastCheckpoint = openJson;
      this.held = [];
    } catch (err) {
      this.held = mergeHeld(closed); // kept for the next tick, bounded (held.ts)
      if (this.opts.onError) this.opts.onError(err);
      else throw err;
    }
  }
}
