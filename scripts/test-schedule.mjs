// When scripts/test-run.mjs starts each test file (docs/development.md "Test run time";
// docs/decisions/0140-test-files-started-when-the-cpu-idles.md). `base` files always run (two: the
// VM's cores), the longest first; while they leave the CPU idle (files that wait on timers, brokers,
// child processes), up to `max` run, one more at a time: a file is added when the machine was at least
// `idleAtLeast` idle over the last seconds and the last file added has had `settleMs` to start up. The
// files that mostly wait (WAIT_LANE) are added first. A file whose test holds a deadline of 2 s or less
// (DEADLINE_BOUND) starts only in a base slot, and none is added while one runs: it runs beside `base`
// − 1 others at most, as it did before; while one runs, a base slot takes the next file that is not one, if any.

/**
 * The file to start now, or null. `pending` in start order; `running` the files under way; `idle` the
 * machine's idle share (0..1) over the last samples, or null when not measured yet; `sinceAddedMs` the
 * time since a file was last added over `base`.
 */
export function nextFile({ pending, running, base, max, idle, sinceAddedMs, waiting, deadline, idleAtLeast, settleMs }) {
  if (pending.length === 0) return null;
  // Two deadline-bound files in the two base slots idled the machine (both mostly wait, and nothing is added beside
  // them: 54-58 % idle for ~30 s of a full run, 2026-12-07): beside one, the other slot takes the next file of another kind.
  if (running.length < base) {
    if (!running.some((f) => deadline.has(f))) return pending[0];
    return pending.find((f) => !deadline.has(f)) ?? pending[0];
  }
  if (running.length >= max || running.some((f) => deadline.has(f))) return null;
  if (idle === null || idle < idleAtLeast || sinceAddedMs < settleMs) return null;
  return pending.find((f) => waiting.has(f)) ?? pending.find((f) => !deadline.has(f)) ?? null;
}

/** The machine's idle share over the last `windowSamples` intervals, from `times()` ({idle, total} counters). */
export function idleMeter(times, windowSamples) {
  const marks = [times()];
  return {
    /** Takes a sample; the idle share since the oldest kept, or null with one sample only. */
    sample() {
      marks.push(times());
      if (marks.length > windowSamples + 1) marks.shift();
      const [a, b] = [marks[0], marks[marks.length - 1]];
      const total = b.total - a.total;
      return marks.length < 2 || total <= 0 ? null : (b.idle - a.idle) / total;
    },
  };
}

/**
 * Runs `files` through `start(file)` (a promise that settles when the file has ended) as nextFile says,
 * looking again whenever a file ends and every `tickMs`. Resolves when every file has ended. `stats`, if
 * given, counts the files added over `base` (`added`) and the most that ran at once (`most`).
 */
export function schedule({ files, start, meter, now = Date.now, tickMs = 1000, stats = { added: 0, most: 0 }, ...limits }) {
  const pending = [...files];
  const running = new Set();
  let addedAt = -Infinity;
  let idle = null;
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      idle = meter.sample();
      fill();
    }, tickMs);
    const fill = () => {
      for (;;) {
        const f = nextFile({ pending, running: [...running], idle, sinceAddedMs: now() - addedAt, ...limits });
        if (f === null) break;
        if (running.size >= limits.base) {
          addedAt = now();
          stats.added++;
        }
        pending.splice(pending.indexOf(f), 1);
        running.add(f);
        stats.most = Math.max(stats.most, running.size);
        const done = () => {
          running.delete(f);
          if (pending.length === 0 && running.size === 0) {
            clearInterval(timer);
            resolve();
          } else fill();
        };
        start(f).then(done, done);
      }
    };
    if (pending.length === 0) {
      clearInterval(timer);
      resolve();
    } else fill();
  });
}
