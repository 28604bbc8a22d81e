// The singleton jobs of the hub lease (lease.ts), started and stopped apart from its renewals
// (docs/decisions/0058-lease-renewal-apart-from-job-starts.md). A job's start may take longer than the
// lease lasts (the first pass of desired-document renewal after downtime re-signs and publishes every
// due document), so the renewal turn never awaits one: it would stop renewing, the lease would run out
// and another hub would start the jobs while this one still runs them. Each job's starts and stops run
// one after another (a stop waits for the start before it to return, a start for the stop before it),
// so a job still starting when the lease is lost is stopped as soon as its start returns.
import { settleWithin } from '@edgefleet/shared';
import type { LoggerPort } from '../mqtt/ports.js';

/** A job only the lease holder runs; start() and stop() may be called again after each other. */
export interface SingletonJob {
  name: string;
  start(): void | Promise<void>;
  stop(deadlineMs: number): void | Promise<void>;
}

interface Slot {
  job: SingletonJob;
  /** start() was called, and stop() not since. */
  running: boolean;
  /** start() was called and has not returned yet. */
  starting: boolean;
  /** The job's last start or stop: the next one waits for it. Never rejects. */
  last: Promise<void>;
  /**
   * The job's last stop itself, past its deadline too (`last` ends at the deadline): idle() waits for it, so a
   * job still stopping keeps the lease from being released (lease.ts stop). Never rejects.
   */
  ended: Promise<void>;
}

/** Calls `f`, turning a synchronous throw into a rejection. */
const invoke = (f: () => void | Promise<void>): Promise<void> => new Promise<void>((resolve) => {
  resolve(f());
});

export class SingletonJobs {
  private readonly slots: Slot[];
  /** +1 at each stopAll(): a start sequence begun before it starts nothing more. */
  private generation = 0;
  /** The start sequence under way, and the generation it belongs to. */
  private sequence: { generation: number; done: Promise<void> } | null = null;

  /** `startWaitMs`: how long the sequence waits for one job's start before it starts the next. */
  constructor(jobs: readonly SingletonJob[], private readonly logger: LoggerPort, private readonly startWaitMs: number) {
    this.slots = jobs.map((job) => ({ job, running: false, starting: false, last: Promise.resolve(), ended: Promise.resolve() }));
  }

  /** Every job was started (and not stopped since); a start that failed counts as started. */
  allStarted(): boolean {
    return this.slots.every((s) => s.running);
  }

  /**
   * Starts the jobs not running, in order, each only while `holds()` (checked just before its start,
   * after its previous stop returned) and no stopAll() came since; a sequence already under way is
   * joined instead. Waits up to startWaitMs for each start before the next; a start past that goes on
   * alone. Resolves when the sequence ends (not necessarily with every job started); never rejects.
   */
  startAll(holds: () => boolean): Promise<void> {
    if (this.sequence?.generation !== this.generation) {
      const sequence = { generation: this.generation, done: Promise.resolve() };
      sequence.done = this.startEach(sequence.generation, holds).finally(() => {
        if (this.sequence === sequence) this.sequence = null;
      });
      this.sequence = sequence;
    }
    return this.sequence.done;
  }

  private async startEach(generation: number, holds: () => boolean): Promise<void> {
    for (const slot of this.slots) {
      await slot.last;
      if (generation !== this.generation || !holds()) return; // lost the lease meanwhile: the rest stay unstarted
      if (slot.running) continue; // started by an earlier sequence that ended early (a pause past the lease, then renewed)
      const { job } = slot;
      slot.running = true;
      slot.starting = true;
      slot.last = invoke(() => job.start())
        .catch((err: unknown) => this.logger.error({ err, job: job.name }, 'a singleton job failed to start'))
        .finally(() => { slot.starting = false; });
      await settleWithin(slot.last, this.startWaitMs, `starting ${job.name}`, () => {
        this.logger.warn({ job: job.name, waitedMs: this.startWaitMs }, 'a singleton job is still starting: starting the next ones meanwhile');
      });
    }
  }

  /**
   * Stops the running jobs, last started first, each within deadlineMs of the call to its stop(), and
   * ends any start sequence. Waits for the stops of jobs whose start returned; a job still starting is
   * stopped when its start returns, without holding this up (idle() waits for it).
   */
  async stopAll(deadlineMs: number): Promise<void> {
    this.generation += 1;
    for (const slot of [...this.slots].reverse()) {
      if (!slot.running) continue;
      slot.running = false;
      const { job } = slot;
      const starting = slot.starting;
      const ended = slot.last.then(() => invoke(() => job.stop(deadlineMs)));
      slot.ended = ended.catch(() => undefined); // logged below
      slot.last = slot.last.then(() => settleWithin(ended, deadlineMs, `stopping ${job.name}`, (err) => {
        this.logger.warn({ err: err instanceof Error ? err.message : String(err), job: job.name }, 'a singleton job did not stop cleanly');
      }));
      if (starting) this.logger.warn({ job: job.name }, 'a singleton job is still starting: it is stopped when its start returns');
      else await slot.last;
    }
  }

  /**
   * Waits up to deadlineMs for every job's last start or stop, a stop past its own deadline included;
   * false if one is still under way.
   */
  async idle(deadlineMs: number): Promise<boolean> {
    let done = true;
    await settleWithin(Promise.all(this.slots.flatMap((s) => [s.last, s.ended])), deadlineMs, 'the singleton jobs\' starts and stops', () => {
      done = false;
    });
    return done;
  }
}
