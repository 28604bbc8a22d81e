// The order scripts/test.mjs starts test files in: with two files at a time, a long file started
// last leaves one core idle while it finishes, so the longest files go first (longest processing
// time first) and the rest follow in path order. The list is measured, longest first
// (TEST_DURATIONS=FILE node scripts/test.mjs; docs/development.md "Test run time"); a file missing
// from it only starts later, and a listed file that no longer exists is ignored.
// Measured 2026-12-05 23:00 (TEST_DURATIONS, the files' tests added up) on the quiet 2-core VM, the
// tests' programs started built (a whole run of 14.0 min): every file of 8.5 s or more, longest first; the
// two-hub and one-hub scenarios (their tests live in two-hubs-scenario.ts and one-hub-scenario.ts) at half
// of that file's time each. The last three run their tests once per backend (forEachBackend), which the
// figures credit to hub/src/testing/backends.ts. The arm64 tarball comes third whatever this machine
// measured: its cross-compiled addon is cached here (4 s), but CI's clean machine compiles it (28 s), and
// started late it ran last there. The files that mostly wait (WAIT_LANE below) come next and are not
// listed here; scripts/test-schedule.mjs also adds them first over the two while the machine idles.
export const SLOW_FIRST = [
  'test/src/scenarios/package-arm64.test.ts',
  'test/src/scenarios/example-loop.test.ts',
  'test/src/fleet/start.test.ts',
  'test/src/scenarios/config-rollout.test.ts',
  'test/src/scenarios/rollout.test.ts',
  'agent/src/api/write-deadline.test.ts',
  'hub/src/store/pg/reconnect.test.ts',
  'test/src/scenarios/postgres-hub.test.ts',
  'test/src/scenarios/memory-burst.test.ts',
  'agent/src/sync/e2e.test.ts',
  'test/src/scenarios/flaky-link.test.ts', // 16-18 s with reconnectMs 50 (30.5 s at 300, the VM at load 14); 7.3 s of CPU: not in WAIT_LANE
  'test/src/scenarios/hub-restart-upload.test.ts',
  'test/src/scenarios/postgres-refusals.test.ts',
  'hub/src/cli/commands/remote.test.ts',
  'agent/src/summaries/crash.test.ts',
  'test/src/scenarios/restored-capture.test.ts',
  'test/src/scenarios/shutdown.test.ts',
  'test/src/scenarios/replay-gate.test.ts',
  'test/src/console/rollouts.test.ts',
  'test/src/scenarios/two-hubs.test.ts',
  'test/src/scenarios/two-hubs-postgres.test.ts',
  'agent/src/longrun-store.test.ts',
  'test/src/console/console.test.ts',
  'test/src/scenarios/package-install.test.ts',
  'test/src/scenarios/package-upgrade.test.ts', // ~26 s in a helper's run (2026-12-06), mostly the tarball's build
  'test/src/cli/convention.test.ts',
  'test/src/scenarios/remote-config.test.ts',
  'hub/src/cli/commands/capture.test.ts',
  'agent/src/api/grpc/answer-deadline.test.ts',
  'hub/src/cli/commands/remote-deploy.test.ts',
  'test/src/scenarios/restored-agent-db.test.ts',
  'agent/src/cli/cli.test.ts',
  'test/src/console/errors.test.ts',
  'test/src/scenarios/data-capture.test.ts',
  'hub/src/cli/model.test.ts',
  'agent/src/longrun.test.ts', // 9.9 s alone since its link drops reconnect with reconnectMs 5 (2026-12-06)
  'test/src/scenarios/readme.test.ts',
  'test/src/scenarios/sealed-models.test.ts',
  'test/src/scenarios/shadow-rollout.test.ts',
  'test/src/scenarios/refusals.test.ts',
  'test/src/scenarios/one-hub-sqlite.test.ts',
  'test/src/scenarios/one-hub-postgres.test.ts',
  'hub/src/server/backup.test.ts',
  'hub/src/cli/commands/alerts.test.ts',
  'hub/src/cli/commands/remote-credentials.test.ts',
  'test/src/console/resilience.test.ts',
  'test/src/scenarios/package-agent.test.ts',
  'hub/src/deployments/service.test.ts',
  'hub/src/ingest/hostile-payloads.test.ts',
  'hub/src/api/hostile-sweep.test.ts',
];

/**
 * `files` (paths relative to the repo root) with SLOW_FIRST's files first, in its order, then
 * WAIT_LANE's, then the rest sorted.
 */
export function orderTestFiles(files) {
  const rank = new Map([...SLOW_FIRST, ...WAIT_LANE].map((f, i) => [f, i]));
  const at = (f) => rank.get(f) ?? rank.size;
  return [...files].sort((a, b) => at(a) - at(b) || (a < b ? -1 : a > b ? 1 : 0));
}

// The files that mostly wait on real timers (keepalives, a CONNACK held 12 s, reconnect backoffs): added
// first over the two files that always run, while the machine idles (scripts/test-schedule.mjs;
// docs/development.md "Test run time"; docs/decisions/0140-test-files-started-when-the-cpu-idles.md; they
// had a lane of their own before, decision 0124). A file belongs here when its CPU time (user + sys of its
// whole process tree: TEST_DURATIONS, or run alone under /usr/bin/time) is under a third of its wall time
// in a full run, and when nothing it checks is a deadline of 2 s or less (DEADLINE_BOUND below).
// Measured 2026-12-06 11:36-11:55 (CPU; the machine shared, load 6 to 19) against the full run of
// 2026-12-06 04:11 (wall), longest first:
export const WAIT_LANE = [
  'test/src/scenarios/slow-connect.test.ts', // 3.8 s of CPU in 62.0 s
  'test/src/scenarios/slow-link.test.ts', // 9.2 s in 46.7 s
  'test/src/scenarios/flapping.test.ts', // 5.7 s in 38.9 s
  'test/src/scenarios/half-open.test.ts', // 5.5 s in 18.5 s
  'agent/src/api/budget.test.ts', // 2.5 s in 10.7 s
  'agent/src/sync/outbox.test.ts', // 0.6 s in 4.7 s
];

// The files whose tests hold a deadline of 2 s or less (bounds of 0.4 to 1.5 s): such a test needs the CPU
// the moment its deadline runs. scripts/test-schedule.mjs starts one only in one of the two base slots
// and adds no file over those two while one runs, so it runs beside one other file at most. The
// write-deadline test (a slow reader against a 1.5 s write deadline) failed beside two CPU files on the
// shared VM and passed alone at the same load.
export const DEADLINE_BOUND = [
  'agent/src/api/write-deadline.test.ts',
  'agent/src/api/grpc/answer-deadline.test.ts',
  'hub/src/store/pg/reconnect.test.ts',
  'hub/src/mqtt/external-wait.test.ts',
  'hub/src/cluster/claim.test.ts',
  'agent/src/config-stop-grace.test.ts',
  'hub/src/alerts/webhook-timeout.test.ts',
];
