// Preloaded into every test file's process when TEST_DURATIONS is set (scripts/test.mjs): at its exit, the
// CPU time of the process and of the children it reaped (the hub, agents and CLIs the file started) is
// written to TEST_CPU_DIR/<pid> with the file's path, and scripts/test-run.mjs puts it beside the file's
// time. A file whose CPU is a small part of its time mostly waits: WAIT_LANE (scripts/test-order.mjs).
// From /proc/self/stat: utime, stime, cutime, cstime (fields 14-17, in USER_HZ, 100 on Linux); a child
// still running at the exit is not counted.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.TEST_CPU_DIR;
const file = process.argv[1];
if (dir && file) {
  process.on('exit', () => {
    try {
      const stat = readFileSync('/proc/self/stat', 'utf8');
      // After "pid (comm) ": field 3 (state) is at index 0, so fields 14-17 at 11-14.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = [11, 12, 13, 14].reduce((n, i) => n + Number(f[i]), 0);
      writeFileSync(join(dir, String(process.pid)), JSON.stringify({ file, cpuSec: ticks / 100 }));
    } catch { /* no /proc: no CPU column */ }
  });
}
