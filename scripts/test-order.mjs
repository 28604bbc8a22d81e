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
// started late it ran last there. The bad-network scenarios (slow-link, flapping, half-open, flaky-link)
// wait out real keepalives and lead the list, behind slow-connect (a CONNACK 12 s away, decision 0084).
export const SLOW_FIRST = [
  'test/src/scenarios/slow-connect.test.ts', // 67.4 s in a full run (2026-12-06 00:40), mostly waiting on its 6 s link
  'test/src/scenarios/slow-link.test.ts',
  'agent/src/longrun.test.ts',
  'test/src/scenarios/package-arm64.test.ts',
  'test/src/scenarios/flapping.test.ts',
  'test/src/scenarios/example-loop.test.ts',
  'test/src/fleet/start.test.ts',
  'test/src/scenarios/config-rollout.test.ts',
  'test/src/scenarios/flaky-link.test.ts',
  'test/src/scenarios/rollout.test.ts',
  'agent/src/api/write-deadline.test.ts',
  'hub/src/store/pg/reconnect.test.ts',
  'test/src/scenarios/postgres-hub.test.ts',
  'test/src/scenarios/memory-burst.test.ts',
  'test/src/scenarios/half-open.test.ts',
  'agent/src/sync/e2e.test.ts',
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
  'test/src/cli/convention.test.ts',
  'test/src/scenarios/remote-config.test.ts',
  'hub/src/cli/commands/capture.test.ts',
  'hub/src/cli/commands/remote-deploy.test.ts',
  'test/src/scenarios/restored-agent-db.test.ts',
  'agent/src/cli/cli.test.ts',
  'test/src/console/errors.test.ts',
  'agent/src/api/grpc/answer-deadline.test.ts',
  'test/src/scenarios/data-capture.test.ts',
  'hub/src/cli/model.test.ts',
  'test/src/scenarios/readme.test.ts',
  'agent/src/api/budget.test.ts',
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

/** `files` (paths relative to the repo root) with SLOW_FIRST's files first, in its order, then the rest sorted. */
export function orderTestFiles(files) {
  const rank = new Map(SLOW_FIRST.map((f, i) => [f, i]));
  const at = (f) => rank.get(f) ?? SLOW_FIRST.length;
  return [...files].sort((a, b) => at(a) - at(b) || (a < b ? -1 : a > b ? 1 : 0));
}
