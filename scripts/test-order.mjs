// The order scripts/test.mjs starts test files in: with two files at a time, a long file started
// last leaves one core idle while it finishes, so the longest files go first (longest processing
// time first) and the rest follow in path order. The list is measured, longest first
// (TEST_DURATIONS=FILE node scripts/test.mjs; docs/development.md "Test run time"); a file missing
// from it only starts later, and a listed file that no longer exists is ignored.
// Measured 2026-12-02 (`node --test` TAP, the files' tests added up) on the 2-core VM at load 8-20,
// where the whole run took 54 min; the arm64 tarball first: its cross-compile is one core for minutes.
export const SLOW_FIRST = [
  'test/src/scenarios/package-arm64.test.ts',
  'test/src/scenarios/replay-gate.test.ts',
  'test/src/cli/convention.test.ts',
  'test/src/scenarios/example-loop.test.ts',
  'test/src/scenarios/config-rollout.test.ts',
  'test/src/scenarios/sealed-models.test.ts',
  'test/src/scenarios/hub-restart-upload.test.ts',
  'test/src/scenarios/remote-config.test.ts',
  'test/src/scenarios/shutdown.test.ts',
  'test/src/fleet/start.test.ts',
  'test/src/scenarios/flaky-link.test.ts',
  'hub/src/cli/commands/remote-deploy.test.ts',
  'test/src/console/rollouts.test.ts',
  'hub/src/cli/model.test.ts',
  'test/src/scenarios/data-capture.test.ts',
  'test/src/scenarios/readme.test.ts',
  'test/src/scenarios/stolen-hub-key.test.ts',
  'test/src/scenarios/rollout.test.ts',
  'hub/src/cli/commands/remote.test.ts',
  'test/src/scenarios/kill-during-download.test.ts',
  'agent/src/cli/cli.test.ts',
  'test/src/scenarios/backup-restore.test.ts',
  'test/src/fleet/stop.test.ts',
  'hub/src/cli/model-samples.test.ts',
  'test/src/scenarios/offline-week.test.ts',
  'test/src/scenarios/package-agent.test.ts',
  'test/src/scenarios/shadow-rollout.test.ts',
  'agent/src/sync/e2e.test.ts',
  'test/src/scenarios/drift-known-answers.test.ts',
  'agent/src/summaries/crash.test.ts',
  'test/src/scenarios/refusals.test.ts',
  'test/src/scenarios/two-hubs-postgres.test.ts',
  'test/src/scenarios/memory-burst.test.ts',
  'hub/src/cli/trust.test.ts',
  'test/src/console/console.test.ts',
  'test/src/console/try-it.test.ts',
  'test/src/scenarios/postgres-hub.test.ts',
  'hub/src/server/main.test.ts',
  'hub/src/cli/commands/retrain.test.ts',
  'test/src/console/drift-alerts.test.ts',
  'agent/src/shadow/shadow.test.ts',
  'agent/src/policy/guard.test.ts',
  'test/src/scenarios/model-samples.test.ts',
  'agent/src/api/sigterm.test.ts',
  'test/src/scenarios/two-hubs.test.ts',
  'test/src/scenarios/maintenance-window.test.ts',
  'test/src/scenarios/wrong-clock.test.ts',
  'test/src/scenarios/policy-rollback.test.ts',
  'test/src/console/desktop.test.ts',
  'shared/src/wire/telemetry-fast.test.ts',
];

/** `files` (paths relative to the repo root) with SLOW_FIRST's files first, in its order, then the rest sorted. */
export function orderTestFiles(files) {
  const rank = new Map(SLOW_FIRST.map((f, i) => [f, i]));
  const at = (f) => rank.get(f) ?? SLOW_FIRST.length;
  return [...files].sort((a, b) => at(a) - at(b) || (a < b ? -1 : a > b ? 1 : 0));
}
